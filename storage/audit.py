"""The append-only audit trail: each entry carries an HMAC over its content and the previous
entry's MAC, so an edited, inserted or deleted row breaks the chain (:func:`verify`).

The HMAC key is not in the database (``Config.audit_mac_key``): an administrator who can write the
database cannot recompute the chain after editing it. Deleting the newest entries leaves a shorter
valid chain, which the chain alone cannot show; the daily digest therefore carries an anchor
(entry count and head), and ``verify(anchor=…)`` checks the trail still reaches it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEntry

GENESIS = "0" * 64
_LOCK_ID = 0x4C5A4155  # "LZAU": serialises appends on PostgreSQL
ANCHOR_HEAD_CHARS = 16  # 64 bits of the head: enough to match, short enough to read from a phone


def entry_hash(key: bytes, prev_hash: str, at: datetime, actor_staff_id: int | None, actor_label: str, action: str,
               case_id: int | None, detail: dict[str, Any]) -> str:
    body = json.dumps(
        [prev_hash, at.isoformat(), actor_staff_id, actor_label, action, case_id, detail],
        ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str,
    )
    return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()


async def append(session: AsyncSession, *, key: bytes, at: datetime, action: str, actor_staff_id: int | None = None,
                 actor_label: str = "", case_id: int | None = None, detail: dict[str, Any] | None = None) -> AuditEntry:
    detail = detail or {}
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_ID})
    prev = await session.scalar(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)) or GENESIS
    at = at.replace(microsecond=(at.microsecond // 1000) * 1000)  # every backend keeps milliseconds
    entry = AuditEntry(at=at, actor_staff_id=actor_staff_id, actor_label=actor_label[:64], action=action[:48],
                       case_id=case_id, detail=detail, prev_hash=prev,
                       hash=entry_hash(key, prev, at, actor_staff_id, actor_label[:64], action[:48], case_id, detail))
    session.add(entry)
    await session.flush()
    return entry


@dataclass(frozen=True)
class Anchor:
    """What the digest publishes: how many entries the trail had and the start of the newest's MAC."""

    count: int
    head: str

    def __str__(self) -> str:
        return f"{self.head[:ANCHOR_HEAD_CHARS]}:{self.count}"

    @classmethod
    def parse(cls, text: str) -> Anchor:
        head, sep, count = text.strip().partition(":")
        head = head.lower()
        if not sep or not count.isascii() or not count.isdigit() or len(head) < ANCHOR_HEAD_CHARS \
                or any(c not in "0123456789abcdef" for c in head):
            raise ValueError(f"an anchor looks like HEAD:COUNT, e.g. 3f9a0c1d2e4b5a69:1234 (got {text!r})")
        return cls(int(count), head)


async def anchor(session: AsyncSession) -> Anchor:
    count = await session.scalar(select(func.count()).select_from(AuditEntry)) or 0
    head = await session.scalar(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)) or GENESIS
    return Anchor(int(count), head)


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    first_bad_id: int | None = None
    problem: str = ""
    head: str = GENESIS  # MAC of the newest entry: keep it (with the count) to detect truncation later


