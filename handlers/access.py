"""The one access policy: who may see or do what on a case (role × assignment × liaison × conflict).

Handlers never check roles by hand; they ask :func:`decide`. Anyone with a conflict, or with no
role in the case, is treated exactly as if the case did not exist.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, SQLColumnExpression, and_, exists, func, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.crypto import Sealer
from storage.models import (
    Assignment,
    AssignmentMember,
    Case,
    CaseUnit,
    ConflictDeclaration,
    MemberRole,
    Office,
    Role,
    Staff,
    StaffOfficeSpell,
    Tip,
    Unit,
    conflict_in_force,
    office_units,
)
from storage.models import named as named_staff
from storage.models.named import CaseNamedStaff, CasePersonConflict


class Action(str, enum.Enum):
    view = "view"                # unit, state, deadlines
    view_content = "view_content"  # the tip's text, people, files, the reporter's answers
    accept = "accept"            # accept or forward
    propose_team = "propose_team"
    confirm_team = "confirm_team"
    acknowledge = "acknowledge"
    dispose = "dispose"          # record a disposal, file, conclude
    ask_reporter = "ask_reporter"
    note = "note"
    classify = "classify"        # intake: give a unit to a case that has none
    change_unit = "change_unit"  # move a case to another unit (checked on the old and the new unit)
    approve = "approve"          # decide an extension or suspension request, hand a case down (下转)
    reveal_reporter = "reveal_reporter"  # a named reporter's name and contact: the team lead only


@dataclass
class Facts:
    """What the decision depends on, loaded once per (staff, case)."""

    roles: set[Role]
    conflict: bool
    group_lead: bool  # a lead from an office of the case's joint group
    member_role: MemberRole | None  # role on the confirmed assignment
    reasons: list[str] = field(default_factory=list)


async def stationed_unit_ids(session: AsyncSession, office_id: int | None) -> set[int]:
    if office_id is None:
        return set()
    rows = await session.execute(select(office_units.c.unit_id).where(office_units.c.office_id == office_id))
    return {r[0] for r in rows}


async def people_text(session: AsyncSession, sealer: Sealer, case: Case) -> str | None:
    """The people named in the case's tip, opened: only for what must compare names itself
    (routing's proposal, a transfer's group check). Access checks never open it: they read the
    tables matched once (:func:`conflict_reasons`)."""
    await named_staff.settle(session, sealer)
    if case.tip_id is None:
        return None
    tip = await session.get(Tip, case.tip_id)
    if tip is None or tip.people_enc is None:
        return None
    return sealer.open_text(tip.key_id, tip.people_enc)


async def match_named(session: AsyncSession, sealer: Sealer, case: Case) -> None:
    """Who the case's report names, matched once as the case is opened (see storage.models.named)."""
    await named_staff.match_cases(session, sealer, [case.id])


async def case_unit_ids(session: AsyncSession, case: Case) -> set[int]:
    """Every unit the case is or was about: a conflict on any of them still applies."""
    earlier = set((await session.scalars(select(CaseUnit.unit_id).where(CaseUnit.case_id == case.id))).all())
    return earlier | ({case.unit_id} if case.unit_id is not None else set())


async def unit_reasons(session: AsyncSession, staff: Staff, unit_ids: set[int], *, cross_inspection: bool) -> list[str]:
    """The conflicts a person has with a set of units (stationed, declared, home region under
    cross inspection), whatever case they are about."""
    reasons = []
    if unit_ids & await stationed_unit_ids(session, staff.office_id):
        reasons.append("stationed")
    else:
        # An office transfer does not wash out having sat inside the unit (office history).
        former = set((await session.scalars(select(StaffOfficeSpell.office_id).where(
            StaffOfficeSpell.staff_id == staff.id, StaffOfficeSpell.until.is_not(None)))).all())
        for office_id in former:
            if unit_ids & await stationed_unit_ids(session, office_id):
                reasons.append("formerly_stationed")
                break
    declared = set((await session.scalars(select(ConflictDeclaration.unit_id).where(
        ConflictDeclaration.staff_id == staff.id, ConflictDeclaration.unit_id.is_not(None), conflict_in_force()))).all())
    if unit_ids & declared:
        reasons.append("declared_unit")
    if cross_inspection and staff.home_region_id is not None and unit_ids:
        regions = set((await session.scalars(select(Unit.region_id).where(Unit.id.in_(unit_ids)))).all())
        if staff.home_region_id in regions:
            reasons.append("home_region")
    return reasons


