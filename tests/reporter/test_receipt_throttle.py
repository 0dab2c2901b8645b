"""Guessing receipts: per-chat limits hold under concurrency, and nobody is locked out by others."""

from __future__ import annotations

import asyncio

import pytest

from handlers.clock import ManualClock
from handlers.deps import Deps
from handlers.i18n import gettext_for
from handlers.reporter import receipts
from tests.reporter.conftest import file_anonymous_tip

ZH = gettext_for("zh_CN")
NO_MATCH = ZH("No report matches this receipt. Please check the digits and try again.")
WAIT = ZH("Too many attempts. For your protection, please wait {m} minutes and try again.").split("{m}")[0]
WAITING_FOR_ACCEPTANCE = "等待受理"


@pytest.fixture
def hashes(monkeypatch) -> list[str]:  # type: ignore[no-untyped-def]
    """Every receipt actually hashed (a real check costs one argon2id)."""
    seen: list[str] = []
    real = receipts._hash

    def counting(receipt: str, salt: bytes) -> str:
        seen.append(receipt)
        return real(receipt, salt)

    monkeypatch.setattr(receipts, "_hash", counting)
    return seen


async def test_forty_simultaneous_wrong_receipts_from_one_chat_get_exactly_the_limit(chat, deps: Deps, hashes) -> None:
    c = chat("guesser")
    limit = deps.config.receipt_failures_per_sender
    results = await asyncio.gather(*(c.send(f"/check {str(i).zfill(16)}") for i in range(40)))
    answers = [r[-1].text for r in results]
    assert sum(NO_MATCH in a for a in answers) == limit
    assert sum(a.startswith(WAIT) for a in answers) == 40 - limit
    assert len(hashes) == limit


async def test_a_right_receipt_does_not_use_up_the_limit(chat, deps: Deps) -> None:
    real = await file_anonymous_tip(chat())
    c = chat("checker")
    for _ in range(deps.config.receipt_failures_per_sender + 3):
        assert WAITING_FOR_ACCEPTANCE in c.text(await c.send(f"/check {real}"))
        await c.send("/cancel")


async def test_a_flood_of_wrong_receipts_from_many_chats_locks_nobody_out(chat, deps: Deps) -> None:
    real = await file_anonymous_tip(chat())
    per_chat, chats = deps.config.receipt_failures_per_sender, 14
    flood = [chat(f"bot-{n}") for n in range(chats)]
    for n, c in enumerate(flood):
        for i in range(per_chat):
            await c.send(f"/check {n:02d}{i:014d}")
    # Another 200 wrong receipts overall push it past the global threshold in any configuration.
    extra = [chat(f"more-{n}") for n in range(deps.config.receipt_failures_global // per_chat + 1)]
    for n, c in enumerate(extra):
        for i in range(per_chat):
            await c.send(f"/check 9{n:05d}{i:010d}")
    honest = chat("honest-reporter")
    assert WAITING_FOR_ACCEPTANCE in honest.text(await honest.send(f"/check {real}"))


async def test_under_pressure_each_wrong_receipt_costs_a_growing_wait(chat, deps: Deps) -> None:
    assert isinstance(deps.clock, ManualClock)
    real = await file_anonymous_tip(chat())
    deps.config.receipt_failures_global = 3
    for n in range(4):  # the threshold is passed by others
        await chat(f"other-{n}").send(f"/check {n:016d}")
    g = chat("guesser")
    assert NO_MATCH in g.text(await g.send("/check 1111222233334444"))
    assert g.text(await g.send(f"/check {real}")).startswith(WAIT)  # the same answer, right receipt or not
    assert g.text(await g.send("/check 1111222233334445")).startswith(WAIT)
    deps.clock.advance(seconds=31)
    assert NO_MATCH in g.text(await g.send("/check 1111222233334446"))
    deps.clock.advance(seconds=31)  # the second wait is twice as long
    assert g.text(await g.send("/check 1111222233334447")).startswith(WAIT)
    deps.clock.advance(seconds=31)
    assert NO_MATCH in g.text(await g.send("/check 1111222233334448"))
    # Meanwhile a reporter who has not been guessing is heard at once.
    h = chat("honest")
    assert WAITING_FOR_ACCEPTANCE in h.text(await h.send(f"/check {real}"))