async def verify(session: AsyncSession, *, key: bytes, expect_count: int | None = None, expect_head: str | None = None,
                 against: Anchor | None = None) -> VerifyResult:
    """Walk the chain. The chain alone cannot show that the newest entries were deleted; given a
    count and head saved from an earlier run, or an anchor from a digest, that is caught too."""
    prev = GENESIS
    n = 0
    last_id = 0
    seen_head = expect_head is None
    anchor_hash: str | None = None
    for e in (await session.scalars(select(AuditEntry).order_by(AuditEntry.id))).all():
        n += 1
        if e.prev_hash != prev:
            return VerifyResult(False, n, e.id, f"entry {e.id} does not follow entry {last_id}: an entry is missing or was inserted")
        if not hmac.compare_digest(e.hash, entry_hash(key, e.prev_hash, e.at, e.actor_staff_id, e.actor_label, e.action,
                                                      e.case_id, e.detail)):
            return VerifyResult(False, n, e.id, f"entry {e.id} was altered (or the audit key is not the one it was written with)")
        prev, last_id = e.hash, e.id
        seen_head = seen_head or e.hash == expect_head
        if against is not None and n == against.count:
            anchor_hash = e.hash
    if expect_count is not None and n < expect_count:
        return VerifyResult(False, n, None, f"{expect_count - n} of the newest entries are missing (expected at least {expect_count})", prev)
    if not seen_head:
        return VerifyResult(False, n, None, "the entry saved as head is no longer in the trail", prev)
    if against is not None:
        if n < against.count:
            return VerifyResult(False, n, None, f"{against.count - n} entries are missing since the anchor "
                                                f"{against} (the trail has {n})", prev)
        if against.count and (anchor_hash is None or not anchor_hash.startswith(against.head)):
            return VerifyResult(False, n, None, f"entry number {against.count} is not the one anchored as {against}: "
                                                "the trail was rewritten", prev)
    return VerifyResult(True, n, head=prev)


def plain_hash(prev_hash: str, at: datetime, actor_staff_id: int | None, actor_label: str, action: str,
               case_id: int | None, detail: dict[str, Any]) -> str:
    """How entries were chained before the chain was keyed (plain SHA-256): read only by :func:`rekey`."""
    body = json.dumps(
        [prev_hash, at.isoformat(), actor_staff_id, actor_label, action, case_id, detail],
        ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()


@dataclass
class RekeyResult:
    ok: bool
    plain: int = 0  # entries found under the old plain chain (re-signed unless a dry run)
    keyed: int = 0  # entries already under the key, after them (re-chained)
    old_head: str = GENESIS
    problem: str = ""
    first_bad_id: int | None = None


async def rekey(session: AsyncSession, *, key: bytes, against: Anchor | None = None, apply: bool = True) -> RekeyResult:
    """Re-sign a trail begun before the chain was keyed. The trail must verify as it stands: a plain
    SHA-256 prefix, then (after the upgrade) entries under ``key``; anything else is refused and
    nothing changes. A plain entry after a keyed one is refused too: that is what an edit forged
    without the key looks like. ``against`` (a digest anchor) proves the keyed part was not turned
    back into a plain chain before this run. Then every entry is re-chained under the key."""
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_ID})
    entries = (await session.scalars(select(AuditEntry).order_by(AuditEntry.id))).all()
    prev, plain, keyed, last_id = GENESIS, 0, 0, 0
    anchor_hash: str | None = None
    for n, e in enumerate(entries, 1):
        args = (e.prev_hash, e.at, e.actor_staff_id, e.actor_label, e.action, e.case_id, e.detail)
        if e.prev_hash != prev:
            return RekeyResult(False, plain, keyed, prev, f"entry {e.id} does not follow entry {last_id}", e.id)
        if not keyed and e.hash == plain_hash(*args):
            plain += 1
        elif hmac.compare_digest(e.hash, entry_hash(key, *args)):
            keyed += 1
        else:
            return RekeyResult(False, plain, keyed, prev, f"entry {e.id} matches neither the old plain chain"
                               + (" (it follows keyed entries)" if keyed else "") + " nor the audit key", e.id)
        prev, last_id = e.hash, e.id
        if against is not None and n == against.count:
            anchor_hash = e.hash
    if against is not None and (len(entries) < against.count or (
            against.count and (anchor_hash is None or not anchor_hash.startswith(against.head)))):
        return RekeyResult(False, plain, keyed, prev, f"the trail does not reach the anchor {against}: "
                                                      "it was rewritten or truncated")
    if apply and plain:
        chained = GENESIS
        for e in entries:
            e.prev_hash = chained
            e.hash = chained = entry_hash(key, chained, e.at, e.actor_staff_id, e.actor_label, e.action, e.case_id,
                                          e.detail)
        await session.flush()
    return RekeyResult(True, plain, keyed, prev)
