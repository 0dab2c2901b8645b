"""Receipts: format, hashing, throttling; follow-up questions and answers."""

from __future__ import annotations

from sqlalchemy import select

from handlers.deps import Deps
from handlers.i18n import N_
from handlers.reporter import receipts
from storage.models import Tip, TipMessage, TipQuestion
from tests.reporter.conftest import file_anonymous_tip
from tests.test_core_conversation import table_counts


def test_receipts_are_16_random_digits_and_typing_variants_are_accepted() -> None:
    a, b = receipts.new_receipt(), receipts.new_receipt()
    assert len(a) == 16 and a.isdigit() and a != b
    assert receipts.normalize_receipt("1234 5678-9012 3456") == "1234567890123456"
    assert receipts.normalize_receipt("１２３４５６７８９０１２３４５６") == "1234567890123456"
    assert receipts.normalize_receipt("1234 5678 9012 345a") is receipts.ReceiptProblem.letters
    assert receipts.normalize_receipt("1234 5678") is receipts.ReceiptProblem.length


async def test_hash_is_argon2id_with_the_installation_salt() -> None:
    h1 = await receipts.hash_receipt("1234567890123456", b"salt-one-0123456789")
    h2 = await receipts.hash_receipt("1234567890123456", b"salt-two-0123456789")
    assert h1 != h2 and len(h1) == 64
    assert h1 == await receipts.hash_receipt("1234567890123456", b"salt-one-0123456789")


async def test_wrong_receipts_are_throttled_without_revealing_anything(chat, deps: Deps) -> None:
    real = await file_anonymous_tip(chat())
    c = chat("guesser")
    limit = deps.config.receipt_failures_per_sender
    for i in range(limit):
        replies = await c.send(f"/check {str(i).zfill(16)}")
        assert "没有与该回执对应的举报" in replies[-1].text
    # Now even the right receipt gets the same "wait" answer as a wrong one.
    right = c.text(await c.send(f"/check {real}"))
    wrong = c.text(await c.send("/check 9999999999999999"))
    assert "尝试次数过多" in right and right == wrong
    # Another person is not affected; after the window the guesser may try again.
    assert "等待受理" in chat("someone-else").text(await chat("someone-else").send(f"/check {real}"))
    from handlers.clock import ManualClock

    assert isinstance(deps.clock, ManualClock)
    deps.clock.advance(minutes=deps.config.receipt_window_minutes + 1)
    assert "等待受理" in c.text(await c.send(f"/check {real}"))


async def test_malformed_receipts_do_not_count_and_change_nothing(chat, deps: Deps) -> None:
    c = chat()
    before = await table_counts(deps)
    for bad in ("abcd efgh ijkl mnop", "1234", "12345678901234567"):
        replies = await c.send(f"/check {bad}")
        assert "不计入错误次数" in replies[-1].text
    await c.send("/cancel")
    assert await table_counts(deps) == before


async def test_team_question_is_seen_at_check_and_the_answer_lands_on_the_tip(chat, deps: Deps) -> None:
    receipt = await file_anonymous_tip(chat())
    answered = []

    async def _seen(uow, tip, question, message) -> None:  # type: ignore[no-untyped-def]
        answered.append((tip.id, question.id))

    deps.bus.listen("tip.answered", _seen)

    async with deps.sessionmaker() as s, s.begin():
        tip = (await s.scalars(select(Tip))).one()
        k, blob = deps.sealer.seal_text("请问具体是哪一天？")
        s.add(TipQuestion(tip_id=tip.id, key_id=k, text_enc=blob, asked_at=deps.clock.now()))
    c = chat("checker")
    replies = await c.send(f"/check {receipt}")
    assert "请问具体是哪一天？" in replies[-1].text
    await c.press(N_("Answer question {n}"), n=1)
    await c.send("3月15日下午。")
    assert "已转给办理人员" in c.text()
    async with deps.sessionmaker() as s:
        q = (await s.scalars(select(TipQuestion))).one()
        assert q.answered_at is not None
        msg = (await s.scalars(select(TipMessage))).one()
        assert msg.question_id == q.id and deps.sealer.open_text(msg.key_id, msg.body_enc) == "3月15日下午。"
    assert answered and answered[-1][1] == q.id
    # Answered questions no longer show.
    assert "请问具体是哪一天" not in c.text(await c.send(f"/check {receipt}"))
