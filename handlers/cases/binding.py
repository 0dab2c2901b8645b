"""Binding chat identities to staff: one-time invite codes, /bind, /unbind, admin revocation and
deactivation.

A person has at most one outstanding code: a new code supersedes the older ones, revocation and
deactivation destroy them. Redemption is one conditional UPDATE, so two chats racing with one code
cannot both bind. Tries are throttled per chat (atomically, before the code is looked at) and, once
many wrong codes arrive from everywhere, every chat gets a single try per window (docs/cases.md).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Table, delete, literal, select, update
from sqlalchemy import case as sql_case
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.access import Action, decide
from handlers.cases import routing
from handlers.config import Config
from handlers.events import Button, Reply
from handlers.i18n import N_, Gettext
from handlers.identity import sender_key
from handlers.uow import Render, UnitOfWork
from storage.models import (
    Assignment,
    AssignmentMember,
    BindThrottle,
    Case,
    ChatIdentity,
    MemberRole,
    Role,
    Staff,
    StaffInvite,
    StaffRole,
)

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed on phones
CODE_LENGTH = 10
GLOBAL_KEY = "*"


def _hash(code: str, salt: bytes) -> str:
    return hmac.new(salt, code.encode(), hashlib.sha256).hexdigest()


def normalize_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isascii() and ch.isalnum())


async def find_staff(session: AsyncSession, login: str) -> Staff | None:
    staff: Staff | None = await session.scalar(select(Staff).where(Staff.login == login))
    return staff


_staff = find_staff


async def invite(session: AsyncSession, login: str, *, now: datetime, ttl: timedelta, salt: bytes) -> str | None:
    """A new one-time code for an active staff member; any code issued before stops working."""
    staff = await _staff(session, login)
    if staff is None or not staff.active:
        return None
    await _drop_outstanding(session, staff.id)
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    session.add(StaffInvite(staff_id=staff.id, code_hash=_hash(code, salt), created_at=now, expires_at=now + ttl))
    await session.flush()
    return f"{code[:5]}-{code[5:]}"


async def _drop_outstanding(session: AsyncSession, staff_id: int) -> None:
    # Used codes stay as history; unused ones are destroyed.
    await session.execute(delete(StaffInvite).where(StaffInvite.staff_id == staff_id, StaffInvite.used_at.is_(None)))


# -- throttling -------------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    per_chat: int
    global_failures: int
    window: timedelta

    @classmethod
    def of(cls, config: Config) -> Limits:
        return cls(config.bind_tries_per_chat, config.bind_failures_global,
                   timedelta(minutes=config.bind_window_minutes))


async def _count(session: AsyncSession, key: str, now: datetime, window: timedelta) -> tuple[int, datetime]:
    """Add one to a throttle row in one statement (a new window starts when the old one is over);
    returns the count and the window's start. Atomic, so simultaneous tries are all counted."""
    t = BindThrottle.__table__
    assert isinstance(t, Table)
    stale = t.c.window_start <= now - window
    bind = session.get_bind()
    insert = postgresql.insert if bind.dialect.name == "postgresql" else sqlite.insert
    ins = insert(t).values(key=key, window_start=now, tries=1)
    stmt = ins.on_conflict_do_update(index_elements=[t.c.key], set_={
        "tries": sql_case((stale, 1), else_=t.c.tries + 1),
        "window_start": sql_case((stale, literal(now, t.c.window_start.type)), else_=t.c.window_start),
    }).returning(t.c.tries, t.c.window_start)
    row = (await session.execute(stmt)).one()
    return int(row[0]), row[1]


async def _global_busy(session: AsyncSession, now: datetime, limits: Limits) -> bool:
    row = (await session.execute(select(BindThrottle.tries, BindThrottle.window_start)
                                 .where(BindThrottle.key == GLOBAL_KEY))).first()
    return row is not None and row[1] > now - limits.window and row[0] >= limits.global_failures


# -- redemption ---------------------------------------------------------------------------


@dataclass
class Redeemed:
    result: str  # ok | invalid | expired | used | bound_other | throttled
    staff: Staff | None = None
    retry_at: datetime | None = None


async def redeem(session: AsyncSession, code: str, *, channel: str, external_id: str, now: datetime,
                 salt: bytes, limits: Limits) -> Redeemed:
    chat_key = sender_key(salt, channel, external_id, purpose="bind-throttle")
    tries, started = await _count(session, chat_key, now, limits.window)
    allowed = 1 if await _global_busy(session, now, limits) else limits.per_chat
    if tries > allowed:
        return Redeemed("throttled", retry_at=started + limits.window)
    outcome = await _redeem(session, normalize_code(code), channel=channel, external_id=external_id, now=now,
                            salt=salt)
    if outcome.result == "ok":
        await session.execute(delete(BindThrottle).where(BindThrottle.key == chat_key))
    elif outcome.result in ("invalid", "expired", "used"):
        await _count(session, GLOBAL_KEY, now, limits.window)
    return outcome


