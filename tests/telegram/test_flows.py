"""Whole flows on Telegram, over real HTTP: an anonymous tip with a photo, its receipt and a
check (scanned for any trace of the sender); a staff member binding and acknowledging an
assignment notice pushed by the real delivery worker; a supervisor's /status and digest chart."""

from __future__ import annotations

import io
import logging
from datetime import timedelta

from PIL import Image
from sqlalchemy import select

from bot.delivery import DeliveryWorker, Limits
from bot.logs import configure_logging
from handlers.cases import binding
from handlers.deps import Deps
from handlers.i18n import N_
from handlers.schedule.digest import send_digests
from storage.models import Case, Staff, Tip
from tests.reporter.conftest import jpeg_with_gps
from tests.reporter.scanner import find_leaks
from tests.telegram.conftest import Phone, Running

# No waiting on real time in tests: the per-chat limit is the worker's own concern.
FAST = {"telegram": Limits(1000, 1.0, 1000, 1.0)}


async def tg_anonymous_tip(p: Phone, tg: Running, *, photo: bytes | None = None) -> str:
    """Walks the wizard on Telegram to an anonymous submission; returns the receipt digits."""
    await p.send("/report")
    await p.send("交通警察")
    await p.press_label("省公安厅交通警察总队")
    await p.send("张某，副总队长")
    await p.send("他收受好处费。")
    await p.press(N_("Done"))
    if photo is not None:
        fid = tg.standin.add_file(photo, "photos/file_7.jpg")
        await p.send(None, photo=[{"file_id": fid + "s", "file_unique_id": "s", "width": 9, "height": 9},
                                  {"file_id": fid, "file_unique_id": "b", "width": 64, "height": 48,
                                   "file_size": len(photo)}])
        await p.press(N_("Done"))
    else:
        await p.press(N_("Skip"))
    await p.press(N_("Anonymous"))
    texts = await p.press(N_("✔ Submit"))
    text = "\n".join(texts)
    digits = "".join(ch for ch in text.split("回执号码：")[1].split("请立即")[0] if ch.isdigit())
    assert len(digits) == 16, text
    return digits


async def deliver_outbox(tg: Running, deps: Deps) -> int:
    worker = DeliveryWorker(deps.sessionmaker, {"telegram": tg.service.channel}, deps.sealer, deps.clock,
                            deps.config, limits=FAST)
    try:
        return await worker.drain_once()
    finally:
        await worker.stop()  # its shared-window connection (PostgreSQL) goes back, not to the garbage collector


async def bind_over_telegram(p: Phone, deps: Deps, login: str) -> None:
    async with deps.sessionmaker() as s, s.begin():
        code = await binding.invite(s, login, now=deps.clock.now(), ttl=timedelta(hours=1), salt=deps.config.salt)
    assert code
    texts = await p.send(f"/bind {code}")
    async with deps.sessionmaker() as s:
        name = await s.scalar(select(Staff.name).where(Staff.login == login))
    _ = await p.gettext()  # now the staff member's language
    assert texts[-1] == _("This chat is now linked to {name}. Send /help to see your commands.").format(name=name), texts


async def test_anonymous_tip_receipt_and_check_leave_no_trace_of_the_sender(tg: Running, deps: Deps, caplog) -> None:
    configure_logging("DEBUG")  # production logging at its most talkative
    caplog.set_level(logging.DEBUG)
    uid, username, name = 7731904455, "whistle_qx77", "Quxiang Hidden-Person"
    p = tg.phone(uid, username=username, first_name=name, language_code="zh-hans")
    await p.send("/start")
    receipt = await tg_anonymous_tip(p, tg, photo=jpeg_with_gps())
    texts = await p.send(f"/check {receipt}")
    assert any("受理" in t or "收到" in t or "状态" in t for t in texts), texts
    async with deps.sessionmaker() as s:
        tip = (await s.scalars(select(Tip))).one()
        assert tip.anonymous
        from storage.models import Attachment
        assert len((await s.scalars(select(Attachment).where(Attachment.tip_id == tip.id))).all()) == 1
    # The identity did reach the adapter (so the scan is not vacuous) …
    assert tg.standin.sent_to(uid)
    engine = deps.sessionmaker.kw["bind"]
    # … and is nowhere in any table, nor in the logs.
    leaks = await find_leaks(engine, [str(uid), username, name], caplog.text)
    assert leaks == []


