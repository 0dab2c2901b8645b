"""The one access policy: who may see or do what on a case (role × assignment × liaison × conflict).

Handlers never check roles by hand; they ask :func:`decide`. Anyone with a conflict, or with no
role in the case, is treated exactly as if the case did not exist.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Assignment,
    AssignmentMember,
    Case,
    ConflictDeclaration,
    MemberRole,
    Office,
    Role,
    Staff,
    office_units,
)


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
    classify = "classify"        # intake: set the unit of a case
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


async def conflict_reasons(session: AsyncSession, staff: Staff, case: Case, *, people_text: str | None = None) -> list[str]:
    """Codes of every reason this person may not work on the case (回避)."""
    reasons = []
    if case.unit_id is not None and case.unit_id in await stationed_unit_ids(session, staff.office_id):
        reasons.append("stationed")
    decls = (await session.scalars(select(ConflictDeclaration).where(ConflictDeclaration.staff_id == staff.id))).all()
    for d in decls:
        if d.unit_id is not None and d.unit_id == case.unit_id:
            reasons.append("declared_unit")
        if d.person_name and people_text and d.person_name in people_text:
            reasons.append("declared_person")
    if case.cross_inspection and case.region_id is not None and staff.home_region_id == case.region_id:
        reasons.append("home_region")
    return reasons


async def facts(session: AsyncSession, staff: Staff | None, case: Case, *, people_text: str | None = None) -> Facts:
    if staff is None:
        return Facts(set(), False, False, None)
    reasons = await conflict_reasons(session, staff, case, people_text=people_text)
    group_lead = False
    if Role.lead in staff.roles and staff.office_id is not None and case.joint_group_id is not None:
        office = await session.get(Office, staff.office_id)
        group_lead = office is not None and office.joint_group_id == case.joint_group_id
    member = await session.scalar(
        select(AssignmentMember.role)
        .join(Assignment, Assignment.id == AssignmentMember.assignment_id)
        .where(Assignment.case_id == case.id, Assignment.status == "confirmed", AssignmentMember.staff_id == staff.id)
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
    if action is Action.classify:
        return supervisor
    if action is Action.reveal_reporter:
        return f.member_role is MemberRole.lead
    return False


async def decide(session: AsyncSession, staff: Staff | None, case: Case, action: Action, *,
                 people_text: str | None = None) -> bool:
    return allowed(await facts(session, staff, case, people_text=people_text), action)
