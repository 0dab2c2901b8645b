"""Forensics: after a tip is submitted and the minute job has run, the raw database files hold
nothing that links the reporter's chat to what it typed: not the chat id in clear, not the chat's
keyed hash, not any sealed copy of a draft or of a platform's post (which the installation keys
would open). Per-chat rows that live longer by design (language choice, de-duplication keys,
throttles) are gone from the files too once they have expired.

The raw files are SQLite's database file and its write-ahead log; on PostgreSQL, every page of
every scrubbed table, its indexes and its TOAST, read through pageinspect."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.scheduler import ClockJobs
from handlers.deps import Deps
from handlers.i18n import N_
from handlers.identity import sender_key
from handlers.reporter.followup import SESSION_MINUTES
from handlers.schedule.ticker import MENU_KEEP
from storage import db
from storage.db import SCRUBBED_TABLES
from storage.models import ConversationState, Tip, TipQuestion
from tests.conftest import backend
from tests.fakes import make_file
from tests.reporter.conftest import jpeg_with_gps
from tests.telegram.conftest import Running, standin, webhook  # noqa: F401  (fixtures)
from tests.telegram.test_flows import tg_anonymous_tip
from tests.wecom.conftest import WeCom, wecom  # noqa: F401  (fixture)
from tests.wecom.test_flows import number_of

SUSPECT = "suspect-chat-4242"
# Every per-chat row has expired by then: throttle windows, de-duplication keys (2 days),
# language choices (90 days after the chat last wrote).
LONG_AFTER_DAYS = 92
SEALED_SOURCES = ("conversation_states", "inbox")


def chat_keys(deps: Deps, channel: str, external_id: str) -> dict[str, str]:
    """The chat's keyed hashes, as an administrator holding the salt would compute them."""
    return {purpose: sender_key(deps.config.salt, channel, external_id, purpose=purpose)
            for purpose in ("conversation", "preference", "receipt-throttle", "bind-throttle")}


def _values(parameters: Any) -> Iterator[Any]:
    if isinstance(parameters, dict):
        yield from parameters.values()
    elif isinstance(parameters, (list, tuple)):
        for p in parameters:
            yield from (_values(p) if isinstance(p, (list, tuple, dict)) else (p,))


@dataclass
class Recorder:
    """Every value written to a scrubbed table during the flow, as the application wrote it:
    sealed blobs (drafts, inbox posts) and keyed hashes (64 hex digits)."""

    blobs: dict[bytes, str] = field(default_factory=dict)  # blob → table
    hashes: dict[str, str] = field(default_factory=dict)  # keyed hash → table

    def install(self, engine: AsyncEngine) -> None:
        event.listen(engine.sync_engine, "before_cursor_execute", self._seen)

    def remove(self, engine: AsyncEngine) -> None:
        event.remove(engine.sync_engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: Any, _cursor: Any, statement: str, parameters: Any, _ctx: Any, _many: bool) -> None:
        if not re.match(r"\s*(INSERT|UPDATE)\b", statement, re.I):
            return
        table = next((t for t in SCRUBBED_TABLES if re.search(rf"\b{t}\b", statement.split("(")[0])), None)
        if table is None:
            return
        for v in _values(parameters):
            if isinstance(v, (bytes, bytearray, memoryview)) and len(v) >= 32 and table in SEALED_SOURCES:
                self.blobs[bytes(v)] = table
            elif isinstance(v, str) and re.fullmatch(r"[0-9a-f]{64}", v):
                self.hashes[v] = table


async def _pg_relations(deps: Deps) -> list[str]:
    """Each scrubbed table with its indexes, its TOAST table and the TOAST table's index."""
    async with deps.sessionmaker() as s:
        names: list[str] = []
        for t in SCRUBBED_TABLES:
            names += (await s.scalars(text(
                "WITH r AS (SELECT CAST(:t AS regclass) AS oid), "
                "toast AS (SELECT reltoastrelid AS oid FROM pg_class WHERE oid = (SELECT oid FROM r) AND reltoastrelid <> 0) "
                "SELECT CAST(CAST(o AS regclass) AS text) FROM ("
                " SELECT oid AS o FROM r UNION SELECT indexrelid FROM pg_index WHERE indrelid = (SELECT oid FROM r)"
                " UNION SELECT oid FROM toast UNION SELECT indexrelid FROM pg_index WHERE indrelid IN (SELECT oid FROM toast)"
                ") AS x"), {"t": t})).all()
        return names


async def raw_bytes(deps: Deps) -> bytes:
    """What a forensic reader of the storage would see."""
    url = make_url(deps.config.database_url)
    if backend() == "sqlite":
        db = Path(url.database or "")
        wal = Path(str(db) + "-wal")
        return db.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    relations = await _pg_relations(deps)
    assert len(relations) >= 2 * len(SCRUBBED_TABLES)  # every table has a primary key's index at least
    raw = bytearray()
    async with deps.sessionmaker() as s, s.begin():
        await s.execute(text("CREATE EXTENSION IF NOT EXISTS pageinspect"))
        for rel in relations:
            pages = await s.scalar(text("SELECT pg_relation_size(CAST(:r AS regclass)) / current_setting('block_size')::int"),
                                   {"r": rel})
            for n in range(int(pages or 0)):
                raw += bytes(await s.scalar(text("SELECT get_raw_page(:r, :n)"), {"r": rel, "n": n}))
    return bytes(raw)


