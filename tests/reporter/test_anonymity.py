"""The anonymity proof: run every reporter flow with distinctive identity values, then look
for those values in a full dump of the database, in the logs and in the outbox."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from storage.models import Outbox, Tip, TipQuestion
from tests.fakes import Chat, make_file
from tests.reporter.conftest import submit_tip
from tests.reporter.scanner import dump_database, scan_blob, scan_database, scan_text
from tests.reporter.test_wizard import jpeg_with_gps

IDENTITY = {
    "external_id": "tg-7741992305",
    "username": "whistle_q7x_user",
    "display_name": "Zhuang Yiqiao-Q",
    "phone": "+86 139 4417 2958",
    "phone_plain": "13944172958",
}


def needles() -> list[str]:
    return list(IDENTITY.values())


def test_scanner_finds_what_it_looks_for() -> None:
    import base64

    v = IDENTITY["external_id"]
    for blob in (b"xx" + v.encode() + b"yy", v.encode().hex().encode(), b"ab" + base64.b64encode(b"zz" + v.encode())):
        assert scan_blob("t", blob, [v]), blob
    assert scan_blob("t", b"nothing here", [v]) == []


async def _all_flows(dispatcher, deps, clock) -> None:  # type: ignore[no-untyped-def]
    def me() -> Chat:
        return Chat(dispatcher=dispatcher, external_id=IDENTITY["external_id"], username=IDENTITY["username"],
                    display_name=IDENTITY["display_name"], language_code="en")

    c = me()
    # anonymous wizard with files (a photo and a PDF), unit picked from the search
    receipt = await submit_tip(c, about="法院", body=("第一段", "第二段"), people="某庭长",
                               files=(make_file(jpeg_with_gps(), filename="IMG_1.jpg", content_type="image/jpeg",
                                                kind="photo"),
                                      make_file(b"%PDF-1.4 evidence", filename="evidence.pdf")))
    # a team question, answered; more material added
    async with deps.sessionmaker() as s, s.begin():
        tip = (await s.scalars(select(Tip))).one()
        kid, blob = deps.sealer.seal_text("具体时间？")
        s.add(TipQuestion(tip_id=tip.id, key_id=kid, text_enc=blob, asked_at=clock.now()))
    await c.send("/check " + receipt)
    await c.press("Answer question 1")
    await c.send("去年五月")
    await c.press("Add information")
    await c.send("补充一条")
    await c.attach(make_file(b"%PDF-1.4 more", filename="more.pdf"))
    await c.press("Done")
    await c.press("Close")
    # a cancelled draft
    await c.send("/report")
    await c.send("某单位")
    await c.press("Cancel")
    # an expired draft
    await c.send("/report")
    await c.send("某单位")
    await c.press("Skip")
    clock.advance(hours=deps.config.draft_ttl_hours + 1)
    await c.send("还在吗")
    # throttling
    for i in range(deps.config.receipt_failures_per_sender + 1):
        await c.send(f"/check {i:016d}")
    assert "Too many attempts" in c.last


@pytest.fixture
def app_logging():  # type: ignore[no-untyped-def]
    """The program's own logging set-up at DEBUG. Database drivers log query parameters (the
    staff lookup by chat id among them) at DEBUG, so the program keeps them at WARNING; this
    proof runs with that set-up, and restores the levels afterwards."""
    from bot.logs import configure_logging

    names = ("aiosqlite", "sqlalchemy.engine", "alembic.runtime.migration", "apscheduler", "aiogram.event", "")
    before = {n: logging.getLogger(n).level for n in names}
    configure_logging("DEBUG")
    yield
    for n, lvl in before.items():
        logging.getLogger(n).setLevel(lvl)


async def test_anonymous_flows_leave_no_identifying_trace(dispatcher, deps, clock, caplog, app_logging) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    assert logging.getLogger("aiosqlite").getEffectiveLevel() >= logging.WARNING
    await _all_flows(dispatcher, deps, clock)
    leaks = await scan_database(deps.sessionmaker, needles())
    leaks += scan_text("logs", caplog.text, needles())
    for rec in caplog.records:
        leaks += scan_text("log-args", repr(rec.args) + repr(rec.__dict__), needles())
    assert leaks == []
    dump = await dump_database(deps.sessionmaker)
    assert dump["tips"] and dump["attachments"] and dump["tip_messages"]  # the flows really stored things
    async with deps.sessionmaker() as s:
        assert (await s.scalars(select(Outbox))).all() == []  # anonymous reporters are never pushed anything


async def test_the_scan_would_catch_a_leak(dispatcher, deps, clock) -> None:  # type: ignore[no-untyped-def]
    """Guard against a scanner that cannot fail: a named tip typed with the phone does show up
    once the value is written in plain text somewhere."""
    async with deps.sessionmaker() as s, s.begin():
        s.add(Outbox(channel="memory", kind="probe", payload={"text": IDENTITY["username"]},
                     next_attempt_at=clock.now(), created_at=clock.now()))
    assert any("outbox" in x for x in await scan_database(deps.sessionmaker, needles()))


async def test_named_tip_keeps_name_and_contact_only_encrypted(dispatcher, deps) -> None:  # type: ignore[no-untyped-def]
    c = Chat(dispatcher=dispatcher, external_id=IDENTITY["external_id"], username=IDENTITY["username"],
             display_name=IDENTITY["display_name"], language_code="en")
    await submit_tip(c, named=(IDENTITY["display_name"], IDENTITY["phone"]))
    assert "we will tell you" in c.last
    assert await scan_database(deps.sessionmaker, needles()) == []
    async with deps.sessionmaker() as s:
        tip = (await s.scalars(select(Tip))).one()
        assert not tip.anonymous
        assert deps.sealer.open_text(tip.key_id, tip.reporter_name_enc) == IDENTITY["display_name"]
        assert deps.sealer.open_text(tip.key_id, tip.reporter_contact_enc) == IDENTITY["phone"]
        assert deps.sealer.open_text(tip.key_id, tip.reporter_chat_enc) == f"memory\x1f{IDENTITY['external_id']}"


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
async def test_flows_work_in_both_languages(dispatcher, deps, lang) -> None:  # type: ignore[no-untyped-def]
    c = Chat(dispatcher=dispatcher, external_id="x", language_code=lang)
    await c.send("/report")
    assert c.buttons()  # buttons exist in both languages
