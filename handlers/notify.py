"""Notices to staff go through the outbox, in the same transaction as the change that
caused them. Notices carry references and counts, never tip content."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.config import Config
from handlers.events import Reply
from handlers.i18n import Gettext, gettext_for
from storage.models import ChatIdentity, Outbox, Staff


async def notify_staff(
    session: AsyncSession,
    staff_id: int,
    render: Callable[[Gettext], Reply],
    *,
    kind: str,
    now: datetime,
    config: Config | None,
    dedupe_key: str | None = None,
    not_before: datetime | None = None,
) -> list[Outbox]:
    """Queue ``render(_)`` for every chat the staff member is bound to, in their language.

    ``dedupe_key`` makes the notice idempotent: queuing it again for the same chat is a no-op.
    """
    staff = await session.get(Staff, staff_id)
    if staff is None or not staff.active:
        return []
    _ = gettext_for(staff.language or (config.default_language if config else "zh_CN"))
    reply = render(_)
    idents = (
        await session.scalars(
            select(ChatIdentity).where(ChatIdentity.staff_id == staff_id, ChatIdentity.blocked_at.is_(None))
        )
    ).all()
    rows = []
    for ident in idents:
        key = f"{dedupe_key}:{ident.id}" if dedupe_key else None
        if key and await session.scalar(select(Outbox.id).where(Outbox.dedupe_key == key)):
            continue
        row = Outbox(
            channel=ident.channel,
            identity_id=ident.id,
            kind=kind,
            payload=reply.model_dump(mode="json"),
            dedupe_key=key,
            next_attempt_at=not_before or now,
            created_at=now,
        )
        session.add(row)
        rows.append(row)
    await session.flush()
    return rows
