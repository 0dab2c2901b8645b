"""Reporter fixtures: drive the wizard to the end and read back the receipt."""

from __future__ import annotations

import re

from tests.fakes import Chat

RECEIPT_RE = re.compile(r"\b(\d{4} \d{4} \d{4} \d{4})\b")


def receipt_from(chat: Chat) -> str:
    for r in reversed(chat.history):
        m = RECEIPT_RE.search(r.text)
        if m:
            return m.group(1)
    raise AssertionError("no receipt shown:\n" + chat.text())


async def submit_tip(chat: Chat, *, about: str = "不确定的事情", body: tuple[str, ...] = ("某科长收受红包",),
                     people: str | None = None, files: tuple = (), named: tuple[str, str] | None = None) -> str:
    """Walk the wizard end to end; returns the receipt as shown (4×4 groups)."""
    await chat.send("/report")
    await chat.send(about)
    if "I found these units" in chat.last or "我找到了" in chat.last:
        await chat.press(chat.buttons()[0])
    if people:
        await chat.send(people)
    else:
        await chat.press("Skip")
    for part in body:
        await chat.send(part)
    await chat.press("Done")
    for f in files:
        await chat.attach(f)
    await chat.press("No")
    if named:
        await chat.press("With my name")
        await chat.send(named[0])
        await chat.send(named[1])
    else:
        await chat.press("Anonymous")
    await chat.press("Submit")
    return receipt_from(chat)