async def test_staff_bind_and_acknowledge_an_assignment_notice(tg: Running, deps: Deps) -> None:
    from storage.models import Assignment, AssignmentMember, JointGroup, Office, Staff
    from tests.conftest import bind_staff

    # Every member of the first joint group has the bot on Telegram (chat id 800000+n);
    # the lead links their chat with an invite code, as a person would.
    async with deps.sessionmaker() as s:
        logins = (await s.scalars(select(Staff.login).join(Office, Office.id == Staff.office_id)
                                  .join(JointGroup, JointGroup.id == Office.joint_group_id)
                                  .where(JointGroup.code == "jg1").order_by(Staff.login))).all()
    chat_of = {login: 800000 + n for n, login in enumerate(logins)}
    for login, cid in chat_of.items():
        if login != "o02-lead":
            await bind_staff(deps, login, str(cid), channel="telegram")
    lead = tg.phone(chat_of["o02-lead"])
    await bind_over_telegram(lead, deps, "o02-lead")

    await tg_anonymous_tip(tg.phone(600), tg)
    async with deps.sessionmaker() as s:
        case = (await s.scalars(select(Case))).one()
    await lead.send(f"/case {case.reference}")
    await lead.press(N_("Accept (受理)"))
    await lead.press(N_("Propose a team"))
    await lead.press(N_("✔ Confirm"))
    async with deps.sessionmaker() as s:
        a = (await s.scalars(select(Assignment).where(Assignment.status == "confirmed"))).one()
        member = (await s.scalars(select(AssignmentMember).where(AssignmentMember.assignment_id == a.id,
                                                                  AssignmentMember.role == "member"))).first()
        login = (await s.get(Staff, member.staff_id)).login
    # The real delivery worker pushes the queued notices through TelegramChannel.send.
    assert await deliver_outbox(tg, deps) >= 2
    phone = tg.phone(chat_of[login])
    mid, data = phone.keyboard_message(await phone.label(N_("✔ Acknowledge (签收)")))
    assert data == f"a:ack:{member.id}"
    notice = tg.standin.messages[(phone.uid, mid)]["text"]
    assert case.reference in notice and "收受好处费" not in notice  # references, never content
    await phone.press(N_("✔ Acknowledge (签收)"))
    edited = tg.standin.messages[(phone.uid, mid)]
    assert "已签收" in edited["text"] and case.reference in edited["text"]  # the notice itself now says so
    # The lead hears of it through the outbox, on Telegram too.
    await deliver_outbox(tg, deps)
    async with deps.sessionmaker() as s:
        name = await s.scalar(select(Staff.name).where(Staff.login == login))
    _ = await lead.gettext()
    assert lead.texts[-1] == _("{name} acknowledged case {ref}.").format(name=name, ref=case.reference)


async def test_supervisor_status_and_daily_digest_chart(tg: Running, deps: Deps, clock) -> None:
    reporter = tg.phone(700)
    await tg_anonymous_tip(reporter, tg)
    async with deps.sessionmaker() as s:
        case = (await s.scalars(select(Case))).one()
    clock.advance(days=9)
    sup = tg.phone(701)
    await bind_over_telegram(sup, deps, "sup1")
    texts = await sup.send("/status week")
    assert "当前超期：&lt;3" in texts[0] and case.reference in texts[0]  # a count of 1 shows masked (HTML-escaped)
    async with deps.begin() as uow:
        assert await send_digests(uow) >= 1
    assert await deliver_outbox(tg, deps) >= 1
    photos = [c for c in tg.standin.called("sendPhoto") if c.params["chat_id"] == "701"]
    assert len(photos) == 2  # the period's figures and the month's flow against last year
    for photo in photos:
        name, png = photo.files["photo"]
        assert Image.open(io.BytesIO(png)).format == "PNG"
    digest_text = tg.standin.texts_to(701)[-1]
    assert case.reference in digest_text and "收受好处费" not in digest_text


