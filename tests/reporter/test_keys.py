"""Key rotation: after `lianzu keys rotate`, a configuration holding only the new key reads everything."""

from __future__ import annotations

import base64

from sqlalchemy import select

from bot.cli import main
from storage.crypto import Sealer, UnknownKeyError
from storage.keys import SEALED_COLUMNS, keys_in_use, rotate
from storage.models import Attachment, Case, CaseNote, ConversationState, Outbox, Staff, Tip, TipMessage, TipQuestion
from tests.conftest import TEST_KEYS, TEST_SALT
from tests.fakes import make_file
from tests.reporter.conftest import submit_tip
from tests.reporter.test_wizard import jpeg_with_gps

NEW_KEY = "k2:" + base64.b64encode(b"rotation-test-key-32-bytes-long!").decode()


async def _fill_every_sealed_table(chat, deps) -> None:  # type: ignore[no-untyped-def]
    receipt = await submit_tip(chat("a", language_code="en"), files=(
        make_file(jpeg_with_gps(), filename="p.jpg", content_type="image/jpeg", kind="photo"),))
    await submit_tip(chat("b", language_code="en"), people="某人", named=("张三", "13800000000"))
    s_ = deps.sealer
    async with deps.sessionmaker() as s, s.begin():
        tip = (await s.scalars(select(Tip).where(Tip.anonymous.is_(True)))).one()
        case = (await s.scalars(select(Case).where(Case.tip_id == tip.id))).one()
        staff = (await s.scalars(select(Staff))).first()
        k, b = s_.seal_text("问题")
        s.add(TipQuestion(tip_id=tip.id, key_id=k, text_enc=b, asked_at=deps.clock.now()))
        k, b = s_.seal_text("案件摘要")
        case.key_id, case.summary_enc = k, b
        k, b = s_.seal_text("办案笔记")
        s.add(CaseNote(case_id=case.id, staff_id=staff.id, key_id=k, body_enc=b, at=deps.clock.now()))
        k, b = s_.seal_text("987654321")
        s.add(Outbox(channel="memory", address_enc=b, key_id=k, kind="feedback", payload={"text": "x"},
                     next_attempt_at=deps.clock.now(), created_at=deps.clock.now()))
    c = chat("a", language_code="en")
    await c.send("/check " + receipt)
    await c.press("Add information")
    await c.send("补充材料")
    await c.press("Done")
    await c.press("Close")
    d = chat("drafter", language_code="en")
    await d.send("/report")
    await d.send("草稿里的单位")  # a live draft: conversation_states.sealed


async def test_rotate_then_only_the_new_key_reads_everything(chat, deps, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    await _fill_every_sealed_table(chat, deps)
    used = await keys_in_use(deps.sessionmaker)
    assert set(used) == {"t1"}
    monkeypatch.setenv("LIANZU_DATABASE_URL", deps.config.database_url)
    monkeypatch.setenv("LIANZU_INSTALLATION_SALT", TEST_SALT)
    monkeypatch.setenv("LIANZU_ENCRYPTION_KEYS", f"{NEW_KEY},{TEST_KEYS}")
    import asyncio

    assert await asyncio.to_thread(main, ["keys", "rotate"]) == 0  # the real CLI, in its own event loop
    out = capsys.readouterr().out
    assert "tips: 2 re-encrypted" in out and "attachments: 1 re-encrypted" in out
    assert "outbox: 1 re-encrypted" in out and "conversation_states: 1 re-encrypted" in out
    assert await keys_in_use(deps.sessionmaker) == {"k2": sum(used.values())}

    only_new = Sealer({"k2": base64.b64decode(NEW_KEY[3:])})
    async with deps.sessionmaker() as s:
        for model in (Tip, TipMessage, TipQuestion, Attachment, Case, CaseNote, ConversationState, Outbox):
            cols = SEALED_COLUMNS[model.__tablename__]
            for row in (await s.scalars(select(model))).all():
                for col in cols:
                    blob = getattr(row, col)
                    if blob is not None:
                        assert only_new.open(row.key_id, blob)  # raises if it cannot
        named = (await s.scalars(select(Tip).where(Tip.anonymous.is_(False)))).one()
        assert only_new.open_text(named.key_id, named.reporter_contact_enc) == "13800000000"
        note = (await s.scalars(select(CaseNote))).one()
        assert only_new.open_text(note.key_id, note.body_enc) == "办案笔记"
    # the draft continues under the new key only
    from handlers.app import make_dispatcher
    from handlers.deps import Deps
    from tests.conftest import make_config
    from tests.fakes import Chat

    cfg = make_config(deps.config.database_url).model_copy(update={"encryption_keys": type(deps.config.encryption_keys)(NEW_KEY)})
    d2 = Deps(config=cfg, sessionmaker=deps.sessionmaker, clock=deps.clock, sealer=only_new)
    c = Chat(dispatcher=make_dispatcher(d2), external_id="drafter", language_code="en")
    await c.send("某人")
    await c.send("经过")
    await c.press("Done")
    await c.press("No files")
    await c.press("Anonymous")
    assert "草稿里的单位" in c.last
    # running it again changes nothing
    assert sum((await rotate(deps.sessionmaker, only_new)).values()) == 0


async def test_rotation_without_the_old_key_is_refused(chat, deps) -> None:  # type: ignore[no-untyped-def]
    await submit_tip(chat("a", language_code="en"))
    only_new = Sealer({"k2": base64.b64decode(NEW_KEY[3:])})
    try:
        await rotate(deps.sessionmaker, only_new)
        raise AssertionError("expected UnknownKeyError")
    except UnknownKeyError:
        pass
    assert set(await keys_in_use(deps.sessionmaker)) == {"t1"}  # nothing changed
