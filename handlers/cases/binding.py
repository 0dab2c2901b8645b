"""Binding chat identities to staff: one-time invite codes, /bind, /unbind, admin revocation."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ChatIdentity, Staff, StaffInvite

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed on phones
CODE_LENGTH = 10


def _hash(code: str, salt: bytes) -> str:
    return hmac.new(salt, code.encode(), hashlib.sha256).hexdigest()


def normalize_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


async def invite(session: AsyncSession, login: str, *, now: datetime, ttl: timedelta, salt: bytes) -> str | None:
    staff = await session.scalar(select(Staff).where(Staff.login == login))
    if staff is None or not staff.active:
        return None
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    session.add(StaffInvite(staff_id=staff.id, code_hash=_hash(code, salt), created_at=now, expires_at=now + ttl))
    return f"{code[:5]}-{code[5:]}"


async def redeem(session: AsyncSession, code: str, *, channel: str, external_id: str, now: datetime,
                 salt: bytes) -> tuple[str, Staff | None]:
    """("ok" | "invalid" | "expired" | "used" | "bound_other", staff)."""
    inv = await session.scalar(select(StaffInvite).where(StaffInvite.code_hash == _hash(normalize_code(code), salt)))
    if inv is None:
        return "invalid", None
    if inv.used_at is not None:
        return "used", None
    if inv.expires_at <= now:
        return "expired", None
    existing = await session.scalar(select(ChatIdentity).where(ChatIdentity.channel == channel,
                                                               ChatIdentity.external_id == external_id))
    if existing is not None and existing.staff_id != inv.staff_id and existing.blocked_at is None:
        return "bound_other", None
    staff = await session.get(Staff, inv.staff_id)
    inv.used_at = now
    if existing is None:
        session.add(ChatIdentity(staff_id=inv.staff_id, channel=channel, external_id=external_id, bound_at=now))
    else:
        existing.staff_id, existing.blocked_at, existing.bound_at = inv.staff_id, None, now
    await session.flush()
    return "ok", staff


async def bindings(session: AsyncSession) -> list[tuple[ChatIdentity, Staff]]:
    rows = await session.execute(select(ChatIdentity, Staff).join(Staff, Staff.id == ChatIdentity.staff_id)
                                 .order_by(Staff.login, ChatIdentity.channel))
    return [(i, s) for i, s in rows]


async def revoke(session: AsyncSession, login: str, channel: str | None = None) -> int:
    staff = await session.scalar(select(Staff).where(Staff.login == login))
    if staff is None:
        return 0
    q = select(ChatIdentity).where(ChatIdentity.staff_id == staff.id)
    if channel:
        q = q.where(ChatIdentity.channel == channel)
    idents = (await session.scalars(q)).all()
    for i in idents:
        await session.delete(i)
    return len(idents)
