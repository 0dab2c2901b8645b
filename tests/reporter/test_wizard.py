"""The tip wizard as a reporter on a phone meets it."""

from __future__ import annotations

from sqlalchemy import func, select

from handlers.deps import Deps
from handlers.i18n import N_
from storage.models import Attachment, Case, ConversationState, Tip, TipMessage
from tests.reporter.conftest import file_anonymous_tip, to_files_step
from tests.test_core_conversation import table_counts


async def test_start_offers_report_and_check_buttons(chat) -> None:
    c = chat()
    await c.send("/start")
    assert c.buttons()[:2] == ["我要举报（可匿名）", "凭回执查询举报"]
    replies = await c.press(N_("Report a problem (anonymously if you wish)"))
    assert "第1步" in replies[-1].text


async def test_anonymous_tip_becomes_a_case_with_a_receipt_shown_once(chat, deps: Deps, photo) -> None:
    c = chat()
    receipt = await file_anonymous_tip(c, details=("2024年3月，他收受好处费。", "有人亲眼看见。"), files=(photo,))
    text = c.last
    assert "唯一凭证" in text and "无法找回" in text
    assert " ".join(receipt[i:i + 4] for i in range(0, 16, 4)) in text  # grouped 4×4
    async with deps.sessionmaker() as s:
        tip = (await s.scalars(select(Tip))).one()
        case = (await s.scalars(select(Case))).one()
        assert case.tip_id == tip.id and case.state == "received" and case.source == "public_report"
        assert case.unit_id is not None and tip.anonymous
        assert receipt not in tip.receipt_hash and len(tip.receipt_hash) == 64
        body = deps.sealer.open_text(tip.key_id, tip.body_enc)
        assert "收受好处费" in body and "亲眼看见" in body
        assert b"\xe6\x94\xb6\xe5\x8f\x97" not in tip.body_enc  # "收受" is not stored in the clear
        att = (await s.scalars(select(Attachment))).one()
        assert att.tip_id == tip.id
        assert await s.scalar(select(func.count()).select_from(ConversationState)) <= 1
        row = await s.scalar(select(ConversationState))
        assert row is None or row.conversation is None  # the draft is gone
    # The receipt works once more for checking, from another chat (another channel even).
    other = chat("another-phone")
    replies = await other.send(f"/check {receipt}")
    assert "等待受理" in replies[-1].text


async def test_nothing_is_stored_until_confirmed_and_cancel_deletes_everything(chat, deps: Deps, photo) -> None:
    before = await table_counts(deps)
    c = chat()
    await to_files_step(c, "一些情况")
    await c.attach(photo)
    async with deps.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Tip)) == 0
    replies = await c.press(N_("✖ Cancel"))
    assert "已删除" in replies[-1].text
    after = await table_counts(deps)
    assert after == before


async def test_back_returns_to_the_previous_question_keeping_answers(chat, deps: Deps) -> None:
    c = chat()
    await c.send("/report")
    await c.press(N_("Not sure"))
    await c.send("李某")
    await c.send("第一段")
    await c.press(N_("◀ Back"))
    assert "第2步" in c.last
    await c.send("王某")  # changed answer
    await c.press(N_("Done"))
    await c.press(N_("Skip"))
    await c.press(N_("Anonymous"))
    summary = c.last
    assert "王某" in summary and "第一段" in summary and "李某" not in summary


async def test_named_tip_keeps_name_and_contact_only_encrypted(chat, deps: Deps) -> None:
    c = chat("named-reporter")
    await c.send("/report")
    await c.send("法院")
    await c.press_label("省高级人民法院")
    await c.press(N_("Skip"))
    await c.send("审判中有人打招呼。")
    await c.press(N_("Done"))
    await c.press(N_("Skip"))
    await c.press(N_("With my name"))
    await c.send("赵实名")
    await c.send("13900001111")
    assert "赵实名" in c.last and "13900001111" in c.last
    await c.press(N_("✔ Submit"))
    assert "受理后我们会告知您" in c.last
    async with deps.sessionmaker() as s:
        tip = (await s.scalars(select(Tip))).one()
        assert not tip.anonymous
        assert deps.sealer.open_text(tip.key_id, tip.reporter_name_enc) == "赵实名"
        assert deps.sealer.open_text(tip.key_id, tip.reporter_contact_enc) == "13900001111"
        assert deps.sealer.open_text(tip.key_id, tip.reporter_chat_enc) == "memory\x1fnamed-reporter"
        for blob in (tip.reporter_name_enc, tip.reporter_contact_enc, tip.reporter_chat_enc):
            assert b"13900001111" not in blob and "赵实名".encode() not in blob


async def test_typing_a_unit_offers_matches_and_free_text_is_kept_otherwise(chat, deps: Deps) -> None:
    c = chat()
    await c.send("/report")
    await c.send("财政")
    assert "省财政厅" in c.buttons()
    await c.press(N_("None of these: use what I typed"))
    await c.press(N_("Skip"))
    await c.send("情况")
    await c.press(N_("Done"))
    await c.press(N_("Skip"))
    await c.press(N_("Anonymous"))
    assert "反映对象：财政" in c.last


async def test_draft_survives_a_restart_and_expires_after_a_day(chat, deps: Deps, clock) -> None:
    c = chat()
    await c.send("/report")
    await c.press(N_("Not sure"))
    await c.press(N_("Skip"))
    await c.send("第一部分")
    clock.advance(hours=23)
    replies = await c.send("第二部分")
    assert "已收到" in replies[-1].text
    clock.advance(hours=24, minutes=1)
    replies = await c.press(N_("Done"))
    assert "已过期" in replies[0].text
    async with deps.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Tip)) == 0


async def test_bad_input_is_answered_and_loses_nothing(chat, deps: Deps) -> None:
    c = chat()
    await c.send("/report")
    await c.press(N_("Not sure"))
    await c.press(N_("Skip"))
    await c.send("已经写好的第一段")
    assert "没有收到文字" in c.text(await c.send(None))
    assert "太长" in (await c.send("字" * 100_000))[-1].text
    assert "已失效" in (await c.send(None, button="c:00000000:done"))[-1].text
    await c.press(N_("Done"))
    await c.press(N_("Skip"))
    await c.press(N_("Anonymous"))
    assert "已经写好的第一段" in c.last


async def test_receipt_check_shows_status_and_accepts_more_material(chat, deps: Deps) -> None:
    receipt = await file_anonymous_tip(chat())
    c = chat("later")
    await c.send("/check")
    replies = await c.send(" ".join(receipt[i:i + 4] for i in range(0, 16, 4)))
    assert "等待受理" in replies[-1].text and "之后再来查询" in replies[-1].text
    await c.press(N_("Add information"))
    await c.send("还有一个细节。")
    assert "已加入" in c.history[-2].text
    async with deps.sessionmaker() as s:
        msg = (await s.scalars(select(TipMessage))).one()
        assert deps.sealer.open_text(msg.key_id, msg.body_enc) == "还有一个细节。"
    await c.press(N_("Finish"))
    assert "妥善保管" in c.last
