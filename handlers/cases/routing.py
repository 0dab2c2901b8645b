"""交叉监督 + 回避: which joint group takes a case, and a conflict-free, mixed team for it.

The team is drawn from the *other* offices of the group that holds the case unit's stationed
office, mixed across offices, balanced by open workload, never including anyone with a conflict.
Local staff (the stationed office's own people) may be added only as liaisons.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.access import case_unit_ids, conflict_reasons, people_text
from handlers.uow import UnitOfWork
from storage.models import (
    Assignment,
    AssignmentMember,
    Case,
    CaseState,
    ConflictDeclaration,
    Office,
    Role,
    Staff,
    StaffRole,
    Unit,
    conflict_in_force,
    office_units,
)

CLOSED = (CaseState.concluded.value, CaseState.feedback_given.value, CaseState.forwarded.value)


@dataclass
class Exclusion:
    staff_id: int
    login: str
    name: str
    reasons: list[str]


@dataclass(frozen=True)
class Person:
    """What a proposal needs to know of a candidate."""

    id: int
    login: str
    name: str
    office_id: int | None
    home_region_id: int | None
    roles: set[Role] = field(hash=False)


@dataclass
class Proposal:
    joint_group_id: int | None
    lead_id: int | None = None
    member_ids: list[int] = field(default_factory=list)
    exclusions: list[Exclusion] = field(default_factory=list)
    problem: str | None = None  # "no_group" | "no_team"

    def to_json(self) -> dict[str, Any]:
        return {
            "joint_group_id": self.joint_group_id,
            "lead_id": self.lead_id,
            "member_ids": self.member_ids,
            "exclusions": [{"staff_id": e.staff_id, "login": e.login, "name": e.name, "reasons": e.reasons}
                           for e in self.exclusions],
            "problem": self.problem,
        }


async def joint_group_for_unit(session: AsyncSession, unit_id: int | None) -> int | None:
    if unit_id is None:
        return None
    return await session.scalar(
        select(Office.joint_group_id).join(office_units, office_units.c.office_id == Office.id)
        .where(office_units.c.unit_id == unit_id, Office.joint_group_id.is_not(None)).limit(1)
    )


async def route(uow: UnitOfWork, case: Case) -> None:
    """Set the case's joint group (and region) from its unit; unknown unit → intake queue.
    Cross inspection applies to the sources named in the settings."""
    session = uow.session
    case.cross_inspection = case.source in uow.config.cross_inspection_sources
    if case.unit_id is not None and case.region_id is None:
        unit = await session.get(Unit, case.unit_id)
        case.region_id = unit.region_id if unit else None
    if case.level == "supervisors":
        return  # handed up (提级): it reaches a group only when a supervisor hands it down
    case.joint_group_id = await joint_group_for_unit(session, case.unit_id)
    from handlers.cases.transfers import auto_up  # transfers builds on this module

    await auto_up(uow, case)


async def open_workload(session: AsyncSession, among: Any = None) -> Counter[int]:
    """Open confirmed assignments per person (only of the staff ids ``among`` selects, if given)."""
    q = (select(AssignmentMember.staff_id, func.count())
         .join(Assignment, Assignment.id == AssignmentMember.assignment_id)
         .join(Case, Case.id == Assignment.case_id)
         .where(Assignment.status == "confirmed", Case.state.not_in(CLOSED), AssignmentMember.left_at.is_(None)))
    if among is not None:
        q = q.where(AssignmentMember.staff_id.in_(among))
    rows = await session.execute(q.group_by(AssignmentMember.staff_id))
    return Counter({sid: n for sid, n in rows})


async def recently_handled(session: AsyncSession, unit_id: int | None, now: datetime, months: int) -> set[int]:
    if unit_id is None or months <= 0:
        return set()
    since = now - timedelta(days=30 * months)
    rows = await session.scalars(
        select(AssignmentMember.staff_id)
        .join(Assignment, Assignment.id == AssignmentMember.assignment_id)
        .join(Case, Case.id == Assignment.case_id)
        .where(Case.unit_id == unit_id, Assignment.status == "confirmed", Assignment.confirmed_at >= since)
    )
    return set(rows)


async def staff_conflicts(session: AsyncSession, staff: Staff, case: Case, *, people: str | None,
                          recent: set[int]) -> list[str]:
    reasons = await conflict_reasons(session, staff, case, people_text=people)
    if staff.id in recent:
        reasons.append("rotation")
    return reasons


async def group_conflicts(session: AsyncSession, case: Case, among: Any, *, people: str | None,
                          recent: set[int]) -> Callable[[Person], list[str]]:
    """:func:`handlers.access.conflict_reasons` (plus rotation) for every person ``among``
    selects, with a fixed number of indexed queries; the reasons, in the same order, for one
    person. ``test_routing_batched`` holds it to the per-person check."""
    units = await case_unit_ids(session, case)
    stationed_offices: set[int] = set()
    declared_unit: set[int] = set()
    unit_regions: set[int | None] = set()
    if units:
        stationed_offices = set((await session.scalars(
            select(office_units.c.office_id).where(office_units.c.unit_id.in_(units)))).all())
        declared_unit = set((await session.scalars(select(ConflictDeclaration.staff_id).where(
            ConflictDeclaration.unit_id.in_(units), ConflictDeclaration.staff_id.in_(among), conflict_in_force()))).all())
        if case.cross_inspection:
            unit_regions = set((await session.scalars(select(Unit.region_id).where(Unit.id.in_(units)))).all())
    names: dict[int, list[str]] = {}
    if people:
        for sid, name in await session.execute(select(ConflictDeclaration.staff_id, ConflictDeclaration.person_name)
                                               .where(ConflictDeclaration.staff_id.in_(among),
                                                      ConflictDeclaration.person_name.is_not(None),
                                                      conflict_in_force())):
            names.setdefault(sid, []).append(name)

    def reasons(staff: Person) -> list[str]:
        out = []
        if staff.office_id is not None and staff.office_id in stationed_offices:
            out.append("stationed")
        if staff.id in declared_unit:
            out.append("declared_unit")
        if case.cross_inspection and staff.home_region_id is not None and units and staff.home_region_id in unit_regions:
            out.append("home_region")
        if case.cross_inspection and case.region_id is not None and staff.home_region_id == case.region_id \
                and "home_region" not in out:
            out.append("home_region")
        if people and any(n and n in people for n in names.get(staff.id, [])):
            out.append("declared_person")
        if staff.id in recent:
            out.append("rotation")
        return out

    return reasons


async def propose(uow: UnitOfWork, case: Case) -> Proposal:
    """A lead and members (``team_size`` in all, from the settings), mixed across offices; the
    region's joint unit (室组地联动) instead, when the setting is on."""
    from handlers.cases import joint_units  # it builds on this module

    unit_proposal = await joint_units.propose(uow, case)
    if unit_proposal is not None:
        return unit_proposal
    if case.joint_group_id is None:
        return Proposal(None, problem="no_group")
    session, team_size = uow.session, uow.config.team_size
    people = await people_text(session, uow.sealer, case)
    recent = await recently_handled(session, case.unit_id, uow.now(), uow.config.rotation_months)
    in_group = (select(Staff.id).join(Office, Office.id == Staff.office_id)
                .where(Office.joint_group_id == case.joint_group_id, Staff.active.is_(True)))
    load = await open_workload(session, in_group)
    # Plain rows, not entities: a group may have thousands of people.
    roles: dict[int, set[Role]] = {}
    for sid, role in await session.execute(select(StaffRole.staff_id, StaffRole.role).where(StaffRole.staff_id.in_(in_group))):
        roles.setdefault(sid, set()).add(Role(role))
    candidates = [Person(sid, login, name, office_id, home, roles.get(sid, set())) for sid, login, name, office_id, home
                  in await session.execute(
                      select(Staff.id, Staff.login, Staff.name, Staff.office_id, Staff.home_region_id)
                      .join(Office, Office.id == Staff.office_id)
                      .where(Office.joint_group_id == case.joint_group_id, Staff.active.is_(True)).order_by(Staff.id))]
    conflicts = await group_conflicts(session, case, in_group, people=people, recent=recent)
    proposal = Proposal(case.joint_group_id)
    eligible: list[Person] = []
    for s in candidates:
        if not (s.roles & {Role.field, Role.lead}):
            continue
        reasons = conflicts(s)
        if reasons:
            proposal.exclusions.append(Exclusion(s.id, s.login, s.name, reasons))
        else:
            eligible.append(s)
    # Balanced by workload; ties broken by id so the proposal is reproducible.
    eligible.sort(key=lambda s: (load[s.id], s.id))
    leads = [s for s in eligible if Role.lead in s.roles]
    if not leads or len(eligible) < 2:
        proposal.problem = "no_team"
        return proposal
    lead = leads[0]
    # Members: field officers before other leads, least loaded first.
    eligible = [s for s in eligible if s is not lead]
    eligible.sort(key=lambda s: (load[s.id], Role.lead in s.roles, s.id))
    team = [lead]
    offices = {lead.office_id}
    # First people from offices not yet in the team (混合编组), then anyone eligible.
    for s in eligible:
        if len(team) >= team_size:
            break
        if s not in team and s.office_id not in offices:
            team.append(s)
            offices.add(s.office_id)
    for s in eligible:
        if len(team) >= team_size:
            break
        if s not in team:
            team.append(s)
    proposal.lead_id = lead.id
    proposal.member_ids = [s.id for s in team[1:]]
    return proposal
