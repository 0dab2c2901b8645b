"""Follow-up with a receipt: status, questions, more material, throttling."""

from __future__ import annotations

from sqlalchemy import func, select

from handlers.lifecycle import listen, record_transition
from storage.models import Attachment, Case, CaseState, ReceiptThrottle, Tip, TipMessage, TipQuestion
from tests.fakes import make_file
from tests.reporter.conftest import submit_tip

SEEN: list[tuple[str, int]] = []


@listen("tip.answered")
async def _answered(session, tip, question, message) -> None:  # type: ignore[no-untyped-def]
    SEEN.append(("answered", question.id))


@listen("tip.material_added")
async def _added(session, tip) -> None:  # type: ignore[no-untyped-def]
    SEEN.append(("added", tip.id))


async def ask(deps, text: str) -> int:  # type: ignore[no-untyped-def]
    async with deps.sessionmaker() as s, s.begin():
        tip = (await s.scalars(select(Tip))).one()
        kid, blob = deps.sealer.seal_text(text)
        q = TipQuestion(tip_id=tip.id, key_id=kid, text_enc=blob, asked_at=deps.clock.now())
        s.add(q)
        await s.flush()
        return q.id


async def test_check_shows_status_and_when_to_come_back(chat, deps, clock) -> None:  # type: ignore[no-untyped-def]
    receipt = await submit_tip(chat("r1", language_code="en"))
    other = chat("somewhere-else", channel="console", language_code="en")  # any channel works
    await other.send("/check")
    await other.send(receipt.replace(" ", "-"))
    assert "waiting to be accepted" in other.last and "We will not send you messages" in other.last
    await other.press("Close")
    async with deps.sessionmaker() as s, s.begin():
        case = (await s.scalars(select(Case))).one()
        await record_transition(s, case, CaseState.accepted, now=clock.now(), actor_staff_id=None)
        await record_transition(s, case, CaseState.assigned, now=clock.now(), actor_staff_id=None)
    await other.send("/check " + receipt)
    assert "Being handled" in other.last


async def test_answer_question_and_add_material(chat, deps) -> None:  # type: ignore[no-untyped-def]
    SEEN.clear()
    receipt = await submit_tip(chat("r1", language_code="en"))
    qid = await ask(deps, "红包是在哪里给的？")
    c = chat("r1", language_code="en")
    await c.send("/check " + receipt)
    assert "红包是在哪里给的？" in c.last
    await c.press("Answer question 1")
    await c.send("在办公室")
    assert "passed to the handling team" in c.history[-2].text
    assert "no questions" in c.last
    await c.press("Add information")
    await c.send("还有一段录音的文字稿")
    await c.attach(make_file(b"%PDF-1.4 more", filename="more.pdf"))
    await c.attach(make_file(b"x", filename="v.mp4", content_type="video/mp4", kind="video"))
    assert "can't accept" in c.last
    await c.press("Done")
    assert ("answered", qid) in SEEN and sum(1 for k, _ in SEEN if k == "added") == 2
    async with deps.sessionmaker() as s:
        q = await s.get(TipQuestion, qid)
        assert q.answered_at is not None
        msgs = (await s.scalars(select(TipMessage).order_by(TipMessage.id))).all()
        assert [deps.sealer.open_text(m.key_id, m.body_enc) for m in msgs] == ["在办公室", "还有一段录音的文字稿"]
        assert msgs[0].question_id == qid
        assert await s.scalar(select(func.count()).select_from(Attachment)) == 1


async def test_receipt_format_mistakes_do_not_count(chat, deps) -> None:  # type: ignore[no-untyped-def]
    c = chat("r1", language_code="en")
    await c.send("/check")
    await c.send("1234 abcd 5678 9012")
    assert "only digits" in c.last
    await c.send("1234 5678")
    assert "exactly 16 digits" in c.last
    async with deps.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(ReceiptThrottle)) == 0


async def test_wrong_receipts_are_throttled_without_revealing_existence(chat, deps, clock) -> None:  # type: ignore[no-untyped-def]
    real = await submit_tip(chat("owner", language_code="en"))
    c = chat("guesser", language_code="en")
    limit = deps.config.receipt_failures_per_sender
    for i in range(limit):
        await c.send(f"/check {i:016d}")
        assert "No report matches" in c.last
    await c.send("/check 9999 9999 9999 9999")
    wrong = c.last
    await c.send("/check " + real)
    right = c.last
    assert "Too many attempts" in wrong and wrong == right
    # another sender is not blocked by this one
    other = chat("someone", language_code="en")
    await other.send("/check " + real)
    assert "waiting to be accepted" in other.last
    clock.advance(minutes=deps.config.receipt_window_minutes + 1)
    await c.send("/check " + real)
    assert "waiting to be accepted" in c.last


async def test_global_throttle(chat, deps) -> None:  # type: ignore[no-untyped-def]
    deps.config.receipt_failures_global = 3
    for i in range(3):
        await chat(f"g{i}", language_code="en").send(f"/check {i:016d}")
    c = chat("fresh", language_code="en")
    await c.send("/check 1111222233334444")
    assert "Too many attempts" in c.last


async def test_check_does_not_destroy_a_draft(chat) -> None:  # type: ignore[no-untyped-def]
    c = chat("r1", language_code="en")
    await c.send("/report")
    await c.send("某单位")
    await c.send("/check")
    assert "unfinished" in c.last
    await c.send("/report")
    assert "Step 2 of 6" in c.last
