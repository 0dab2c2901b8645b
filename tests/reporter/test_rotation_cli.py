"""`lianzu keys rotate` end to end: every sealed table filled, the real CLI run, then a
configuration holding only the new key reads everything and continues a live draft."""

from __future__ import annotations

import asyncio
import base64

from sqlalchemy import select

from bot.cli import main
from handlers.app import make_deps, make_dispatcher
from handlers.deps import Deps
from handlers.i18n import N_
from storage.crypto import Sealer
from storage.keys import SEALED
from storage.models import Case, CaseNote, Outbox, Staff, Tip, TipQuestion
from tests.conftest import TEST_KEYS, TEST_SALT
from tests.fakes import Chat, make_file
from tests.reporter.conftest import file_anonymous_tip

NEW_ID = "k2"
NEW_KEY = base64.b64encode(b"rotation-test-key-32-bytes-long!").decode()


async def _fill_every_sealed_table(chat, deps: Deps, photo) -> None:  # type: ignore[no-untyped-def]
    receipt = await file_anonymous_tip(chat("anon"), files=(photo,))
    n = chat("named", language_code="en")
    await n.send("/report")
    await n.press(N_("Not sure"))
    await n.press(N_("Skip"))
    await n.send("经过")
    await n.press(N_("Done"))
    await n.press(N_("Skip"))
    await n.press(N_("With my name"))
    await n.send("张三")
    await n.send("13800000000")
    await n.press(N_("✔ Submit"))
    async with deps.sessionmaker() as s, s.begin():
        tip = (await s.scalars(select(Tip).where(Tip.anonymous.is_(True)))).one()
        case = (await s.scalars(select(Case).where(Case.tip_id == tip.id))).one()
        staff = (await s.scalars(select(Staff))).first()
        assert staff is not None
        k, b = deps.sealer.seal_text("问题")
        s.add(TipQuestion(tip_id=tip.id, key_id=k, text_enc=b, asked_at=deps.clock.now()))
        case.key_id, case.summary_enc = deps.sealer.seal_text("案件摘要")
        k, b = deps.sealer.seal_text("办案笔记")
        s.add(CaseNote(case_id=case.id, staff_id=staff.id, key_id=k, body_enc=b, at=deps.clock.now()))
        k, b = deps.sealer.seal_text("987654321")
        s.add(Outbox(channel="memory", address_enc=b, key_id=k, kind="feedback", payload={"text": "x"},
                     next_attempt_at=deps.clock.now(), created_at=deps.clock.now()))
    c = chat("anon", language_code="en")
    await c.send(f"/check {receipt}")
    await c.press(N_("Add information"))
    await c.send("补充材料")
    await c.press(N_("Finish"))
    d = chat("drafter", language_code="en")
    await d.send("/report")
    await d.send("草稿里的单位描述")  # a live draft: conversation_states.sealed
    await d.attach(make_file(b"%PDF", filename="x.pdf"))  # refused politely at this step; draft kept


async def test_cli_rotation_then_only_the_new_key_reads_everything(chat, deps: Deps, photo, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    await _fill_every_sealed_table(chat, deps, photo)
    monkeypatch.setenv("LIANZU_DATABASE_URL", deps.config.database_url)
    monkeypatch.setenv("LIANZU_INSTALLATION_SALT", TEST_SALT)
    monkeypatch.setenv("LIANZU_ENCRYPTION_KEYS", f"{NEW_ID}:{NEW_KEY},{TEST_KEYS}")
    assert await asyncio.to_thread(main, ["keys", "rotate"]) == 0  # the real CLI, in its own event loop
    out = capsys.readouterr().out
    for table in ("tips 2", "tip_messages 1", "tip_questions 1", "attachments 1", "cases 1", "case_notes 1",
                  "conversation_states 1", "outbox 1"):
        assert table in out, out

    only_new = Sealer({NEW_ID: base64.b64decode(NEW_KEY)})
    opened = 0
    async with deps.sessionmaker() as s:
        for model, key_col, cols in SEALED:
            for row in (await s.scalars(select(model))).all():
                kid = getattr(row, key_col)
                for col in cols:
                    blob = getattr(row, col)
                    if blob is not None:
                        assert kid == NEW_ID
                        only_new.open(kid, blob)  # raises if it cannot
                        opened += 1
        named = (await s.scalars(select(Tip).where(Tip.anonymous.is_(False)))).one()
        assert only_new.open_text(named.key_id, named.reporter_contact_enc) == "13800000000"
    assert opened >= 14

    # A dispatcher configured with only the new key continues the draft.
    cfg = deps.config.model_copy(update={"encryption_keys": type(deps.config.encryption_keys)(f"{NEW_ID}:{NEW_KEY}")})
    d2 = make_deps(cfg, deps.sessionmaker, deps.clock, only_new)
    c = Chat(dispatcher=make_dispatcher(d2), external_id="drafter", language_code="en")
    await c.send("某人")
    await c.send("经过")
    await c.press(N_("Done"))
    await c.press(N_("Skip"))
    await c.press(N_("Anonymous"))
    assert "草稿里的单位描述" in c.last

    # Nothing left under the old key: a second run changes nothing.
    assert await asyncio.to_thread(main, ["keys", "rotate"]) == 0
    assert "re-encrypted 0 rows" in capsys.readouterr().out


async def test_cli_rotation_without_the_old_key_is_refused_and_changes_nothing(chat, deps: Deps, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    await file_anonymous_tip(chat())
    monkeypatch.setenv("LIANZU_DATABASE_URL", deps.config.database_url)
    monkeypatch.setenv("LIANZU_INSTALLATION_SALT", TEST_SALT)
    monkeypatch.setenv("LIANZU_ENCRYPTION_KEYS", f"{NEW_ID}:{NEW_KEY}")
    assert await asyncio.to_thread(main, ["keys", "rotate"]) == 2
    assert "not in LIANZU_ENCRYPTION_KEYS" in capsys.readouterr().err
    async with deps.sessionmaker() as s:
        tip = (await s.scalars(select(Tip))).one()
        assert tip.key_id == "t1" and deps.sealer.open_text(tip.key_id, tip.body_enc)


async def test_past_the_global_threshold_a_fresh_sender_is_heard_and_a_guesser_waits(chat, deps: Deps) -> None:
    real = await file_anonymous_tip(chat())
    deps.config.receipt_failures_global = 3
    for i in range(4):  # four different people, one wrong guess each: past the threshold
        await chat(f"g{i}", language_code="en").send(f"/check {str(i).zfill(16)}")
    fresh = chat("fresh", language_code="en")
    assert "waiting to be accepted" in fresh.text(await fresh.send(f"/check {real}"))
    await fresh.send("/cancel")
    assert "No report matches" in fresh.text(await fresh.send("/check 9999999999999999"))
    right = fresh.text(await fresh.send(f"/check {real}"))
    wrong = fresh.text(await fresh.send("/check 9999999999999998"))
    assert "Too many attempts" in right and right == wrong
