"""/forget: every row kept for the chat goes; the report itself stays; the receipt counter
cannot be reset with it; the channel is asked to remove the messages it can."""

from __future__ import annotations

from sqlalchemy import func, select

from handlers.deps import Deps
from handlers.i18n import N_
from handlers.reporter import receipts
from storage.models import Attachment, Case, ChatPreference, ConversationState, ReceiptThrottle, Tip
from tests.reporter.conftest import file_anonymous_tip, to_files_step


async def _count(deps: Deps, model: type) -> int:
    async with deps.sessionmaker() as s:
        return await s.scalar(select(func.count()).select_from(model)) or 0


async def test_forget_after_the_receipt_removes_every_row_of_the_chat_but_not_the_report(chat, deps: Deps) -> None:
    c = chat("forgetful")
    await c.send("/lang en")
    await c.send("/report")
    assert "not tied to your work" in c.text()  # how to stay safe, at the start
    await c.send("/lang zh")
    c.history.clear()
    receipt = await file_anonymous_tip(c)
    assert await _count(deps, ChatPreference) == 1
    await c.press(N_("Remove this conversation"))
    assert "回执" in c.last and not c.history[-1].delete_recent
    await c.press(N_("Not yet"))
    assert await _count(deps, ChatPreference) == 1  # nothing removed before the confirmation
    await c.send("/forget")
    replies = await c.press(N_("I have written it down: remove"))
    assert replies[-1].delete_recent and replies[-1].buttons == []
    assert "请自行删除" in replies[-1].text  # what is left, said plainly (the generic words here)
    assert await _count(deps, ChatPreference) == 0
    assert await _count(deps, ConversationState) == 0
    assert await _count(deps, Tip) == 1 and await _count(deps, Case) == 1
    replies = await chat("another-phone").send(f"/check {receipt}")
    assert "等待受理" in replies[-1].text


async def test_forget_during_a_draft_drops_the_draft_and_its_files(chat, deps: Deps, photo) -> None:
    c = chat()
    await to_files_step(c)
    await c.attach(photo)
    assert await _count(deps, Attachment) == 1
    await c.send("/forget")
    await c.press(N_("I have written it down: remove"))
    assert await _count(deps, Attachment) == 0
    assert await _count(deps, ConversationState) == 0


async def test_forget_keeps_a_counting_receipt_throttle_until_its_window_ends(chat, deps: Deps) -> None:
    c = chat("guesser")
    await c.send("/check 1111 2222 3333 4444")
    key = receipts.throttle_key(deps.config.salt, "memory", "guesser")
    async with deps.sessionmaker() as s:
        assert (await s.get(ReceiptThrottle, key)) is not None
    await c.send("/forget")
    await c.press(N_("I have written it down: remove"))
    async with deps.sessionmaker() as s:
        assert (await s.get(ReceiptThrottle, key)) is not None  # /forget buys no more guesses
    deps.clock.advance(minutes=deps.config.receipt_window_minutes + 1)
    await c.send("/forget")
    await c.press(N_("I have written it down: remove"))
    async with deps.sessionmaker() as s:
        assert (await s.get(ReceiptThrottle, key)) is None
