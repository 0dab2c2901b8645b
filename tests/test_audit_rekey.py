"""An audit trail begun before the audit key existed (plain SHA-256 chain) is re-signed by the
operator with ``lianzu audit rekey`` after it is checked; a forged or rewritten trail is refused
and left as it was."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update

from bot.settings import Settings
from storage import audit
from storage.db import make_engine, make_sessionmaker
from storage.models import AuditEntry

ROOT = Path(__file__).resolve().parents[1]
T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def lianzu(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LIANZU_DATABASE_URL": db_url}
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, capture_output=True, text=True, env=env,
                          timeout=60)


def run(db_url: str, fn):  # type: ignore[no-untyped-def]
    async def go():  # type: ignore[no-untyped-def]
        engine = make_engine(db_url)
        try:
            async with make_sessionmaker(engine)() as s, s.begin():
                return await fn(s)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def old_trail(db_url: str, plain: int = 4, keyed: int = 2) -> None:
    """``plain`` entries as the version before the key wrote them, then ``keyed`` by today's code."""
    key = Settings(database_url=db_url).audit_mac_key

    async def write(s):  # type: ignore[no-untyped-def]
        prev = audit.GENESIS
        for i in range(plain):
            at, detail = T0 + timedelta(minutes=i), {"i": i}
            h = audit.plain_hash(prev, at, None, "o02-lead", "view", None, detail)
            s.add(AuditEntry(at=at, actor_staff_id=None, actor_label="o02-lead", action="view", case_id=None,
                             detail=detail, prev_hash=prev, hash=h))
            await s.flush()
            prev = h
        for i in range(keyed):
            await audit.append(s, key=key, at=T0 + timedelta(days=1, minutes=i), action="status", actor_label="sup1",
                               detail={"period": "week"})

    run(db_url, write)


def hashes(db_url: str) -> list[str]:
    return run(db_url, lambda s: _all_hashes(s))


async def _all_hashes(s) -> list[str]:  # type: ignore[no-untyped-def]
    return list((await s.scalars(select(AuditEntry.hash).order_by(AuditEntry.id))).all())


def test_an_old_plain_trail_is_checked_then_re_signed_and_the_re_signing_recorded(db_url: str) -> None:
    old_trail(db_url)
    assert lianzu(db_url, "audit", "verify").returncode == 1  # the plain part does not verify under the key
    before = hashes(db_url)
    dry = lianzu(db_url, "audit", "rekey", "--dry-run")
    assert dry.returncode == 0 and "would re-sign 4" in dry.stdout
    assert hashes(db_url) == before
    done = lianzu(db_url, "audit", "rekey")
    assert done.returncode == 0, done.stderr
    assert "re-signed 4" in done.stdout and "re-chained 2" in done.stdout
    verified = lianzu(db_url, "audit", "verify")
    assert verified.returncode == 0 and "intact: 7 entries" in verified.stdout
    last = run(db_url, lambda s: s.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)))
    assert last.action == "cli:audit_rekey"
    assert last.detail["plain"] == 4 and last.detail["old_head"] == before[-1] and last.detail["old_count"] == 6
    again = lianzu(db_url, "audit", "rekey")
    assert again.returncode == 0 and "nothing to re-sign" in again.stdout


def test_an_edited_plain_entry_is_refused_and_nothing_changes(db_url: str) -> None:
    old_trail(db_url)
    run(db_url, lambda s: s.execute(update(AuditEntry).where(AuditEntry.id == 2).values(action="history")))
    before = hashes(db_url)
    out = lianzu(db_url, "audit", "rekey")
    assert out.returncode == 1 and "entry 2" in out.stderr and "Nothing was changed" in out.stderr
    assert hashes(db_url) == before


def test_a_keyed_entry_rewritten_as_plain_is_refused(db_url: str) -> None:
    """Without the key, an editor could only rewrite keyed entries as a plain chain: rekey must not
    launder that."""
    old_trail(db_url, plain=2, keyed=3)

    async def forge(s) -> None:  # type: ignore[no-untyped-def]
        rows = (await s.scalars(select(AuditEntry).order_by(AuditEntry.id))).all()
        prev = rows[2].prev_hash
        for e in rows[2:]:
            e.detail = {"period": "forged"} if e.id == rows[3].id else e.detail
            e.prev_hash = prev
            e.hash = prev = audit.plain_hash(prev, e.at, e.actor_staff_id, e.actor_label, e.action, e.case_id, e.detail)

    anchor = run(db_url, audit.anchor)
    run(db_url, forge)
    # Rewriting every keyed entry as plain looks like an old trail: the latest digest anchor catches it.
    before = hashes(db_url)
    out = lianzu(db_url, "audit", "rekey", "--against-digest", str(anchor))
    assert out.returncode == 1 and "anchor" in out.stderr
    assert hashes(db_url) == before


def test_a_plain_entry_after_keyed_ones_is_refused(db_url: str) -> None:
    old_trail(db_url, plain=2, keyed=2)
    key = Settings(database_url=db_url).audit_mac_key

    async def forge(s) -> None:  # type: ignore[no-untyped-def]
        e = await audit.append(s, key=key, at=T0 + timedelta(days=3), action="stats", actor_label="sup1",
                               detail={"period": "2026"})
        e.hash = audit.plain_hash(e.prev_hash, e.at, e.actor_staff_id, e.actor_label, e.action, e.case_id, e.detail)

    run(db_url, forge)
    before = hashes(db_url)
    out = lianzu(db_url, "audit", "rekey")
    assert out.returncode == 1 and "follows keyed entries" in out.stderr
    assert hashes(db_url) == before
