"""交叉监督 + 回避: which joint group takes a case, and a conflict-free, mixed team for it.

The team is drawn from the *other* offices of the group that holds the case unit's stationed
office, mixed across offices, balanced by open workload, never including anyone with a conflict.
Local staff (the stationed office's own people) may be added only as liaisons.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.access import conflict_reasons, people_text
from handlers.uow import UnitOfWork
from storage.models import (
    Assignment,
    AssignmentMember,
    Case,
    CaseState,
    Office,
    Role,
    Staff,
    Unit,
    office_units,
)

CLOSED = (CaseState.concluded.value, CaseState.feedback_given.value, CaseState.forwarded.value)


@dataclass
class Exclusion:
    staff_id: int
    login: str
    name: str
    reasons: list[str]


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


async def open_workload(session: AsyncSession) -> Counter[int]:
    rows = await session.execute(
        select(AssignmentMember.staff_id, func.count())
        .join(Assignment, Assignment.id == AssignmentMember.assignment_id)
        .join(Case, Case.id == Assignment.case_id)
        .where(Assignment.status == "confirmed", Case.state.not_in(CLOSED), AssignmentMember.left_at.is_(None))
        .group_by(AssignmentMember.staff_id)
    )
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


async def propose(uow: UnitOfWork, case: Case) -> Proposal:
    """A lead and members (``team_size`` in all, from the settings), mixed across offices."""
    if case.joint_group_id is None:
        return Proposal(None, problem="no_group")
    session, team_size = uow.session, uow.config.team_size
    people = await people_text(session, uow.sealer, case)
    recent = await recently_handled(session, case.unit_id, uow.now(), uow.config.rotation_months)
    load = await open_workload(session)
    candidates = (await session.scalars(
        select(Staff).join(Office, Office.id == Staff.office_id)
        .where(Office.joint_group_id == case.joint_group_id, Staff.active.is_(True)).order_by(Staff.id)
    )).all()
    proposal = Proposal(case.joint_group_id)
    eligible: list[Staff] = []
    for s in candidates:
        if not (s.roles & {Role.field, Role.lead}):
            continue
        reasons = await staff_conflicts(session, s, case, people=people, recent=recent)
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