async def conflict_reasons(session: AsyncSession, sealer: Sealer, staff: Staff, case: Case) -> list[str]:
    """Codes of every reason this person may not work on the case (回避), over every unit the case
    has had. Being named in the report and a declared person named in it are read from the tables
    matched once (:func:`match_named`, storage.models.named), the same rows :func:`visible_clause`
    counts with, so the two cannot disagree; they are brought up to date first (an import added or
    renamed someone, a person declaration is new), once per transaction."""
    await named_staff.settle(session, sealer)
    units = await case_unit_ids(session, case)
    reasons = await unit_reasons(session, staff, units, cross_inspection=case.cross_inspection)
    if case.cross_inspection and case.region_id is not None and staff.home_region_id == case.region_id \
            and "home_region" not in reasons:
        reasons.append("home_region")
    if await session.scalar(select(CasePersonConflict.case_id).where(*_person_conflict(staff.id, case.id)).limit(1)):
        reasons.append("declared_person")  # matched once (storage.models.named), as visible_clause reads it
    if await session.scalar(select(CaseNamedStaff.staff_id).where(
            CaseNamedStaff.case_id == case.id, CaseNamedStaff.staff_id == staff.id).limit(1)) is not None:
        reasons.append("named_in_report")  # nobody works a report about themselves
    if await session.scalar(select(ConflictDeclaration.id).where(
            ConflictDeclaration.staff_id == staff.id, ConflictDeclaration.case_id == case.id, conflict_in_force()).limit(1)):
        reasons.append("declared_case")
    return reasons


def _person_conflict(staff_id: int, case_id: SQLColumnExpression[int] | int) -> list[ColumnElement[bool]]:
    """A declaration in force by this person whose person the case's report names."""
    return [CasePersonConflict.staff_id == staff_id, CasePersonConflict.case_id == case_id,
            exists().where(ConflictDeclaration.id == CasePersonConflict.declaration_id, conflict_in_force())]


async def facts(session: AsyncSession, sealer: Sealer, staff: Staff | None, case: Case) -> Facts:
    if staff is None:
        return Facts(set(), False, False, None)
    reasons = await conflict_reasons(session, sealer, staff, case)
    group_lead = False
    if Role.lead in staff.roles and staff.office_id is not None and case.joint_group_id is not None:
        office = await session.get(Office, staff.office_id)
        group_lead = office is not None and office.joint_group_id == case.joint_group_id
    member = await session.scalar(
        select(AssignmentMember.role)
        .join(Assignment, Assignment.id == AssignmentMember.assignment_id)
        .where(Assignment.case_id == case.id, Assignment.status == "confirmed", AssignmentMember.staff_id == staff.id,
               AssignmentMember.left_at.is_(None))
    )
    role = MemberRole(member) if member else None
    # Local staff may serve as liaisons: being stationed at the unit is then no bar to the
    # liaison's narrow view (any other conflict still is).
    conflict = bool(reasons) and not (role is MemberRole.liaison and reasons == ["stationed"])
    return Facts(staff.roles, conflict, group_lead and not reasons, role, reasons)


def allowed(f: Facts, action: Action) -> bool:
    """The policy itself: pure, so it can be tested exhaustively."""
    if f.conflict:
        return False
    supervisor = bool(f.roles & {Role.supervisor, Role.admin})
    team = f.member_role in (MemberRole.lead, MemberRole.member)
    liaison = f.member_role is MemberRole.liaison
    if action is Action.view:
        return supervisor or f.group_lead or team or liaison
    if action is Action.acknowledge:
        return f.member_role is not None
    if liaison and not team:
        return False  # liaisons see the unit, the deadline and their own tasks, nothing else
    if action in (Action.view_content, Action.ask_reporter, Action.note):
        return supervisor or f.group_lead or team
    if action in (Action.accept, Action.propose_team, Action.confirm_team):
        return supervisor or f.group_lead or f.member_role is MemberRole.lead
    if action is Action.dispose:
        return supervisor or f.member_role is MemberRole.lead
    if action in (Action.classify, Action.change_unit, Action.approve):
        return supervisor
    if action is Action.reveal_reporter:
        return f.member_role is MemberRole.lead
    return False


