"""Case use cases, in no channel's terms. Each one checks the access policy, changes the case
through the lifecycle, appends to the audit trail, and queues notices, all in the caller's
transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.access import Action, decide
from handlers.cases import routing
from handlers.config import Config
from handlers.events import Button, Reply
from handlers.i18n import N_, Gettext
from handlers.lifecycle import ALLOWED, IllegalTransition, emit, record_transition
from handlers.notify import notify_staff
from handlers.policy import load_policy
from handlers.workdays import add_working_days
from storage import audit
from storage.crypto import Sealer
from storage.models import (
    Assignment,
    AssignmentMember,
    Case,
    CaseNote,
    CaseState,
    Disposal,
    Escalation,
    MemberRole,
    Outbox,
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


async def require(session: AsyncSession, sealer: Sealer, staff: Staff, case: Case, action: Action) -> None:
    people = await routing.people_text(session, sealer, case)
    if not await decide(session, staff, case, action, people_text=people):
        raise Denied()


async def log(session: AsyncSession, staff: Staff | None, case: Case | None, action: str, now: datetime,
              **detail: object) -> None:
    await audit.append(session, at=now, action=action, actor_staff_id=staff.id if staff else None,
                       actor_label=staff.login if staff else "system", case_id=case.id if case else None,
                       detail=dict(detail))


async def transition(session: AsyncSession, case: Case, to: CaseState, staff: Staff | None, now: datetime,
                     reason: str = "") -> None:
    await record_transition(session, case, to, now=now, actor_staff_id=staff.id if staff else None, reason=reason)
    await log(session, staff, case, f"transition:{to.value}", now, reason=reason)


# -- simple transitions ----------------------------------------------------------------------


async def accept(session: AsyncSession, sealer: Sealer, staff: Staff, case: Case, now: datetime) -> None:
    await require(session, sealer, staff, case, Action.accept)
    await transition(session, case, CaseState.accepted, staff, now, "accepted")


async def forward(session: AsyncSession, sealer: Sealer, staff: Staff, case: Case, now: datetime, *,
                  body: str, reason: str) -> None:
    await require(session, sealer, staff, case, Action.accept)
    case.forwarded_to = body[:200]
    await transition(session, case, CaseState.forwarded, staff, now, reason)


async def dispose(session: AsyncSession, sealer: Sealer, staff: Staff, case: Case, now: datetime,
                  disposal: Disposal) -> None:
    await require(session, sealer, staff, case, Action.dispose)
    if case.state != CaseState.acknowledged.value:
        raise IllegalTransition(case.state, CaseState.disposed.value)
    case.disposal = disposal.value
    await transition(session, case, CaseState.disposed, staff, now, disposal.value)


async def file_case(session: AsyncSession, sealer: Sealer, staff: Staff, case: Case, now: datetime) -> None:
    await require(session, sealer, staff, case, Action.dispose)
    await transition(session, case, CaseState.filed, staff, now, "filed")


async def conclude(session: AsyncSession, sealer: Sealer, staff: Staff, case: Case, now: datetime,
                   people_disciplined: int) -> None:
    await require(session, sealer, staff, case, Action.dispose)
    if people_disciplined < 0:
        raise Problem("negative")
    if CaseState.concluded not in ALLOWED.get(case.state, ()):
        raise IllegalTransition(case.state, CaseState.concluded.value)
    case.people_disciplined = people_disciplined
    await transition(session, case, CaseState.concluded, staff, now, f"disciplined={people_disciplined}")


async def feedback_given(session: AsyncSession, sealer: Sealer, staff: Staff, case: Case, now: datetime) -> None:
    await require(session, sealer, staff, case, Action.dispose)
    await transition(session, case, CaseState.feedback_given, staff, now, "feedback given")


async def classify(session: AsyncSession, sealer: Sealer, staff: Staff, case: Case, unit: Unit, now: datetime) -> None:
    if not staff.roles & {Role.supervisor, Role.admin}:
        raise Denied()
    case.unit_id, case.region_id = unit.id, None
    await routing.route(session, case)
    await log(session, staff, case, "classify", now, unit=unit.code)


# -- team ------------------------------------------------------------------------------------


async def proposal_for(session: AsyncSession, sealer: Sealer, staff: Staff, case: Case, now: datetime) -> routing.Proposal:
    await require(session, sealer, staff, case, Action.propose_team)
    proposal = await routing.propose(session, sealer, case, now=now, **routing.settings_of(session))
    await log(session, staff, case, "propose_team", now, lead=proposal.lead_id, members=proposal.member_ids,
              excluded=len(proposal.exclusions), problem=proposal.problem)
    return proposal


async def check_member(session: AsyncSession, sealer: Sealer, case: Case, staff: Staff, role: MemberRole,
                       now: datetime) -> None:
    """Refuse anyone with a conflict (naming it), and local staff in anything but a liaison role."""
    people = await routing.people_text(session, sealer, case)
    cfg = session.info.get("config")
    months = cfg.rotation_months if cfg is not None else routing.ROTATION_MONTHS
    recent = await routing.recently_handled(session, case.unit_id, now, months)
    reasons = await routing.staff_conflicts(session, staff, case, people=people, recent=recent)
    if reasons == ["stationed"] and role is MemberRole.liaison:
        return  # local staff may join as liaisons, with the narrower view
    if reasons:
        raise Problem("conflict", login=staff.login, reasons=reasons)


async def confirm_team(session: AsyncSession, sealer: Sealer, config: Config, staff: Staff, case: Case, now: datetime, *,
                       lead_id: int, member_ids: list[int], liaison_ids: list[int] = (), reason: str = "",
                       proposal: dict | None = None) -> Assignment:  # type: ignore[type-arg]
    await require(session, sealer, staff, case, Action.confirm_team)
    if CaseState.assigned not in ALLOWED.get(case.state, ()):
        raise IllegalTransition(case.state, CaseState.assigned.value)
    roles = [(lead_id, MemberRole.lead)] + [(m, MemberRole.member) for m in member_ids if m != lead_id] + [
        (m, MemberRole.liaison) for m in liaison_ids]
    people = {}
    for sid, role in roles:
        person = await session.get(Staff, sid)
        if person is None or not person.active:
            raise Problem("unknown_staff", id=sid)
        await check_member(session, sealer, case, person, role, now)
        people[sid] = person
    for old in (await session.scalars(select(Assignment).where(Assignment.case_id == case.id,
                                                               Assignment.status == "confirmed"))).all():
        old.status = "replaced"
    rules = load_policy(config.policy_file).rules
    assignment = Assignment(case_id=case.id, status="confirmed", proposal=proposal or {}, change_reason=reason,
                            confirmed_by_staff_id=staff.id, confirmed_at=now, created_at=now,
                            deadline_at=add_working_days(now, rules["dispose"].working_days, config.tz))
    assignment.members = [AssignmentMember(staff_id=sid, role=role.value) for sid, role in roles]
    session.add(assignment)
    await session.flush()
    await transition(session, case, CaseState.assigned, staff, now, reason or "team confirmed")
    await log(session, staff, case, "confirm_team", now, lead=lead_id, members=list(member_ids),
              liaisons=list(liaison_ids), changed=bool(reason), reason=reason)
    await emit(session, "assignment.confirmed", case=case, assignment=assignment)
    ack_due = add_working_days(now, rules["acknowledge"].working_days, config.tz)
    unit = await session.get(Unit, case.unit_id) if case.unit_id else None
    for m in assignment.members:
        await notify_staff(session, m.staff_id, _assignment_notice(case, unit, m, assignment, ack_due, config),
                           kind="assignment", now=now, config=config, dedupe_key=f"assign:{assignment.id}:{m.id}")
    return assignment


ROLE_WORDS = {"lead": N_("team lead"), "member": N_("team member"), "liaison": N_("liaison")}


def _assignment_notice(case: Case, unit: Unit | None, member: AssignmentMember, a: Assignment, ack_due: datetime,
                       config: Config):  # type: ignore[no-untyped-def]
    def render(_: Gettext) -> Reply:
        fmt = "%Y-%m-%d %H:%M"
        text = _("New assignment: case {ref}\nUnit concerned: {unit}\nYour role: {role}\nAcknowledge by: {ack}\n"
                 "Deadline for the work: {due}\nOpen it with /case {ref}.").format(
            ref=case.reference, unit=unit.name if unit else _("not yet known"), role=_(ROLE_WORDS[member.role]),
            ack=ack_due.astimezone(config.tz).strftime(fmt),
            due=a.deadline_at.astimezone(config.tz).strftime(fmt) if a.deadline_at else "-")
        return Reply(text=text, buttons=[[Button(label=_("✔ Acknowledge (签收)"), data=f"a:ack:{member.id}")]])

    return render


async def acknowledge(session: AsyncSession, staff: Staff, member_id: int, now: datetime, config: Config) -> tuple[str, Case | None]:
    """Returns ("ok" | "again" | "not_yours" | "stale", case)."""
    member = await session.get(AssignmentMember, member_id)
    if member is None:
        return "stale", None
    assignment = await session.get(Assignment, member.assignment_id)
    case = await session.get(Case, assignment.case_id) if assignment else None
    if member.staff_id != staff.id or case is None:
        return "not_yours", None
    if assignment is None or assignment.status != "confirmed":
        return "stale", case
    if member.acknowledged_at is not None:
        return "again", case
    member.acknowledged_at = now
    await log(session, staff, case, "acknowledge", now, member=member.id)
    await emit(session, "member.acknowledged", case=case, member=member)
    members = (await session.scalars(select(AssignmentMember).where(AssignmentMember.assignment_id == assignment.id))).all()
    lead = next((m for m in members if m.role == MemberRole.lead.value), None)
    if lead is not None and lead.staff_id != staff.id:
        name = staff.name

        def render(_: Gettext) -> Reply:
            return Reply(text=_("{name} acknowledged case {ref}.").format(name=name, ref=case.reference))

        await notify_staff(session, lead.staff_id, render, kind="acknowledged", now=now, config=config,
                           dedupe_key=f"acked:{member.id}")
    if all(m.acknowledged_at for m in members if m.role != MemberRole.liaison.value) and \
            case.state == CaseState.assigned.value:
        await transition(session, case, CaseState.acknowledged, staff, now, "all members acknowledged")
    return "ok", case


async def escalate_no_team(session: AsyncSession, config: Config, case: Case, now: datetime, reason: str) -> int:
    """Tell every supervisor that no conflict-free team can be formed."""
    session.add(Escalation(case_id=case.id, level=2, reason=reason, at=now))
    sup_ids = (await session.scalars(select(StaffRole.staff_id).where(StaffRole.role == Role.supervisor.value))).all()

    def render(_: Gettext) -> Reply:
        return Reply(text=_("Escalation (督办): no conflict-free team can be formed for case {ref}. "
                            "Please decide who handles it.").format(ref=case.reference))

    for sid in sorted(set(sup_ids)):
        await notify_staff(session, sid, render, kind="escalation", now=now, config=config,
                           dedupe_key=f"noteam:{case.id}:{now.date().isoformat()}")
    await log(session, None, case, "escalate_no_team", now, reason=reason)
    return len(set(sup_ids))


# -- notes and questions ---------------------------------------------------------------------


async def add_note(session: AsyncSession, sealer: Sealer, staff: Staff, case: Case, text: str, now: datetime) -> None:
    await require(session, sealer, staff, case, Action.note)
    k, blob = sealer.seal_text(text)
    session.add(CaseNote(case_id=case.id, staff_id=staff.id, key_id=k, body_enc=blob, at=now))
    await log(session, staff, case, "note", now)


async def ask_reporter(session: AsyncSession, sealer: Sealer, config: Config, staff: Staff, case: Case, text: str,
                       now: datetime) -> TipQuestion:
    await require(session, sealer, staff, case, Action.ask_reporter)
    if case.tip_id is None:
        raise Problem("no_reporter")
    tip = await session.get(Tip, case.tip_id)
    assert tip is not None
    k, blob = sealer.seal_text(text)
    q = TipQuestion(tip_id=tip.id, case_id=case.id, asked_by_staff_id=staff.id, key_id=k, text_enc=blob, asked_at=now)
    session.add(q)
    await session.flush()
    await log(session, staff, case, "ask_reporter", now, question=q.id)
    if not tip.anonymous and tip.reporter_chat_enc:
        # Named reporters get a push with no content: they read the question with their receipt.
        channel, _sep, external_id = sealer.open_text(tip.key_id, tip.reporter_chat_enc).partition("\x1f")
        from handlers.i18n import gettext_for

        _ = gettext_for(tip.language)
        reply = Reply(text=_("The team handling your report has a question for you. Please send /check with your "
                             "receipt to read and answer it."))
        ak, ablob = sealer.seal_text(external_id)
        session.add(Outbox(channel=channel, identity_id=None, address_enc=ablob, key_id=ak, kind="reporter_question",
                           payload=reply.model_dump(mode="json"), dedupe_key=f"question:{q.id}",
                           next_attempt_at=now, created_at=now))
    return q


async def team_member_ids(session: AsyncSession, case_id: int, *, with_liaisons: bool = False) -> list[int]:
    rows = await session.scalars(
        select(AssignmentMember.staff_id).join(Assignment, Assignment.id == AssignmentMember.assignment_id)
        .where(Assignment.case_id == case_id, Assignment.status == "confirmed",
               *(() if with_liaisons else (AssignmentMember.role != MemberRole.liaison.value,)))
    )
    return sorted(set(rows))


def conflict_text(_: Gettext, reasons: list[str]) -> str:
    return "；".join(_(CONFLICT_WORDS.get(r, r)) for r in reasons)

