"""What the clock does every minute: reminders before a deadline (never after), escalation
(督办) once it has passed, once per interval and level. Who is reminded and escalated to comes
from the deadline policy; what a deadline is about comes from its subject."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.access import without_conflicts
from handlers.events import Button, Reply
from handlers.i18n import N_, Gettext
from handlers.identity import sender_key
from handlers.policy import Kind
from handlers.uow import UnitOfWork
from handlers.workdays import add_working_days, subtract_working_days
from storage import audit
from storage.models import (
    Assignment,
    AssignmentMember,
    BindThrottle,
    Case,
    ChatIdentity,
    ConversationState,
    Deadline,
    Escalation,
    Office,
    Role,
    Staff,
    StaffRole,
)

KIND_WORDS = {
    "accept": N_("accept or forward"),
    "acknowledge": N_("acknowledge the assignment (签收)"),
    "dispose": N_("record a disposal"),
    "feedback_acceptance": N_("tell the named reporter of acceptance"),
    "feedback_result": N_("tell the named reporter the result"),
    "campaign_task": N_("finish the campaign task"),
    "campaign_ack": N_("acknowledge the campaign notice (签收)"),
}


@dataclass
class TickResult:
    reminders: int = 0
    escalations: int = 0


async def team_lead(session: AsyncSession, case_id: int) -> list[int]:
    rows = await session.scalars(select(AssignmentMember.staff_id).join(Assignment, Assignment.id == AssignmentMember.assignment_id)
                                 .where(Assignment.case_id == case_id, Assignment.status == "confirmed", AssignmentMember.left_at.is_(None),
                                        AssignmentMember.role == "lead"))
    return list(rows)


async def group_leads(session: AsyncSession, case: Case) -> list[int]:
    if case.joint_group_id is None:
        return await supervisors(session)
    # Conflicts are not filtered here: every notice is filtered, for every recipient, when it is queued.
    return list((await session.scalars(select(Staff.id).join(Office, Office.id == Staff.office_id).join(
        StaffRole, StaffRole.staff_id == Staff.id).where(Office.joint_group_id == case.joint_group_id,
                                                         StaffRole.role == Role.lead.value, Staff.active.is_(True))
        .order_by(Staff.id))).all())


async def with_role(session: AsyncSession, role: Role) -> list[int]:
    return sorted(set((await session.scalars(select(StaffRole.staff_id).join(Staff, Staff.id == StaffRole.staff_id).where(
        StaffRole.role == role.value, Staff.active.is_(True)))).all()))


async def supervisors(session: AsyncSession) -> list[int]:
    return await with_role(session, Role.supervisor)


WHO_WORDS = {
    "member": N_("the team member"),
    "lead": N_("the team lead"),
    "group_lead": N_("the joint group's leads"),
    "supervisor": N_("the supervisors"),
    "admin": N_("the administrators"),
}
# Past the top of a kind's ladder an escalation still reaches someone without a conflict.
LADDER_TOP = ("supervisor", "admin")


@dataclass
class Target:
    """What a deadline is about, as the clock needs it: a reference to name, a case to log
    against (if any), and who each recipient name in the policy stands for."""

    reference: str
    case: Case | None
    recipients: Callable[[str], Awaitable[list[int]]]
    # How a subject that is not a case words its reminder and its escalation: (gettext, what is
    # due, when, overdue?) → the reply. None: the case wording below.
    words: Callable[[Gettext, str, str, bool], Reply] | None = None


async def _case_target(session: AsyncSession, d: Deadline) -> Target | None:
    case = await session.get(Case, d.case_id) if d.case_id is not None else None
    if case is None or case.suspended_at is not None:
        return None  # unknown, or suspended (中止): its clock stands still until it is resumed

    async def recipients(who: str) -> list[int]:
        if who == "member":
            m = await session.get(AssignmentMember, d.member_id) if d.member_id is not None else None
            return [m.staff_id] if m else []
        if who == "supervisor":
            return await supervisors(session)
        if who == "group_lead":
            return await group_leads(session, case)
        return await team_lead(session, case.id) or await group_leads(session, case)  # "lead"

    return Target(case.reference, case, recipients)


async def _task_target(session: AsyncSession, d: Deadline) -> Target | None:
    from handlers.campaigns.reminders import task_target  # imported here: it builds on this module

    return await task_target(session, d)


async def _campaign_member_target(session: AsyncSession, d: Deadline) -> Target | None:
    from handlers.campaigns.reminders import member_target  # imported here: it builds on this module

    return await member_target(session, d)


# Subject → how to find its target. A feature with deadlines of its own adds its subject here.
SUBJECTS: dict[str, Callable[[AsyncSession, Deadline], Awaitable[Target | None]]] = {
    "case": _case_target,
    "member": _case_target,
    "task": _task_target,
    "campaign_member": _campaign_member_target,
}


async def purge_bind_throttles(session: AsyncSession, now: datetime, window: timedelta) -> None:
    """Invite-code tries whose window is over count for nothing any more: a chat's row (its keyed
    hash and the moment it tried) goes instead of lasting for ever."""
    await session.execute(delete(BindThrottle).where(BindThrottle.window_start <= now - window))


# On channels that show buttons as numbered text, the last menu shown to a chat is kept (a state
# row with no conversation) so that "1" chooses from it. For a chat outside the staff it is kept
# this long: after a submission that row (the receipt's menu) would otherwise tie the chat's keyed
# hash to the moment it submitted, for as long as the chat stays silent. Staff chats keep theirs
# (a pushed notice is answered hours later; their identity is no secret).
MENU_KEEP = timedelta(minutes=30)


async def purge_outsider_menus(session: AsyncSession, salt: bytes, now: datetime) -> None:
    keys = (await session.scalars(select(ConversationState.key).where(
        ConversationState.conversation.is_(None), ConversationState.updated_at <= now - MENU_KEEP))).all()
    if not keys:
        return
    staff = {sender_key(salt, channel, external_id) for channel, external_id in
             (await session.execute(select(ChatIdentity.channel, ChatIdentity.external_id))).all()}
    gone = [k for k in keys if k not in staff]
    if gone:
        await session.execute(delete(ConversationState).where(ConversationState.key.in_(gone)))


async def tick(uow: UnitOfWork) -> TickResult:
    now = uow.now()
    result = TickResult()
    await purge_bind_throttles(uow.session, now, timedelta(minutes=uow.config.bind_window_minutes))
    await purge_outsider_menus(uow.session, uow.config.salt, now)
    open_deadlines = (await uow.session.scalars(select(Deadline).where(
        Deadline.met_at.is_(None), Deadline.cancelled_at.is_(None)).order_by(Deadline.due_at))).all()
    for d in open_deadlines:
        rule = uow.policy.kind(d.kind)
        find = SUBJECTS.get(d.subject)
        target = await find(uow.session, d) if find else None
        if rule is None or target is None:
            continue
        if now < d.due_at:
            result.reminders += await _remind(uow, d, target, rule, now)
        else:
            result.escalations += await _escalate(uow, d, target, rule, now)
    return result


REMIND_AT = time(9, 0)  # reminders go out at the start of the working day


def reminder_time(due: datetime, n: int, uow: UnitOfWork) -> datetime:
    """09:00 local on the n-th working day before the deadline's day (n = 0: that day)."""
    tz = uow.policy.tz
    day = subtract_working_days(due, n, tz, uow.policy.calendar).astimezone(tz).date()
    return datetime.combine(day, REMIND_AT, tzinfo=tz).astimezone(UTC)


