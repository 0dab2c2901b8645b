"""Fallback rendering of rich replies as numbered text (console, WeCom without cards)."""

from __future__ import annotations

from collections.abc import Callable

from handlers.events import Reply


def numbered_text(reply: Reply) -> str:
    buttons = reply.flat_buttons()
    if not buttons:
        return reply.text
    lines = [reply.text, ""] if reply.text else []
    lines += [f"{i}. {b.label}" for i, b in enumerate(buttons, start=1)]
    return "\n".join(lines)


# Where a line that is too long for one message may be cut, best first: after the end of a
# sentence, then after a clause. Only a line with none of these is cut at the limit itself.
SENTENCE_ENDS = "。！？；!?;"
CLAUSE_ENDS = "，、：,: "
HEADING_ENDS = (":", "：")
# A part this small, of at most this many lines, is a heading that should not stand alone.
LONE_SHARE = 4
LONE_LINES = 2


def split_text(text: str, limit: int, *, measure: str = "chars") -> list[str]:
    """Split ``text`` so each part fits ``limit`` (characters, or UTF-8 bytes with
    ``measure="bytes"``): between lines wherever possible; a line longer than a whole part is cut
    after a sentence (or a clause) and only failing that at the limit. A part never ends with a
    heading (a line ending in a colon) whose content is in the next part, and a short heading is
    not sent alone when the start of what follows can go with it."""

    def size(s: str) -> int:
        return len(s.encode("utf-8")) if measure == "bytes" else len(s)

    parts: list[str] = []
    current = ""
    pending = text.splitlines(keepends=True)
    pending.reverse()  # a stack: the next line is at the end
    while pending:
        line = pending.pop()
        if size(current + line) <= limit:
            current += line
            continue
        if current.strip() and size(line) <= limit and not _lone(current, limit, size):
            head, carried = _carry_heading(current)
            if head.strip():
                parts.append(head)
                current = carried
                pending.append(line)
                continue
        # Fill what room is left with the start of the line, cut at a sentence or clause.
        room = limit - size(current)
        cut = _cut(line, room, size, hard=not current.strip())
        if cut == 0:  # nothing sensible fits beside what is there: start a new part
            parts.append(current)
            current = ""
            pending.append(line)
            continue
        parts.append(current + line[:cut])
        current = ""
        pending.append(line[cut:])
    if current or not parts:
        parts.append(current)
    parts = [p for p in parts if p.strip()] or [parts[0]]
    return [p.strip("\n") if len(parts) > 1 else p for p in parts]


def _lone(current: str, limit: int, size: Callable[[str], int]) -> bool:
    lines = [x for x in current.splitlines() if x.strip()]
    return len(lines) <= LONE_LINES and size(current) * LONE_SHARE <= limit


def _carry_heading(current: str) -> tuple[str, str]:
    """(what may be sent, the trailing heading lines that go with the next part)."""
    lines = current.splitlines(keepends=True)
    carried: list[str] = []
    while lines and (not lines[-1].strip() or lines[-1].rstrip().endswith(HEADING_ENDS)):
        line = lines.pop()
        if line.strip():
            carried.insert(0, line)
    return "".join(lines), "".join(carried)


def _cut(line: str, room: int, size: Callable[[str], int], *, hard: bool) -> int:
    """How many characters of ``line`` to send in ``room``: after the last sentence end that
    fits, else the last clause end, else (``hard``) as much as fits; 0 if none."""
    if room <= 0:
        return 0
    fit = len(line)
    while fit > 0 and size(line[:fit]) > room:
        fit -= 1
    for ends in (SENTENCE_ENDS, CLAUSE_ENDS):
        best = max((i + 1 for i, ch in enumerate(line[:fit]) if ch in ends), default=0)
        if best:
            return best
    return fit if hard else 0
