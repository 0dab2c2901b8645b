"""Reading what a person typed in a conversation step, the same way in every conversation: some
text, a whole number, a choice of buttons, an optional note with Skip. Each reader answers bad input
itself (and changes nothing) and returns None, so a step reads ``if (n := whole_number(ctx, …)) is
None: return``."""

from __future__ import annotations

from handlers.context import Context
from handlers.i18n import N_

NO_TEXT = N_("I did not receive any text. Please type it, or /cancel.")
NO_REASON = N_("Please give a reason; it is recorded.")
CHOOSE = N_("Please choose one of the buttons.")
SKIP = "skip"
# Full-width digits, as Chinese input methods type them, read as the digits they are.
_FULL_WIDTH = {0xFF10 + i: str(i) for i in range(10)}


def number_in(text: str | None, *, digits: int = 6) -> int | None:
    """A whole number of at most ``digits`` digits (a database integer), or None. Only 0–9 (and
    their full-width forms): "²" or "③" are digits to ``str.isdigit`` but not to ``int``."""
    t = (text or "").strip().translate(_FULL_WIDTH)
    return int(t) if t.isascii() and t.isdigit() and len(t) <= digits else None


def numbers_in(text: str | None, count: int, low: int, high: int) -> list[int] | None:
    """Exactly ``count`` whole numbers from ``low`` to ``high``, separated by spaces, or None."""
    words = (text or "").translate(_FULL_WIDTH).replace("\u3000", " ").split()
    values = [number_in(w) for w in words]
    if len(values) != count or any(v is None or not low <= v <= high for v in values):
        return None
    return [v for v in values if v is not None]


def pressed_id(ctx: Context, prefix: str) -> int | None:
    """The id on a button of ours whose value is ``prefix`` and an id ("unit:12" → 12), or None
    for any other value: a modified client can send any data with the conversation's token."""
    v = ctx.button_value or ""
    return number_in(v[len(prefix):], digits=9) if v.startswith(prefix) else None


def typed(ctx: Context, again: str = NO_TEXT) -> str | None:
    """The text typed, stripped; nothing typed (a sticker, a button from an old message): asked
    again with ``again`` (a msgid, e.g. NO_REASON)."""
    text = (ctx.text or "").strip()
    if not text:
        ctx.reply(ctx._(again))
        return None
    return text


def whole_number(ctx: Context, again: str, *, low: int = 0, high: int | None = None) -> int | None:
    """The number typed, from ``low`` to ``high``; anything else: ``again`` (a translated prompt)."""
    n = number_in(ctx.text)
    if n is None or n < low or (high is not None and n > high):
        ctx.reply(again)
        return None
    return n


def chosen(ctx: Context, values: object) -> str | None:
    """The value of the button chosen, if it is one of ``values``; else asked to choose."""
    v = ctx.button_value
    if v is None or v not in values:  # type: ignore[operator]
        ctx.reply(ctx._(CHOOSE))
        return None
    return v


def ask_with_skip(ctx: Context, prompt: str) -> None:
    ctx.reply(prompt, buttons=[[ctx.button(ctx._("Skip"), SKIP)]])


def note_or_skip(ctx: Context) -> str | None:
    """An optional note: "" for Skip, the text typed, or None (asked again) for nothing at all."""
    if ctx.button_value == SKIP:
        return ""
    return typed(ctx)