async def foreign_horizon(deps: Deps) -> str | None:
    """Something outside the application keeping dead rows of this database visible, or None.
    This test's database is its own: every client connection to it is the application's, and
    one of those idle in a transaction is a bug, not a reason to skip. Foreign are an autovacuum
    or other background worker holding a snapshot here, a prepared transaction, a replication slot."""
    async with deps.sessionmaker() as s:
        mine = (await s.execute(text(
            "SELECT backend_type, state, left(query, 60) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND (backend_xid IS NOT NULL OR backend_xmin IS NOT NULL)"))).all()
        slots = await s.scalar(text("SELECT count(*) FROM pg_replication_slots WHERE xmin IS NOT NULL"))
        prepared = await s.scalar(text("SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()"))
    ours = [r for r in mine if r[0] == "client backend"]
    assert ours == [], f"the application's own connections hold the vacuum horizon: {ours}"
    if mine or slots or prepared:
        return f"held outside the application: {list(mine)}, {slots} slot(s), {prepared} prepared"
    return None


def survivors(raw: bytes, needles: dict[str, bytes]) -> list[str]:
    return [what for what, b in needles.items() if b in raw]


async def assert_no_trace(deps: Deps, needles: dict[str, bytes]) -> None:
    """Runs the minute job and searches the raw files for every needle."""
    await ClockJobs(deps).minute()
    found = survivors(await raw_bytes(deps), needles)
    if found and backend() == "postgresql":
        why = await foreign_horizon(deps)
        if why:
            pytest.skip(f"vacuum horizon {why}")
    assert found == [], f"{len(found)} of {len(needles)} traces survive the minute job: {found[:8]}"


def needles_of(rec: Recorder, keys: dict[str, str], clear_ids: tuple[str, ...], *,
               hashes_from: tuple[str, ...] = ()) -> dict[str, bytes]:
    n = {f"sealed {table} #{i}": blob[:32] for i, (blob, table) in enumerate(rec.blobs.items())}
    n |= {f"{purpose} hash": k.encode() for purpose, k in keys.items()}
    n |= {f"{table} hash {h[:8]}": h.encode() for h, table in rec.hashes.items() if table in hashes_from}
    n |= {f"id {i!r} in clear": i.encode() for i in clear_ids}
    return n


async def _sealed_draft(deps: Deps, key: str) -> bytes | None:
    async with deps.sessionmaker() as s:
        row = await s.get(ConversationState, key)
        return row.sealed if row is not None else None


async def test_no_trace_of_the_chat_and_its_draft_survives_the_minute_job(chat, deps: Deps) -> None:
    key = sender_key(deps.config.salt, "memory", SUSPECT)
    c = chat(SUSPECT)
    drafts: list[bytes] = []

    async def step(coro) -> None:  # type: ignore[no-untyped-def]
        await coro
        sealed = await _sealed_draft(deps, key)
        if sealed:
            drafts.append(sealed)

    await step(c.send("/report"))
    await step(c.send("交通警察"))
    await step(c.press_value(c.button_values()[0]))
    await step(c.send("张某，副总队长"))
    for line in ("三月十五日他在办公室收了一个信封。", "我亲眼看见的。", "还有一次在饭店。"):
        await step(c.send(line))
    await step(c.press(N_("Done")))
    await step(c.attach(make_file(jpeg_with_gps(), filename="p.jpg", content_type="image/jpeg")))
    await step(c.press(N_("Done")))
    await step(c.press(N_("Anonymous")))
    await c.press(N_("✔ Submit"))
    assert len(drafts) >= 8 and await _sealed_draft(deps, key) is None

    needles = {"conversation hash": key.encode()} | {f"draft #{i}": d[:32] for i, d in enumerate(drafts)}
    await assert_no_trace(deps, needles)


async def _played(rec: Recorder, deps: Deps, keys: dict[str, str]) -> None:
    """The flow really wrote what the search looks for: otherwise the test could not fail."""
    tables = set(rec.blobs.values())
    assert tables == {"conversation_states", "inbox"}, tables
    assert sum(t == "inbox" for t in rec.blobs.values()) >= 10
    assert {keys["conversation"], keys["preference"], keys["receipt-throttle"], keys["bind-throttle"]} <= set(rec.hashes)
    assert any(t == "inbound_seen" for t in rec.hashes.values())
    async with deps.sessionmaker() as s:
        assert (await s.scalars(select(Tip))).one().anonymous


