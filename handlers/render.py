"""Fallback rendering of rich replies as numbered text (console, WeCom without cards)."""

from __future__ import annotations

from handlers.events import Reply


def numbered_text(reply: Reply) -> str:
    buttons = reply.flat_buttons()
    if not buttons:
        return reply.text
    lines = [reply.text, ""] if reply.text else []
    lines += [f"{i}. {b.label}" for i, b in enumerate(buttons, start=1)]
    return "\n".join(lines)


def split_text(text: str, limit: int, *, measure: str = "chars") -> list[str]:
    """Split at line breaks where possible so each part fits ``limit``
    (characters, or UTF-8 bytes with ``measure="bytes"``)."""

    def size(s: str) -> int:
        return len(s.encode("utf-8")) if measure == "bytes" else len(s)

    parts: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while size(line) > limit:  # a single overlong line: cut it hard
            cut = limit
            while size(line[:cut]) > limit:
                cut -= 1
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:cut])
            line = line[cut:]
        if size(current + line) > limit:
            parts.append(current)
            current = line
        else:
            current += line
    if current or not parts:
        parts.append(current)
    return [p.rstrip("\n") if len(parts) > 1 else p for p in parts]