def _what(_: Gettext, d: Deadline, rule: Kind) -> str:
    return _(KIND_WORDS[d.kind]) if d.kind in KIND_WORDS else rule.description or d.kind


async def _remind(uow: UnitOfWork, d: Deadline, target: Target, rule: Kind, now: datetime) -> int:
    # Reminder n is due at `remind_before[n]` working days before the deadline, and only before it.
    offsets = sorted(set(rule.remind_before), reverse=True)
    due_count = sum(1 for n in offsets if reminder_time(d.due_at, n, uow) <= now)
    if due_count <= d.reminders_sent:
        return 0
    d.reminders_sent = due_count
    ref, when = target.reference, d.due_at.astimezone(uow.policy.tz).strftime("%Y-%m-%d %H:%M")
    member_id = d.member_id if d.subject == "member" else None

    def render(_: Gettext) -> Reply:
        if target.words is not None:
            return target.words(_, _what(_, d, rule), when, False)
        text = _("Reminder: case {ref} — {what} by {when}.").format(ref=ref, what=_what(_, d, rule), when=when)
        buttons = [[Button(label=_("✔ Acknowledge (签收)"), data=f"a:ack:{member_id}")]] if member_id else []
        return Reply(text=text, buttons=buttons)

    for sid in await without_conflicts(uow.session, uow.sealer, target.case, await target.recipients(rule.remind)):
        await uow.outbox.to_staff(sid, render, about=target.case, kind="reminder", dedupe_key=f"remind:{d.id}:{due_count}")
    return 1