async def _after_check_and_expiry(deps: Deps, rec: Recorder, keys: dict[str, str], clear: tuple[str, ...]) -> None:
    # A /check session (the tip it opened, sealed, under the chat's key) ends 30 minutes after the
    # chat's last message; the minute after, neither it nor the posts that made it are left.
    deps.clock.advance(minutes=SESSION_MINUTES + 1)  # type: ignore[attr-defined]
    await assert_no_trace(deps, needles_of(rec, {"conversation": keys["conversation"]}, clear))
    # Once every per-chat row has expired, nothing keyed by the chat is left either.
    deps.clock.advance(days=LONG_AFTER_DAYS)  # type: ignore[attr-defined]
    db._last_hourly.clear()  # an hour has passed for the tables rewritten hourly, too
    await assert_no_trace(deps, needles_of(rec, keys, clear, hashes_from=("inbound_seen",)))


async def test_a_tip_over_the_telegram_webhook_leaves_no_trace_of_the_chat(webhook: Running, deps: Deps) -> None:  # noqa: F811
    uid = 7731904455
    keys = chat_keys(deps, "telegram", str(uid))
    clear = (str(uid), "whistle_qx77", "Quxiang")
    rec = Recorder()
    rec.install(deps.sessionmaker.kw["bind"])
    try:
        p = webhook.phone(uid, username="whistle_qx77", first_name="Quxiang")
        await p.send("/lang zh")
        await p.send("/bind 1234-5678")  # a wrong invite code: a throttle row for this chat
        receipt = await tg_anonymous_tip(p, webhook, photo=jpeg_with_gps())
        # Within the minute of the submission: no draft, no post, no conversation key, no id.
        await assert_no_trace(deps, needles_of(rec, {"conversation": keys["conversation"]}, clear))

        texts = await p.send(f"/check {receipt}")
        assert any("状态" in t or "受理" in t for t in texts), texts
    finally:
        rec.remove(deps.sessionmaker.kw["bind"])
    await _played(rec, deps, keys)
    await _after_check_and_expiry(deps, rec, keys, clear)


async def test_a_tip_over_the_wecom_callback_leaves_no_trace_of_the_chat(wecom: WeCom, deps: Deps) -> None:  # noqa: F811
    user = "wecom-insider-7788"
    keys = chat_keys(deps, "wecom", user)
    rec = Recorder()
    rec.install(deps.sessionmaker.kw["bind"])
    try:
        wecom.api.media["IMG1"] = (jpeg_with_gps(), "image/jpeg", "IMG_0001.jpg")
        await wecom.say(user, "/lang zh")
        await wecom.say(user, "/bind 1234-5678")
        t = await wecom.say(user, "/report")
        t = await wecom.say(user, "交通警察")
        t = await wecom.say(user, number_of(t[-1], "省公安厅交通警察总队"))
        t = await wecom.say(user, "张某，副总队长")
        for line in ("三月十五日他在办公室收了一个信封。", "我亲眼看见的。"):
            t = await wecom.say(user, line)
        t = await wecom.say(user, number_of(t[-1], await wecom.label(user, N_("Done"))))
        status, _b, _t = await wecom.sim.post(wecom.http, wecom.sim.image_xml(user, "IMG1"))
        assert status == 200
        await wecom.callback.drain()
        t = wecom.api.texts_to(user)
        t = await wecom.say(user, number_of(t[-1], await wecom.label(user, N_("Done"))))
        t = await wecom.say(user, number_of(t[-1], await wecom.label(user, N_("Anonymous"))))
        t = await wecom.say(user, number_of(t[-1], await wecom.label(user, N_("✔ Submit"))))
        receipt = "".join(ch for ch in t[-1].split("回执号码：")[1].split("请立即")[0] if ch.isdigit())
        assert len(receipt) == 16
        # The receipt's numbered menu (/forget) is kept for its number to work, then goes.
        deps.clock.advance(minutes=MENU_KEEP.seconds // 60 + 1)  # type: ignore[attr-defined]
        await assert_no_trace(deps, needles_of(rec, {"conversation": keys["conversation"]}, (user,)))

        t = await wecom.say(user, f"/check {receipt}")
        assert "等待受理" in t[-1]
    finally:
        rec.remove(deps.sessionmaker.kw["bind"])
    await _played(rec, deps, keys)
    await _after_check_and_expiry(deps, rec, keys, (user,))


async def test_times_joinable_to_an_anonymous_tip_are_days(chat, deps: Deps) -> None:
    from tests.reporter.conftest import file_anonymous_tip

    receipt = await file_anonymous_tip(chat())
    async with deps.sessionmaker() as s, s.begin():
        tip = (await s.scalars(select(Tip))).one()
        k, blob = deps.sealer.seal_text("哪一天？")
        s.add(TipQuestion(tip_id=tip.id, key_id=k, text_enc=blob, asked_at=deps.clock.now()))
    c = chat("answerer")
    await c.send(f"/check {receipt}")
    await c.press(N_("Answer question {n}"), n=1)
    await c.send("三月十五日。")
    async with deps.sessionmaker() as s:
        q = (await s.scalars(select(TipQuestion))).one()
        assert q.answered_at is not None
        assert (q.answered_at.hour, q.answered_at.minute, q.answered_at.second, q.answered_at.microsecond) == (0, 0, 0, 0)