async def _redeem(session: AsyncSession, code: str, *, channel: str, external_id: str, now: datetime,
                  salt: bytes) -> Redeemed:
    inv = await session.scalar(select(StaffInvite).where(StaffInvite.code_hash == _hash(code, salt)))
    if inv is None:
        return Redeemed("invalid")
    if inv.used_at is not None:
        return Redeemed("used")
    if inv.expires_at <= now:
        return Redeemed("expired")
    staff = await session.get(Staff, inv.staff_id)
    if staff is None or not staff.active:
        return Redeemed("invalid")
    existing = await session.scalar(select(ChatIdentity).where(ChatIdentity.channel == channel,
                                                               ChatIdentity.external_id == external_id))
    if existing is not None and existing.staff_id != inv.staff_id and existing.blocked_at is None:
        return Redeemed("bound_other")
    # The one step that consumes the code: whoever updates the row first wins, the other sees 0 rows
    # (PostgreSQL re-checks the condition after waiting for the winner's lock; SQLite serialises writers).
    won = await session.execute(
        update(StaffInvite).where(StaffInvite.id == inv.id, StaffInvite.used_at.is_(None),
                                  StaffInvite.expires_at > now)
        .values(used_at=now).execution_options(synchronize_session=False))
    if won.rowcount != 1:  # type: ignore[attr-defined]  # CursorResult for an UPDATE
        return Redeemed("used")
    if existing is None:
        session.add(ChatIdentity(staff_id=inv.staff_id, channel=channel, external_id=external_id, bound_at=now))
    else:
        existing.staff_id, existing.blocked_at, existing.bound_at = inv.staff_id, None, now
    await session.flush()
    return Redeemed("ok", staff)


async def bindings(session: AsyncSession) -> list[tuple[ChatIdentity, Staff]]:
    rows = await session.execute(select(ChatIdentity, Staff).join(Staff, Staff.id == ChatIdentity.staff_id)
                                 .order_by(Staff.login, ChatIdentity.channel))
    return [(i, s) for i, s in rows]


async def revoke(session: AsyncSession, login: str, channel: str | None = None) -> int:
    """Unlink a staff member's chats (on one channel, or all of them, which also destroys their
    outstanding invite code: a code issued before the revocation must not bind after it)."""
    staff = await _staff(session, login)
    if staff is None:
        return 0
    if channel is None:
        await _drop_outstanding(session, staff.id)
    q = select(ChatIdentity).where(ChatIdentity.staff_id == staff.id)
    if channel:
        q = q.where(ChatIdentity.channel == channel)
    idents = (await session.scalars(q)).all()
    for i in idents:
        await session.delete(i)
    await session.flush()
    return len(idents)


# -- deactivation -------------------------------------------------------------------------


@dataclass
class Deactivation:
    staff: Staff
    chats: int
    open_cases: list[Case] = field(default_factory=list)
    told: int = 0


DEACTIVATED_NOTICE = N_("{name} has been deactivated and no longer works on case {ref}. "
                        "Please choose a replacement for the team.")


async def deactivate(uow: UnitOfWork, login: str) -> Deactivation | None:
    """Stop a staff member at once: chats blocked (kept as history), codes destroyed; the lead of each
    open case they work on and the supervisors who may see it are told it needs a replacement."""
    session, now = uow.session, uow.now()
    staff = await _staff(session, login)
    if staff is None:
        return None
    staff.active = False
    await _drop_outstanding(session, staff.id)
    idents = (await session.scalars(select(ChatIdentity).where(ChatIdentity.staff_id == staff.id,
                                                               ChatIdentity.blocked_at.is_(None)))).all()
    for ident in idents:
        ident.blocked_at = now
    cases = list((await session.scalars(
        select(Case).join(Assignment, Assignment.case_id == Case.id)
        .join(AssignmentMember, AssignmentMember.assignment_id == Assignment.id)
        .where(Assignment.status == "confirmed", AssignmentMember.staff_id == staff.id,
               Case.state.not_in(routing.CLOSED)).order_by(Case.id).distinct())).all())
    out = Deactivation(staff, len(idents), cases)
    supervisors = (await session.scalars(
        select(Staff).join(StaffRole, StaffRole.staff_id == Staff.id)
        .where(StaffRole.role == Role.supervisor.value, Staff.active.is_(True)).order_by(Staff.id))).all()
    for case in cases:
        leads = (await session.scalars(
            select(Staff).join(AssignmentMember, AssignmentMember.staff_id == Staff.id)
            .join(Assignment, Assignment.id == AssignmentMember.assignment_id)
            .where(Assignment.case_id == case.id, Assignment.status == "confirmed",
                   AssignmentMember.role == MemberRole.lead.value, Staff.active.is_(True)))).all()
        for person in {p.id: p for p in [*leads, *supervisors]}.values():
            if not await decide(session, uow.sealer, person, case, Action.view):
                continue  # need-to-know: a conflicted person is never told the reference
            rows = await uow.outbox.to_staff(person.id, _notice(staff.name, case), about=case, kind="deactivated",
                                             dedupe_key=f"deactivated:{staff.id}:{case.id}:{person.id}:{now:%Y%m%d%H%M}")
            out.told += bool(rows)
    await session.flush()
    return out


def _notice(name: str, case: Case) -> Render:
    ref, cid = case.reference, case.id

    def render(_: Gettext) -> Reply:
        return Reply(text=_(DEACTIVATED_NOTICE).format(name=name, ref=ref),
                     buttons=[[Button(label=ref, data=f"a:case:{cid}.view")]])

    return render


async def reactivate(session: AsyncSession, login: str) -> Staff | None:
    """Active again; their chats stay blocked until they bind with a new code."""
    staff = await _staff(session, login)
    if staff is None:
        return None
    staff.active = True
    return staff