async def decide(session: AsyncSession, sealer: Sealer, staff: Staff | None, case: Case, action: Action) -> bool:
    return allowed(await facts(session, sealer, staff, case), action)


async def conflicted(session: AsyncSession, sealer: Sealer, staff: Staff, case: Case) -> bool:
    """Whether this person must hear nothing of the case: the same rule as /case, people included."""
    return (await facts(session, sealer, staff, case)).conflict


Hears = Callable[[AsyncSession, Sealer, Staff], Awaitable[bool]]
"""Whether a person may hear of something that is not a case (a campaign's subgroup): its own rule."""

About = Case | Hears | None
"""What a notice is about: a case (the conflict rules of /case), another thing with its own rule,
or ``None`` for a notice that names no case at all (a failed delivery, a digest already filtered)."""


async def may_hear(session: AsyncSession, sealer: Sealer, staff: Staff, about: About) -> bool:
    """The one gate every notice passes: a person with a conflict on what it is about is never told."""
    if about is None:
        return True
    if isinstance(about, Case):
        return not await conflicted(session, sealer, staff, about)
    return await about(session, sealer, staff)


async def without_conflicts(session: AsyncSession, sealer: Sealer, case: Case | None, staff_ids: Iterable[int]) -> list[int]:
    """The recipients of a notice about ``case`` who may hear of it, in order, each once."""
    ids = list(dict.fromkeys(staff_ids))
    if case is None or not ids:
        return ids
    out = []
    for sid in ids:
        staff = await session.get(Staff, sid)
        if staff is not None and not (await facts(session, sealer, staff, case)).conflict:
            out.append(sid)
    return out


async def visible_clause(session: AsyncSession, sealer: Sealer, staff: Staff) -> ColumnElement[bool]:
    """SQL: the cases this person has no conflict on, by the same rules as :func:`conflict_reasons`
    (every unit a case has had, offices they sat in, home region under cross inspection, declared
    people, cases they stepped aside from, cases whose report names them), so figures and lists
    can be counted in the database without ever counting a case hidden from them."""
    await named_staff.settle(session, sealer)
    units = await stationed_unit_ids(session, staff.office_id)
    # Offices they have left still count (unit_reasons: formerly stationed).
    for office_id in set((await session.scalars(select(StaffOfficeSpell.office_id).where(
            StaffOfficeSpell.staff_id == staff.id, StaffOfficeSpell.until.is_not(None)))).all()):
        units |= await stationed_unit_ids(session, office_id)
    units |= {u for u in (await session.scalars(select(ConflictDeclaration.unit_id).where(
        ConflictDeclaration.staff_id == staff.id, ConflictDeclaration.unit_id.is_not(None), conflict_in_force()))).all()
        if u is not None}
    cases = [c for c in (await session.scalars(select(ConflictDeclaration.case_id).where(
        ConflictDeclaration.staff_id == staff.id, ConflictDeclaration.case_id.is_not(None), conflict_in_force()))).all()
        if c is not None]
    # Named in the report: matched once when the case was opened (or staff changed), not here.
    hidden: list[ColumnElement[bool]] = [
        exists().where(CaseNamedStaff.case_id == Case.id, CaseNamedStaff.staff_id == staff.id)]
    if cases:  # cases they stepped aside from (我需要回避), pending ones included
        hidden.append(Case.id.in_(cases))
    if units:
        hidden.append(func.coalesce(Case.unit_id, -1).in_(units))
        hidden.append(exists().where(CaseUnit.case_id == Case.id, CaseUnit.unit_id.in_(units)))
    if staff.home_region_id is not None:
        region = staff.home_region_id
        hidden.append(and_(Case.cross_inspection.is_(True), or_(
            Case.region_id == region,
            exists().where(Unit.id == Case.unit_id, Unit.region_id == region),
            exists().where(CaseUnit.case_id == Case.id, CaseUnit.unit_id == Unit.id, Unit.region_id == region))))
    # Declared people named in the report: matched once when the declaration was made or the case
    # opened, not here (no tip is opened to draw a list).
    hidden.append(exists().where(*_person_conflict(staff.id, Case.id)))
    return not_(or_(*hidden))
