"""What the case view adds for extensions, suspensions, transfers and 回避: the buttons a person
may press now, and the case history (transitions, requests, transfers, people who left the team)."""

from __future__ import annotations

from sqlalchemy import select

from handlers.access import Action, Facts, allowed
from handlers.context import Context
from handlers.events import Button
from handlers.i18n import N_
from storage.models import (
    Assignment,
    AssignmentMember,
    Case,
    CaseRequest,
    CaseState,
    CaseTransfer,
    CaseTransition,
    JointGroup,
    MemberRole,
    Staff,
)

ACTIVE = (CaseState.accepted.value, CaseState.assigned.value, CaseState.acknowledged.value,
          CaseState.disposed.value, CaseState.filed.value)
TRANSFERABLE = (CaseState.received.value, CaseState.accepted.value)
REQUEST_WORDS = {"extension": N_("extension (延期)"), "suspension": N_("suspension (中止)")}
STATUS_WORDS = {"pending": N_("waiting for a supervisor"), "approved": N_("approved"), "refused": N_("refused")}


def _act(ctx: Context, label: str, case: Case, verb: str) -> Button:
    return ctx.action(label, "case", f"{case.id}.{verb}")


async def extra_rows(ctx: Context, case: Case, f: Facts) -> list[list[Button]]:
    _ = ctx._
    rows: list[list[Button]] = []
    s = ctx.session
    pending = await s.scalar(select(CaseRequest.id).where(CaseRequest.case_id == case.id,
                                                          CaseRequest.status == "pending").limit(1))
    if allowed(f, Action.dispose) and case.state in ACTIVE:
        if case.suspended_at is not None:
            rows.append([_act(ctx, _("Resume (恢复)"), case, "resume")])
        elif pending is None:
            rows.append([_act(ctx, _("Ask for more time (延期)"), case, "extend"),
                         _act(ctx, _("Suspend (中止)"), case, "suspend")])
    if pending is not None and allowed(f, Action.approve):
        rows.append([_act(ctx, _("✔ Approve"), case, "req_ok"), _act(ctx, _("✖ Refuse"), case, "req_no")])
    if case.state in TRANSFERABLE:
        if case.level == "group" and allowed(f, Action.accept) and case.joint_group_id is not None:
            rows.append([_act(ctx, _("Hand up (提级)"), case, "up")])
        if case.level == "supervisors" and allowed(f, Action.approve):
            rows.append([_act(ctx, _("Hand down (下转)"), case, "down")])
    if f.member_role in (MemberRole.member, MemberRole.lead, MemberRole.liaison) and not f.conflict and \
            case.state in ACTIVE:
        rows.append([_act(ctx, _("I need to step aside (我需要回避)"), case, "recuse")])
    if allowed(f, Action.view_content):
        rows.append([_act(ctx, _("History"), case, "history")])
    return rows


async def status_lines(ctx: Context, case: Case) -> list[str]:
    _ = ctx._
    out = []
    if case.level == "supervisors":
        out.append(_("Handled by: the supervisors (提级)"))
    if case.suspended_at is not None:
        out.append(_("Suspended (中止) since {t}; its clock stands still.").format(
            t=case.suspended_at.astimezone(ctx.config.tz).strftime("%Y-%m-%d")))
    req = await ctx.session.scalar(select(CaseRequest).where(CaseRequest.case_id == case.id,
                                                             CaseRequest.status == "pending").limit(1))
    if req is not None:
        out.append(_("Waiting for a supervisor: {what}").format(what=_(REQUEST_WORDS[req.kind])))
    return out


async def history_lines(ctx: Context, case: Case) -> list[str]:
    """Everything that happened to the case, oldest first, with who and why."""
    _ = ctx._
    s, tz = ctx.session, ctx.config.tz
    names = {sid: n for sid, n in (await s.execute(select(Staff.id, Staff.name))).all()}
    groups = {g.id: g.name_for(ctx.lang) for g in (await s.scalars(select(JointGroup))).all()}
    events: list[tuple[object, str]] = []

    def who(sid: int | None) -> str:
        return names.get(sid, "-") if sid is not None else _("the system")

    for t in (await s.scalars(select(CaseTransition).where(CaseTransition.case_id == case.id))).all():
        from handlers.cases.views import STATE_WORDS

        events.append((t.at, _("{who}: → {state} ({why})").format(
            who=who(t.actor_staff_id), state=_(STATE_WORDS.get(t.to_state, t.to_state)), why=t.reason or "-")))
    for r in (await s.scalars(select(CaseRequest).where(CaseRequest.case_id == case.id))).all():
        what = _(REQUEST_WORDS[r.kind]) + (_(" of {n} working days").format(n=r.working_days) if r.kind == "extension" else "")
        events.append((r.requested_at, _("{who} asked for an {what}: {why}").format(
            who=who(r.requested_by_staff_id), what=what, why=r.reason)))
        if r.decided_at is not None:
            events.append((r.decided_at, _("{who}: {what} {status}{why}").format(
                who=who(r.decided_by_staff_id), what=what, status=_(STATUS_WORDS[r.status]),
                why=f" ({r.decision_reason})" if r.decision_reason else "")))
        if r.resumed_at is not None:
            events.append((r.resumed_at, _("Resumed after the suspension")))
    for tr in (await s.scalars(select(CaseTransfer).where(CaseTransfer.case_id == case.id))).all():
        line = (_("{who} handed it up to the supervisors (提级): {why}") if tr.direction == "up" else
                _("{who} handed it down to {group} (下转): {why}"))
        events.append((tr.at, line.format(who=who(tr.by_staff_id), group=groups.get(tr.to_group_id or 0, "-"),
                                          why=tr.reason)))
    left = (await s.execute(select(AssignmentMember).join(Assignment, Assignment.id == AssignmentMember.assignment_id)
                            .where(Assignment.case_id == case.id, AssignmentMember.left_at.is_not(None)))).scalars().all()
    for m in left:
        events.append((m.left_at, _("{who} stepped aside (回避)").format(who=who(m.staff_id))))
    from handlers.cases.joint_units import history_events

    events += await history_events(ctx, case)
    events.sort(key=lambda e: e[0])  # type: ignore[arg-type,return-value]
    return [_("History of case {ref}:").format(ref=case.reference)] + [
        f"  {at.astimezone(tz).strftime('%Y-%m-%d %H:%M')} {text}" for at, text in events]  # type: ignore[attr-defined]
