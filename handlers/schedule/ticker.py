"""What the clock does every minute: reminders before a deadline (never after), escalation
(督办) once it has passed, once per interval and level."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timezone

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.access import conflict_reasons
from handlers.config import Config
from handlers.events import Button, Reply
from handlers.i18n import N_, Gettext
from handlers.notify import notify_staff
from handlers.policy import Rule, load_policy
from handlers.workdays import add_working_days, subtract_working_days
from storage import audit
from storage.models import (
    Assignment,
    AssignmentMember,
    Case,
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
}


@dataclass
class TickResult:
    reminders: int = 0
    escalations: int = 0


async def team_lead(session: AsyncSession, case_id: int) -> list[int]:
    rows = await session.scalars(select(AssignmentMember.staff_id).join(Assignment, Assignment.id == AssignmentMember.assignment_id)
                                 .where(Assignment.case_id == case_id, Assignment.status == "confirmed",
                                        AssignmentMember.role == "lead"))
    return list(rows)


async def group_leads(session: AsyncSession, case: Case) -> list[int]:
    if case.joint_group_id is None:
        return await supervisors(session)
    leads = (await session.scalars(select(Staff).join(Office, Office.id == Staff.office_id).join(
        StaffRole, StaffRole.staff_id == Staff.id).where(Office.joint_group_id == case.joint_group_id,
                                                         StaffRole.role == Role.lead.value, Staff.active.is_(True)))).all()
    return [s.id for s in leads if not await conflict_reasons(session, s, case)]


async def supervisors(session: AsyncSession) -> list[int]:
    return sorted(set((await session.scalars(select(StaffRole.staff_id).where(StaffRole.role == Role.supervisor.value))).all()))


async def responsible(session: AsyncSession, d: Deadline, case: Case) -> list[int]:
    """Who is reminded: the member for 签收, the team lead for team work, the group's leads before a team exists."""
    if d.member_id is not None:
        m = await session.get(AssignmentMember, d.member_id)
        return [m.staff_id] if m else []
    return await team_lead(session, case.id) or await group_leads(session, case)


async def escalation_targets(session: AsyncSession, level_name: str, case: Case) -> list[int]:
    if level_name == "supervisor":
        return await supervisors(session)
    if level_name == "group_lead":
        return await group_leads(session, case)
    return await team_lead(session, case.id) or await group_leads(session, case)


async def tick(session: AsyncSession, now: datetime, config: Config) -> TickResult:
    policy = load_policy(config.policy_file)
    result = TickResult()
    open_deadlines = (await session.scalars(select(Deadline).where(
        Deadline.met_at.is_(None), Deadline.cancelled_at.is_(None)).order_by(Deadline.due_at))).all()
    for d in open_deadlines:
        rule = policy.rules.get(d.kind)
        case = await session.get(Case, d.case_id)
        if rule is None or case is None:
            continue
        if now < d.due_at:
            result.reminders += await _remind(session, d, case, rule, now, config)
        else:
            result.escalations += await _escalate(session, d, case, rule, now, config)
    return result


REMIND_AT = time(9, 0)  # reminders go out at the start of the working day


def reminder_time(due: datetime, n: int, config: Config) -> datetime:
    """09:00 local on the n-th working day before the deadline's day (n = 0: that day)."""
    day = subtract_working_days(due, n, config.tz).astimezone(config.tz).date()
    return datetime.combine(day, REMIND_AT, tzinfo=config.tz).astimezone(timezone.utc)


async def _remind(session: AsyncSession, d: Deadline, case: Case, rule: Rule, now: datetime, config: Config) -> int:
    # Reminder n is due at `remind_before[n]` working days before the deadline, and only before it.
    offsets = sorted(set(rule.remind_before), reverse=True)
    due_count = sum(1 for n in offsets if reminder_time(d.due_at, n, config) <= now)
    if due_count <= d.reminders_sent:
        return 0
    d.reminders_sent = due_count
    ref, kind, when = case.reference, d.kind, d.due_at.astimezone(config.tz).strftime("%Y-%m-%d %H:%M")
    member_id = d.member_id

    def render(_: Gettext) -> Reply:
        text = _("Reminder: case {ref} — {what} by {when}.").format(ref=ref, what=_(KIND_WORDS.get(kind, kind)), when=when)
        buttons = [[Button(label=_("✔ Acknowledge (签收)"), data=f"a:ack:{member_id}")]] if kind == "acknowledge" and member_id else []
        return Reply(text=text, buttons=buttons)

    for sid in await responsible(session, d, case):
        await notify_staff(session, sid, render, kind="reminder", now=now, config=config,
                           dedupe_key=f"remind:{d.id}:{due_count}")
    return 1


async def _escalate(session: AsyncSession, d: Deadline, case: Case, rule: Rule, now: datetime, config: Config) -> int:
    if d.last_escalated_at is not None and now < add_working_days(d.last_escalated_at, rule.escalate_every - 1, config.tz):
        return 0  # once per interval
    level = d.escalation_level
    target = rule.escalate_to[min(level, len(rule.escalate_to) - 1)]
    d.escalation_level = level + 1
    d.last_escalated_at = now
    session.add(Escalation(case_id=case.id, deadline_id=d.id, level=level + 1, reason=f"{d.kind} overdue", at=now))
    await audit.append(session, at=now, action="escalate", actor_label="clock", case_id=case.id,
                       detail={"kind": d.kind, "level": level + 1, "to": target})
    ref, kind = case.reference, d.kind
    when = d.due_at.astimezone(config.tz).strftime("%Y-%m-%d %H:%M")

    def render(_: Gettext) -> Reply:
        return Reply(text=_("Overdue (督办): case {ref} — {what} was due {when}. Open it with /case {ref}.").format(
            ref=ref, what=_(KIND_WORDS.get(kind, kind)), when=when))

    for sid in await escalation_targets(session, target, case):
        await notify_staff(session, sid, render, kind="escalation", now=now, config=config,
                           dedupe_key=f"escalate:{d.id}:{level + 1}")
    return 1