async def test_the_delivery_worker_honours_telegrams_429_and_403(tg: Running, deps: Deps, clock) -> None:
    from handlers.events import Reply
    from storage.models import ChatIdentity, Outbox, Staff
    from tests.conftest import bind_staff

    await bind_staff(deps, "o05-f1", "9001", channel="telegram")
    await bind_staff(deps, "o05-f2", "9002", channel="telegram")
    async def queue(login: str) -> None:
        async with deps.begin() as uow:
            staff = await uow.session.scalar(select(Staff).where(Staff.login == login))
            await uow.outbox.to_staff(staff.id, lambda _: Reply(text="提醒 L-9"), about=None, kind="reminder")

    # One at a time: the worker serves chats in parallel, and the stand-in's 429 is for the next call.
    await queue("o05-f1")
    tg.standin.fail_next["sendMessage"] = (429, "Too Many Requests: retry after 40", {"retry_after": 40})
    await deliver_outbox(tg, deps)
    await queue("o05-f2")
    tg.standin.blocked.add(9002)
    await deliver_outbox(tg, deps)
    async with deps.sessionmaker() as s:
        rows = {r.identity_id: r for r in (await s.scalars(select(Outbox))).all()}
        idents = {i.external_id: i for i in (await s.scalars(select(ChatIdentity).where(
            ChatIdentity.channel == "telegram"))).all()}
    first, blocked = rows[idents["9001"].id], rows[idents["9002"].id]
    assert first.status == "pending" and first.next_attempt_at >= clock.now() + timedelta(seconds=40)
    assert blocked.status == "dead" and idents["9002"].blocked_at is not None  # not retried forever
    assert tg.standin.shown_in(9001) == [] and tg.standin.shown_in(9002) == []
    await deliver_outbox(tg, deps)
    assert tg.standin.shown_in(9001) == []  # not before Telegram's retry_after
    clock.advance(seconds=41)
    await deliver_outbox(tg, deps)
    assert tg.standin.shown_in(9001) == ["提醒 L-9"]  # delivered once, after Telegram's wait
    await deliver_outbox(tg, deps)
    assert tg.standin.shown_in(9001) == ["提醒 L-9"]
    assert len([c for c in tg.standin.sent_to(9002)]) == 1  # the blocked chat was tried once only


async def test_a_named_reporter_on_telegram_gets_the_teams_question_pushed(tg: Running, deps: Deps) -> None:
    from tests.cases.conftest import bind_group, press_data
    from tests.fakes import Chat

    await bind_group(deps, "jg1")
    p = tg.phone(4100)
    await p.send("/report")
    await p.send("交通警察")
    await p.press_label("省公安厅交通警察总队")
    await p.press(N_("Skip"))
    await p.send("他收受好处费。")
    await p.press(N_("Done"))
    await p.press(N_("Skip"))
    await p.press(N_("With my name"))
    await p.send("赵实名")
    await p.send("13900001111")
    await p.press(N_("✔ Submit"))
    async with deps.sessionmaker() as s:
        tip = (await s.scalars(select(Tip))).one()
        case = (await s.scalars(select(Case))).one()
        assert not tip.anonymous
        assert deps.sealer.open_text(tip.key_id, tip.reporter_chat_enc) == "telegram\x1f4100"
    lead = Chat(dispatcher=tg.service.dispatcher, external_id="staff-o02-lead")
    await lead.send(f"/case {case.reference}")
    await lead.press(N_("Accept (受理)"))
    await lead.press(N_("Propose a team"))
    await lead.press(N_("✔ Confirm"))
    await press_data(lead, f"a:case:{case.id}.ask")
    await lead.send("具体金额是多少？")
    shown = len(tg.standin.shown_in(4100))
    assert await deliver_outbox(tg, deps) >= 1
    pushed = tg.standin.shown_in(4100)[shown:]
    assert pushed, "the question notice reached the named reporter's Telegram chat"
    assert "/check" in "".join(pushed) and "具体金额是多少" not in "".join(pushed)  # read with the receipt


async def test_forget_deletes_the_bots_messages_including_the_receipt(tg: Running, deps: Deps) -> None:
    p = tg.phone(7001)
    receipt = await tg_anonymous_tip(p, tg)
    grouped = " ".join(receipt[i:i + 4] for i in range(0, 16, 4))
    chat = tg.standin
    receipt_mid = next(mid for (c, mid), m in chat.messages.items() if c == 7001 and grouped in m.get("text", ""))
    bot_mids = {mid for (c, mid) in chat.messages if c == 7001}
    said = {mid for (c, mid) in chat.incoming if c == 7001}
    await p.press(N_("Remove this conversation"))
    texts = await p.press(N_("I have written it down: remove"))
    deleted = {mid for (c, mid) in chat.deleted if c == 7001}
    assert receipt_mid in deleted and bot_mids <= deleted and said <= deleted
    # What is left is the last answer alone, saying what Telegram does not let the bot remove.
    left = [m["text"] for (c, _mid), m in chat.messages.items() if c == 7001]
    assert left == texts and "48" in texts[-1] and grouped not in texts[-1]
    async with deps.sessionmaker() as s:
        assert (await s.scalars(select(Tip))).one() is not None  # the report itself stays