async def _who(uow: UnitOfWork, target: Target, who: str) -> list[int]:
    if who == "admin":
        return await with_role(uow.session, Role.admin)
    return await target.recipients(who)


async def _ladder(uow: UnitOfWork, target: Target, rule: Kind, level: int) -> tuple[str, list[int], list[str]]:
    """Who an escalation at ``level`` goes to: the policy's level, or, when everyone there has a
    conflict with the case, the next level up (then the supervisors, then the administrators).
    Returns the level used, its recipients and the levels passed over because of conflicts."""
    ladder = list(rule.escalate_to[min(level, len(rule.escalate_to) - 1):])
    ladder += [w for w in LADDER_TOP if w not in ladder]
    passed: list[str] = []
    for who in ladder:
        everyone = await _who(uow, target, who)
        allowed = await without_conflicts(uow.session, uow.sealer, target.case, everyone)
        if allowed:
            return who, allowed, passed
        if everyone:
            passed.append(who)
    return ladder[0], [], passed


async def _escalate(uow: UnitOfWork, d: Deadline, target: Target, rule: Kind, now: datetime) -> int:
    if d.last_escalated_at is not None and now < add_working_days(d.last_escalated_at, rule.escalate_every - 1,
                                                                  uow.policy.tz, uow.policy.calendar):
        return 0  # once per interval
    level = d.escalation_level
    to, recipients, passed = await _ladder(uow, target, rule, level)
    d.escalation_level = level + 1
    d.last_escalated_at = now
    case_id = target.case.id if target.case else None
    uow.session.add(Escalation(case_id=case_id, deadline_id=d.id, level=level + 1, reason=f"{d.kind} overdue", at=now))
    await audit.append(uow.session, key=uow.config.audit_mac_key, at=now, action="escalate", actor_label="clock", case_id=case_id,
                       detail={"kind": d.kind, "level": level + 1, "to": to, "passed_over": passed,
                               "delivered": len(recipients)})
    ref, when = target.reference, d.due_at.astimezone(uow.policy.tz).strftime("%Y-%m-%d %H:%M")

    def render(_: Gettext) -> Reply:
        if target.words is not None:
            return target.words(_, _what(_, d, rule), when, True)
        return Reply(text=_("Overdue (督办): case {ref} — {what} was due {when}. Open it with /case {ref}.").format(
            ref=ref, what=_what(_, d, rule), when=when))

    for sid in recipients:
        await uow.outbox.to_staff(sid, render, about=target.case, kind="escalation", dedupe_key=f"escalate:{d.id}:{level + 1}")
    if passed:
        def moved(_: Gettext) -> Reply:
            return Reply(text=_("Escalation (督办) of case {ref} went past {passed} to {to}: everyone there has a "
                                "conflict with the case.").format(
                ref=ref, passed="、".join(_(WHO_WORDS.get(w, w)) for w in passed), to=_(WHO_WORDS.get(to, to))))

        for sid in await without_conflicts(uow.session, uow.sealer, target.case, await with_role(uow.session, Role.admin)):
            await uow.outbox.to_staff(sid, moved, about=target.case, kind="escalation_moved", dedupe_key=f"escalate-moved:{d.id}:{level + 1}")
    return 1
