"""Proof that nothing identifies an anonymous sender: every reporter flow is run with
distinctive identity values, then the whole database, the logs and the outbox are scanned."""

from __future__ import annotations

import logging

from sqlalchemy import select

from bot.logs import configure_logging
from handlers.deps import Deps
from handlers.i18n import N_
from storage.models import Tip, TipQuestion
from tests.fakes import Chat, make_file, tiny_pdf
from tests.reporter.conftest import file_anonymous_tip
from tests.reporter.scanner import encodings, find_leaks

IDENTITY = {
    "external_id": "7731904455",
    "username": "whistle_qx77",
    "display_name": "Quxiang Hidden-Person",
}


def reporter(dispatcher, suffix: str = "") -> Chat:  # type: ignore[no-untyped-def]
    return Chat(dispatcher=dispatcher, external_id=IDENTITY["external_id"] + suffix,
                username=IDENTITY["username"] + suffix, display_name=IDENTITY["display_name"] + suffix,
                language_code="zh-hans")


def test_the_scanner_finds_what_it_looks_for() -> None:
    import base64

    v = IDENTITY["username"]
    assert any(f in ("xx" + v + "yy").encode() for f in encodings(v))
    assert any(f in v.encode().hex().encode() for f in encodings(v))
    for prefix in (b"", b"a", b"ab"):
        blob = base64.b64encode(prefix + v.encode() + b"tail")
        assert any(f in blob for f in encodings(v)), prefix


async def test_no_reporter_flow_leaves_an_identity_trace(dispatcher, deps: Deps, caplog, photo, clock) -> None:
    configure_logging("DEBUG")  # the production set-up, at its most talkative
    caplog.set_level(logging.DEBUG)
    ids = list(IDENTITY.values())
    c = reporter(dispatcher)
    await c.send("/start")
    await c.send("/lang en")
    await c.send("/lang zh")
    receipt = await file_anonymous_tip(c, files=(photo, make_file(tiny_pdf(), filename="note.pdf")))
    # Follow-up: status, add material, add a file, answer a question.
    async with deps.sessionmaker() as s, s.begin():
        tip = (await s.scalars(select(Tip))).one()
        k, blob = deps.sealer.seal_text("能否提供更多细节？")
        s.add(TipQuestion(tip_id=tip.id, key_id=k, text_enc=blob, asked_at=clock.now()))
    await c.send(f"/check {receipt}")
    await c.press(N_("Add information"))
    await c.send("补充：还有另一笔。")
    await c.press(N_("Add a file"))
    await c.attach(make_file(tiny_pdf(), filename="more.pdf"))
    await c.press(N_("Answer question {n}"), n=1)
    await c.send("可以。")
    await c.press(N_("Finish"))
    # A cancelled draft, an expired draft, wrong receipts and junk.
    c2 = reporter(dispatcher, "1")
    await c2.send("/report")
    await c2.press(N_("Not sure"))
    await c2.send("某人")
    await c2.press(N_("✖ Cancel"))
    c3 = reporter(dispatcher, "2")
    await c3.send("/report")
    await c3.press(N_("Not sure"))
    clock.advance(hours=25)
    await c3.send("还在吗")
    for i in range(7):
        await c3.send(f"/check {str(i).zfill(16)}")
    await c3.send("/nonsense")
    await c3.send("x" * 30000)
    ids += [v + s for v in IDENTITY.values() for s in ("1", "2")]
    engine = deps.sessionmaker.kw["bind"]
    leaks = await find_leaks(engine, ids, caplog.text)
    assert leaks == []
    # And the tip really is there, so the scan looked at real data.
    async with deps.sessionmaker() as s:
        assert (await s.scalars(select(Tip))).one().anonymous
