"""Case use cases, in no channel's terms. Each one checks the access policy, changes the case
through the lifecycle, appends to the audit trail, and queues notices, all in the caller's
transaction."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.access import Action, decide, facts, unit_reasons, without_conflicts
from handlers.cases import joint_units, routing
from handlers.events import Button, Reply
from handlers.i18n import N_, Gettext
from handlers.lifecycle import ALLOWED, IllegalTransition, open_case, record_transition
from handlers.schedule.deadlines import open_member_deadlines
from handlers.uow import UnitOfWork
from storage import audit
from storage.models import (
    Assignment,
    AssignmentMember,
    Case,
    CaseNote,
    CaseSource,
    CaseState,
    CaseUnit,
    Deadline,
    Disposal,
    Escalation,
    MemberRole,
    Office,
    Role,
    Staff,
    StaffRole,
    Tip,
    TipQuestion,
    Unit,
)

CONFLICT_WORDS = {
    "stationed": N_("their office is stationed at the unit concerned"),
    "declared_unit": N_("declared relationship with the unit"),
    "declared_person": N_("declared relationship with a person named in the report"),
    "home_region": N_("home region is the region concerned (cross inspection)"),
    "rotation": N_("handled a case about this unit recently (rotation)"),
    "formerly_stationed": N_("their former office was stationed at the unit concerned"),
    "declared_case": N_("declared a conflict on this case (回避)"),
    "named_in_report": N_("named in the report"),
    "supervisor": N_("supervisors are never team members"),
    "other_group": N_("from another joint group: give a reason for the loan"),
}


class Denied(Exception):
    """Not allowed — shown to the person exactly like a case that does not exist."""


class Problem(Exception):
    """A refusal with a reason the person should read (already translated by the caller)."""

    def __init__(self, code: str, **info: object) -> None:
        super().__init__(code)
        self.code, self.info = code, info


async def find_case(session: AsyncSession, reference: str) -> Case | None:
    ref = reference.strip().upper()
    return await session.scalar(select(Case).where(Case.reference == ref)) if ref else None


async def require(uow: UnitOfWork, staff: Staff, case: Case, action: Action) -> None:
    if not await decide(uow.session, uow.sealer, staff, case, action):
        raise Denied()


async def log(uow: UnitOfWork, staff: Staff | None, case: Case | None, action: str, now: datetime,
              **detail: object) -> None:
    await audit.append(uow.session, key=uow.config.audit_mac_key, at=now, action=action, actor_staff_id=staff.id if staff else None,
                       actor_label=staff.login if staff else "system", case_id=case.id if case else None,
                       detail=dict(detail))


async def transition(uow: UnitOfWork, case: Case, to: CaseState, staff: Staff | None, reason: str = "") -> None:
    now = uow.now()
    await record_transition(uow, case, to, now=now, actor_staff_id=staff.id if staff else None, reason=reason)
    await log(uow, staff, case, f"transition:{to.value}", now, reason=reason)


# -- simple transitions ----------------------------------------------------------------------


async def accept(uow: UnitOfWork, staff: Staff, case: Case) -> None:
    await require(uow, staff, case, Action.accept)
    await transition(uow, case, CaseState.accepted, staff, "accepted")


async def forward(uow: UnitOfWork, staff: Staff, case: Case, *, body: str, reason: str) -> None:
    await require(uow, staff, case, Action.accept)
    case.forwarded_to = body[:200]
    await transition(uow, case, CaseState.forwarded, staff, reason)


async def dispose(uow: UnitOfWork, staff: Staff, case: Case, disposal: Disposal) -> None:
    await require(uow, staff, case, Action.dispose)
    if case.state != CaseState.acknowledged.value:
        raise IllegalTransition(case.state, CaseState.disposed.value)
    case.disposal = disposal.value
    await transition(uow, case, CaseState.disposed, staff, disposal.value)


async def file_case(uow: UnitOfWork, staff: Staff, case: Case) -> None:
    await require(uow, staff, case, Action.dispose)
    await transition(uow, case, CaseState.filed, staff, "filed")


async def conclude(uow: UnitOfWork, staff: Staff, case: Case, people_disciplined: int) -> None:
    await require(uow, staff, case, Action.dispose)
    if people_disciplined < 0:
        raise Problem("negative")
    if CaseState.concluded not in ALLOWED.get(case.state, ()):
        raise IllegalTransition(case.state, CaseState.concluded.value)
    case.people_disciplined = people_disciplined
    await transition(uow, case, CaseState.concluded, staff, f"disciplined={people_disciplined}")


async def feedback_given(uow: UnitOfWork, staff: Staff, case: Case) -> None:
    await require(uow, staff, case, Action.dispose)
    await transition(uow, case, CaseState.feedback_given, staff, "feedback given")


def in_intake(case: Case) -> bool:
    """In the intake queue: no joint group could take it yet, and it is still open."""
    return case.joint_group_id is None and case.state not in routing.CLOSED


async def _require_unit(uow: UnitOfWork, staff: Staff, case: Case, unit: Unit) -> None:
    """Nobody may send a case to a unit they have a conflict with."""
    if await unit_reasons(uow.session, staff, {unit.id}, cross_inspection=case.cross_inspection):
        raise Denied()


async def classify(uow: UnitOfWork, staff: Staff, case: Case, unit: Unit) -> None:
    """Intake: give a unit to a case that has none yet; never a way to move a routed case."""
    await require(uow, staff, case, Action.classify)
    if not in_intake(case):
        raise Problem("not_in_intake")
    await _require_unit(uow, staff, case, unit)
    await _set_unit(uow, staff, case, unit)
    await log(uow, staff, case, "classify", uow.now(), unit=unit.code)


async def change_unit(uow: UnitOfWork, staff: Staff, case: Case, unit: Unit) -> None:
    """Move a case to another unit: only for someone with no conflict on the old unit (and every
    earlier one) and the new one. The old unit is kept, so its conflicts still apply."""
    await require(uow, staff, case, Action.change_unit)
    if case.state in routing.CLOSED:
        raise Problem("closed")
    if unit.id == case.unit_id:
        raise Problem("same_unit")
    await _require_unit(uow, staff, case, unit)
    old = await uow.session.get(Unit, case.unit_id) if case.unit_id is not None else None
    await _set_unit(uow, staff, case, unit)
    await log(uow, staff, case, "change_unit", uow.now(), **{"from": old.code if old else None, "to": unit.code})


async def _set_unit(uow: UnitOfWork, staff: Staff, case: Case, unit: Unit) -> None:
    if case.unit_id is not None and case.unit_id != unit.id:
        uow.session.add(CaseUnit(case_id=case.id, unit_id=case.unit_id, moved_by_staff_id=staff.id, at=uow.now()))
    case.unit_id, case.region_id = unit.id, None
    await routing.route(uow, case)
    await uow.session.flush()
    await log(uow, staff, case, "classify", uow.now(), unit=unit.code)


async def open_other_case(uow: UnitOfWork, staff: Staff | None, *, source: CaseSource, unit_id: int | None,
                          summary: str) -> Case:
    """A case from another source than a public report (inspection, audit, referral, own findings)."""
    now = uow.now()
    case = await open_case(uow, source=source, now=now, unit_id=unit_id, actor_staff_id=staff.id if staff else None,
                           reason="opened by staff")
    case.key_id, case.summary_enc = uow.sealer.seal_text(summary)
    await routing.route(uow, case)
    await log(uow, staff, case, "open", now, source=case.source)
    return case


# -- team ------------------------------------------------------------------------------------


async def proposal_for(uow: UnitOfWork, staff: Staff, case: Case) -> routing.Proposal:
    await require(uow, staff, case, Action.propose_team)
    proposal = await routing.propose(uow, case)
    await log(uow, staff, case, "propose_team", uow.now(), lead=proposal.lead_id,
              members=proposal.member_ids, excluded=len(proposal.exclusions), problem=proposal.problem)
    return proposal


async def check_member(uow: UnitOfWork, case: Case, staff: Staff, role: MemberRole, loan_reason: str = "") -> None:
    """Refuse anyone with a conflict (naming it), local staff in anything but a liaison role,
    supervisors in any role, and people from another joint group unless a reason for the loan
    is given."""
    if Role.supervisor in staff.roles:
        raise Problem("conflict", login=staff.login, reasons=["supervisor"])
    if role is not MemberRole.liaison and not loan_reason.strip():
        office = await uow.session.get(Office, staff.office_id) if staff.office_id else None
        if (office is None or office.joint_group_id is None or office.joint_group_id != case.joint_group_id) and \
                not await joint_units.member_of_case_unit(uow, case, staff.office_id):
            raise Problem("conflict", login=staff.login, reasons=["other_group"])
    recent = await routing.recently_handled(uow.session, case.unit_id, uow.now(), uow.config.rotation_months)
    reasons = await routing.staff_conflicts(uow.session, uow.sealer, staff, case, recent=recent)
    if reasons == ["stationed"] and role is MemberRole.liaison:
        return  # local staff may join as liaisons, with the narrower view
    if reasons:
        raise Problem("conflict", login=staff.login, reasons=reasons)


async def confirm_team(uow: UnitOfWork, staff: Staff, case: Case, *, lead_id: int, member_ids: list[int],
                       liaison_ids: Sequence[int] = (), reason: str = "",
                       proposal: dict[str, Any] | None = None, loans: dict[int, str] | None = None) -> Assignment:
    await require(uow, staff, case, Action.confirm_team)
    if CaseState.assigned not in ALLOWED.get(case.state, ()):
        raise IllegalTransition(case.state, CaseState.assigned.value)
    now, session = uow.now(), uow.session
    roles = [(lead_id, MemberRole.lead)] + [(m, MemberRole.member) for m in member_ids if m != lead_id] + [
        (m, MemberRole.liaison) for m in liaison_ids]
    for sid, role in roles:
        person = await session.get(Staff, sid)
        if person is None or not person.active:
            raise Problem("unknown_staff", id=sid)
        await check_member(uow, case, person, role, (loans or {}).get(sid, ""))
    for old in (await session.scalars(select(Assignment).where(Assignment.case_id == case.id,
                                                               Assignment.status == "confirmed"))).all():
        old.status = "replaced"
    assignment = Assignment(case_id=case.id, status="confirmed", proposal=proposal or {}, change_reason=reason,
                            confirmed_by_staff_id=staff.id, confirmed_at=now, created_at=now)
    assignment.members = [AssignmentMember(staff_id=sid, role=role.value, loan_reason=(loans or {}).get(sid, ""))
                          for sid, role in roles]
    session.add(assignment)
    await session.flush()
    await transition(uow, case, CaseState.assigned, staff, reason or "team confirmed")
    await log(uow, staff, case, "confirm_team", now, lead=lead_id, members=list(member_ids),
              liaisons=list(liaison_ids), changed=bool(reason), reason=reason,
              loans={str(k): v for k, v in (loans or {}).items()})
    await uow.emit("assignment.confirmed", case=case, assignment=assignment)
    for m in assignment.members:
        if m.staff_id == staff.id and m.role != MemberRole.liaison.value:
            # Whoever confirms a team they are on has taken it on by confirming: that is their
            # 签收 (docs/cases.md), not a notice to themselves.
            await acknowledge(uow, staff, m.id)
            continue
        await uow.outbox.to_staff(m.staff_id, await assignment_notice(uow, case, m), about=case, kind="assignment",
                                  dedupe_key=f"assign:{assignment.id}:{m.id}")
    return assignment


ROLE_WORDS = {"lead": N_("team lead"), "member": N_("team member"), "liaison": N_("liaison")}


async def assignment_notice(uow: UnitOfWork, case: Case, member: AssignmentMember) -> Callable[[Gettext], Reply]:
    """What a member is told: the case, the unit, their role, the dates from their own deadlines."""
    unit = await uow.session.get(Unit, case.unit_id) if case.unit_id else None
    own = await open_member_deadlines(uow, member.id)
    ack = own[0].due_at if own else None
    # The work deadline starts at 签收 (the policy says so): say how long, not a date that does not exist yet.
    work = uow.policy.started_by("case:acknowledged", source=case.source)
    work_days = work[0][1].working_days if work else None
    tz, fmt = uow.policy.tz, "%Y-%m-%d %H:%M"
    ref, unit_name, role, member_id = case.reference, unit.name if unit else None, member.role, member.id

    def render(_: Gettext) -> Reply:
        lines = [_("New assignment: case {ref}").format(ref=ref),
                 _("Unit concerned: {unit}").format(unit=unit_name or _("not yet known")),
                 _("Your role: {role}").format(role=_(ROLE_WORDS[role]))]
        if ack is not None:
            lines.append(_("Acknowledge by: {ack}").format(ack=ack.astimezone(tz).strftime(fmt)))
        else:
            lines.append(_("No acknowledgement is needed from you."))
        if work_days is not None:
            lines.append(_("Deadline for the work: {n} working days after the team has acknowledged").format(n=work_days))
        lines.append(_("Open it with /case {ref}.").format(ref=ref))
        buttons = [[Button(label=_("✔ Acknowledge (签收)"), data=f"a:ack:{member_id}")]] if ack is not None else []
        return Reply(text="\n".join(lines), buttons=buttons)

    return render


async def queue_pending_notices(uow: UnitOfWork, staff_id: int) -> int:
    """Queue the assignment notices a person still owes a 签收 for, for chats that have not had
    them yet (a chat linked after the team was confirmed); chats that had one are skipped by its
    dedupe key. Returns how many assignments were queued."""
    rows = (await uow.session.execute(
        select(AssignmentMember, Assignment, Case)
        .join(Assignment, Assignment.id == AssignmentMember.assignment_id)
        .join(Case, Case.id == Assignment.case_id)
        .where(AssignmentMember.staff_id == staff_id, AssignmentMember.acknowledged_at.is_(None),
               Assignment.status == "confirmed",
               # Still owed: an open deadline of this member (met by 签收, cancelled by a new team).
               select(Deadline.id).where(Deadline.member_id == AssignmentMember.id, Deadline.met_at.is_(None),
                                         Deadline.cancelled_at.is_(None)).exists())
        .order_by(Assignment.id, AssignmentMember.id))).tuples().all()
    for member, assignment, case in rows:
        await uow.outbox.to_staff(staff_id, await assignment_notice(uow, case, member), about=case, kind="assignment",
                                  dedupe_key=f"assign:{assignment.id}:{member.id}")
    return len(rows)


async def acknowledge(uow: UnitOfWork, staff: Staff, member_id: int) -> tuple[str, Case | None]:
    """Returns ("ok" | "again" | "not_yours" | "stale", case)."""
    session, now = uow.session, uow.now()
    member = await session.get(AssignmentMember, member_id)
    assignment = await session.get(Assignment, member.assignment_id) if member else None
    case = await session.get(Case, assignment.case_id) if assignment else None
    # Made up, someone else's, or about a case the person now has a conflict on: one answer, so
    # the button tells nobody what exists.
    if member is None or member.staff_id != staff.id or case is None or \
            (await facts(session, uow.sealer, staff, case)).conflict:
        return "not_yours", None
    if assignment is None or assignment.status != "confirmed":
        return "stale", case
    if member.acknowledged_at is not None:
        return "again", case
    member.acknowledged_at = now
    await log(uow, staff, case, "acknowledge", now, member=member.id)
    await uow.emit("member.acknowledged", case=case, member=member)
    members = (await session.scalars(select(AssignmentMember).where(AssignmentMember.assignment_id == assignment.id))).all()
    lead = next((m for m in members if m.role == MemberRole.lead.value), None)
    if lead is not None and lead.staff_id != staff.id and \
            await without_conflicts(session, uow.sealer, case, [lead.staff_id]):
        name, ref = staff.name, case.reference

        def render(_: Gettext) -> Reply:
            return Reply(text=_("{name} acknowledged case {ref}.").format(name=name, ref=ref))

        await uow.outbox.to_staff(lead.staff_id, render, about=case, kind="acknowledged", dedupe_key=f"acked:{member.id}")
    if all(m.acknowledged_at for m in members if m.role != MemberRole.liaison.value and m.left_at is None) and \
            case.state == CaseState.assigned.value:
        await transition(uow, case, CaseState.acknowledged, staff, "all members acknowledged")
    return "ok", case


async def escalate_no_team(uow: UnitOfWork, case: Case, reason: str) -> int:
    """Tell every supervisor that no conflict-free team can be formed."""
    now = uow.now()
    uow.session.add(Escalation(case_id=case.id, level=2, reason=reason, at=now))
    sup_ids = await without_conflicts(uow.session, uow.sealer, case, sorted(set(
        (await uow.session.scalars(select(StaffRole.staff_id).where(StaffRole.role == Role.supervisor.value))).all())))
    ref = case.reference

    def render(_: Gettext) -> Reply:
        return Reply(text=_("Escalation (督办): no conflict-free team can be formed for case {ref}. "
                            "Please decide who handles it.").format(ref=ref))

    for sid in sup_ids:
        await uow.outbox.to_staff(sid, render, about=case, kind="escalation", dedupe_key=f"noteam:{case.id}:{now.date().isoformat()}")
    await log(uow, None, case, "escalate_no_team", now, reason=reason)
    return len(sup_ids)


# -- notes and questions ---------------------------------------------------------------------


async def add_note(uow: UnitOfWork, staff: Staff, case: Case, text: str) -> None:
    await require(uow, staff, case, Action.note)
    k, blob = uow.sealer.seal_text(text)
    uow.session.add(CaseNote(case_id=case.id, staff_id=staff.id, key_id=k, body_enc=blob, at=uow.now()))
    await log(uow, staff, case, "note", uow.now())


async def ask_reporter(uow: UnitOfWork, staff: Staff, case: Case, text: str) -> TipQuestion:
    await require(uow, staff, case, Action.ask_reporter)
    if case.tip_id is None:
        raise Problem("no_reporter")
    tip = await uow.session.get(Tip, case.tip_id)
    if tip is None:
        raise Problem("no_reporter")
    now = uow.now()
    k, blob = uow.sealer.seal_text(text)
    q = TipQuestion(tip_id=tip.id, case_id=case.id, asked_by_staff_id=staff.id, key_id=k, text_enc=blob, asked_at=now)
    uow.session.add(q)
    await uow.session.flush()
    await log(uow, staff, case, "ask_reporter", now, question=q.id)

    # Named reporters get a push with no content: they read the question with their receipt.
    def render(_: Gettext) -> Reply:
        return Reply(text=_("The team handling your report has a question for you. Please send /check with your "
                            "receipt to read and answer it."))

    await uow.outbox.to_reporter(tip, render, kind="reporter_question", dedupe_key=f"question:{q.id}")
    return q


async def team_member_ids(session: AsyncSession, case_id: int, *, with_liaisons: bool = False) -> list[int]:
    rows = await session.scalars(
        select(AssignmentMember.staff_id).join(Assignment, Assignment.id == AssignmentMember.assignment_id)
        .where(Assignment.case_id == case_id, Assignment.status == "confirmed", AssignmentMember.left_at.is_(None),
               *(() if with_liaisons else (AssignmentMember.role != MemberRole.liaison.value,)))
    )
    return sorted(set(rows))


def conflict_text(_: Gettext, reasons: list[str]) -> str:
    return "；".join(_(CONFLICT_WORDS.get(r, r)) for r in reasons)
