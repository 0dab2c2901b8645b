"""One unit of work: the session (one transaction), and the settings, sealer, clock, deadline
policy, event bus and outbox that services need inside it, passed explicitly.

A service or lifecycle listener takes a ``UnitOfWork`` and nothing else of the world; a
missing dependency fails here, at construction, never silently at use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.access import About, may_hear
from handlers.bus import Bus
from handlers.clock import Clock
from handlers.config import Config
from handlers.events import Reply
from handlers.i18n import Gettext, gettext_for
from handlers.policy import DeadlinePolicy
from storage import audit
from storage.crypto import Sealer
from storage.models import Case, ChatIdentity, Outbox, Staff, Tip


class MissingDependency(TypeError):
    pass


@dataclass(frozen=True)
class ChatAddress:
    """Where a named (实名) reporter can be reached: kept sealed with the tip, never for anonymous ones."""

    channel: str
    external_id: str
    SEP = "\x1f"

    def pack(self) -> str:
        return f"{self.channel}{self.SEP}{self.external_id}"

    @classmethod
    def parse(cls, packed: str) -> ChatAddress:
        channel, sep, external_id = packed.partition(cls.SEP)
        if not sep or not channel or not external_id:
            raise ValueError("not a chat address")
        return cls(channel, external_id)


Render = Callable[[Gettext], Reply]


@dataclass
class OutboxWriter:
    """Queues notices in the unit of work's transaction; the delivery worker sends them."""

    session: AsyncSession
    sealer: Sealer
    clock: Clock
    default_language: str

    async def to_staff(self, staff_id: int, render: Render, *, about: About, kind: str,
                       dedupe_key: str | None = None, not_before: datetime | None = None) -> list[Outbox]:
        """``render(_)`` for every chat the staff member is bound to, in their language.
        ``about`` is what the notice concerns: nothing is queued for a person with a conflict on it.
        ``dedupe_key`` makes it idempotent: queuing it again for the same chat is a no-op."""
        return await notify_staff(self.session, staff_id, render, about=about, sealer=self.sealer, kind=kind,
                                  now=self.clock.now(), default_language=self.default_language,
                                  dedupe_key=dedupe_key, not_before=not_before)

    async def to_reporter(self, tip: Tip, render: Render, *, kind: str, dedupe_key: str) -> Outbox | None:
        """A push to a named reporter who left a chat address; anonymous reporters are never pushed."""
        if tip.anonymous or tip.reporter_chat_enc is None:
            return None
        address = ChatAddress.parse(self.sealer.open_text(tip.key_id, tip.reporter_chat_enc))
        if await self.session.scalar(select(Outbox.id).where(Outbox.dedupe_key == dedupe_key)):
            return None
        now = self.clock.now()
        k, blob = self.sealer.seal_text(address.external_id)
        row = Outbox(channel=address.channel, identity_id=None, address_enc=blob, key_id=k, kind=kind,
                     payload=render(gettext_for(tip.language)).model_dump(mode="json"), dedupe_key=dedupe_key,
                     next_attempt_at=now, created_at=now)
        self.session.add(row)
        return row


async def notify_staff(session: AsyncSession, staff_id: int, render: Render, *, about: About,
                       sealer: Sealer | None, kind: str, now: datetime, default_language: str,
                       dedupe_key: str | None = None, not_before: datetime | None = None) -> list[Outbox]:
    """Every notice to staff passes here, so the need-to-know rule is kept in one place: a person
    with a conflict on what the notice is ``about`` gets nothing (as if the case did not exist)."""
    staff = await session.get(Staff, staff_id)
    if staff is None or not staff.active:
        return []
    if about is not None:
        if sealer is None:
            raise MissingDependency("notify_staff needs the sealer to check a notice about a case")
        if not await may_hear(session, sealer, staff, about):
            return []
    reply = render(gettext_for(staff.language or default_language))
    idents = (await session.scalars(
        select(ChatIdentity).where(ChatIdentity.staff_id == staff_id, ChatIdentity.blocked_at.is_(None))
    )).all()
    rows = []
    for ident in idents:
        key = f"{dedupe_key}:{ident.id}" if dedupe_key else None
        if key and await session.scalar(select(Outbox.id).where(Outbox.dedupe_key == key)):
            continue
        row = Outbox(channel=ident.channel, identity_id=ident.id, kind=kind, payload=reply.model_dump(mode="json"),
                     case_id=about.id if isinstance(about, Case) else None, dedupe_key=key, next_attempt_at=not_before or now, created_at=now)
        session.add(row)
        rows.append(row)
    await session.flush()
    return rows


@dataclass
class UnitOfWork:
    session: AsyncSession
    config: Config
    sealer: Sealer
    clock: Clock
    bus: Bus
    policy: DeadlinePolicy
    outbox: OutboxWriter = field(init=False)

    def __post_init__(self) -> None:
        for f in fields(self):
            if f.init and getattr(self, f.name) is None:
                raise MissingDependency(f"UnitOfWork.{f.name} is required")
        self.outbox = OutboxWriter(self.session, self.sealer, self.clock, self.config.default_language)

    def now(self) -> datetime:
        return self.clock.now()

    async def emit(self, event: str, **payload: Any) -> None:
        await self.bus.emit(self, event, **payload)

    async def audit(self, staff: Staff | None, action: str, *, case_id: int | None = None, **detail: object) -> None:
        """Append to the keyed audit chain in this transaction. ``detail`` holds ids, counts and
        what was asked for, never what a tip says."""
        await audit.append(self.session, key=self.config.audit_mac_key, at=self.now(), action=action,
                           actor_staff_id=staff.id if staff else None, actor_label=staff.login if staff else "system",
                           case_id=case_id, detail=dict(detail))
