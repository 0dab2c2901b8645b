"""交叉监督 + 回避: which joint group takes a case, and a conflict-free, mixed team for it.

The team is drawn from the *other* offices of the group that holds the case unit's stationed
office, mixed across offices, balanced by open workload, never including anyone with a conflict.
Local staff (the stationed office's own people) may be added only as liaisons.
"""

from __future__ import annotations

import functools
import operator
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    bindparam,
    case,
    exists,
    func,
    join,
    not_,
    or_,
    select,
    union,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.visitors import replacement_traverse

from handlers.access import conflict_reasons, people_text
from handlers.uow import UnitOfWork
from storage.base import UTCDateTime
from storage.crypto import Sealer
from storage.models import (
    Assignment,
    AssignmentMember,
    Case,
    CaseState,
    CaseUnit,
    ConflictDeclaration,
    Office,
    Role,
    Staff,
    StaffOfficeSpell,
    StaffRole,
    Unit,
    conflict_in_force,
    office_units,
)
from storage.models import named as named_staff

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


def _recent_members(unit_id: Any, since: Any) -> Select[tuple[int]]:
    return (select(AssignmentMember.staff_id)
            .join(Assignment, Assignment.id == AssignmentMember.assignment_id)
            .join(Case, Case.id == Assignment.case_id)
            .where(Case.unit_id == unit_id, Assignment.status == "confirmed", Assignment.confirmed_at >= since))


def _rotation_since(uow: UnitOfWork) -> datetime:
    return uow.now() - timedelta(days=30 * uow.config.rotation_months)


async def recently_handled(session: AsyncSession, unit_id: int | None, now: datetime, months: int) -> set[int]:
    if unit_id is None or months <= 0:
        return set()
    return set(await session.scalars(_recent_members(unit_id, now - timedelta(days=30 * months))))


async def staff_conflicts(session: AsyncSession, sealer: Sealer, staff: Staff, case: Case, *,
                          recent: set[int]) -> list[str]:
    reasons = await conflict_reasons(session, sealer, staff, case)
    if staff.id in recent:
        reasons.append("rotation")
    return reasons


# -- the whole group at once -------------------------------------------------------------------
# :func:`handlers.access.conflict_reasons` (plus rotation) for every candidate in one statement:
# each reason is a column, an IN over a small subquery that the database evaluates once (it
# depends on the case and its units, not on the person), so the work is one index probe per
# candidate and reason. The people a report names are compared in Python: the opened text never
# goes to the database (where a slow-query log could keep it). The statements are built once per
# shape of case, with bound parameters, so SQLAlchemy neither rebuilds nor re-keys them.
# ``test_routing_batched`` holds every reason, in order, to the per-person check.

@dataclass(frozen=True)
class _Shape:
    """What changes the statement (rather than its parameters)."""

    unit: bool  # the case has a unit
    cross: bool  # cross inspection: home regions count
    region: bool  # ... and the case has a region of its own
    rotation: bool  # rotation is on (and the case has a unit)

    @staticmethod
    def of(case: Case, rotation_months: int = 0) -> _Shape:
        return _Shape(case.unit_id is not None, bool(case.cross_inspection), case.region_id is not None,
                      case.unit_id is not None and rotation_months > 0)

    @staticmethod
    def params(case: Case) -> dict[str, Any]:
        return {"case_id": case.id, "unit_id": case.unit_id, "region_id": case.region_id}


def _case_units(shape: _Shape) -> Any:
    """Every unit the case is or was about (:func:`handlers.access.case_unit_ids`), as a subquery."""
    earlier = select(CaseUnit.unit_id).where(CaseUnit.case_id == bindparam("case_id", type_=Integer))
    return union(earlier, select(bindparam("unit_id", type_=Integer))) if shape.unit else earlier


@functools.cache
def _reason_columns(shape: _Shape) -> tuple[list[str], list[str], list[ColumnElement[Any]]]:
    """The codes :func:`handlers.access.conflict_reasons` finds before the named people (head),
    those after them (tail: a declaration on this case, then rotation), and a boolean column for
    each, over ``Staff``."""
    units = _case_units(shape)
    stationed = and_(Staff.office_id.is_not(None), Staff.office_id.in_(
        select(office_units.c.office_id).where(office_units.c.unit_id.in_(units))))
    formerly = and_(not_(stationed), Staff.id.in_(
        select(StaffOfficeSpell.staff_id)
        .join(office_units, office_units.c.office_id == StaffOfficeSpell.office_id)
        .where(StaffOfficeSpell.until.is_not(None), office_units.c.unit_id.in_(units))))
    declared = Staff.id.in_(select(ConflictDeclaration.staff_id).where(
        ConflictDeclaration.unit_id.in_(units), conflict_in_force()))
    head: list[tuple[str, ColumnElement[Any]]] = [
        ("stationed", stationed), ("formerly_stationed", formerly), ("declared_unit", declared)]
    if shape.cross:
        home: ColumnElement[bool] = Staff.home_region_id.in_(select(Unit.region_id).where(Unit.id.in_(units)))
        if shape.region:
            home = or_(home, Staff.home_region_id == bindparam("region_id", type_=Integer))
        head.append(("home_region", home))
    tail: list[tuple[str, ColumnElement[Any]]] = [("declared_case", Staff.id.in_(
        select(ConflictDeclaration.staff_id).where(ConflictDeclaration.case_id == bindparam("case_id", type_=Integer),
                                                   conflict_in_force())))]
    if shape.rotation:
        tail.append(("rotation", Staff.id.in_(
            _recent_members(bindparam("unit_id", type_=Integer), bindparam("since", type_=UTCDateTime())))))
    return [c for c, _ in head], [c for c, _ in tail], [e for _, e in head + tail]


def _group_people() -> Select[tuple[int]]:
    return (select(Staff.id).join(Office, Office.id == Staff.office_id)
            .where(Office.joint_group_id == bindparam("group_id", type_=Integer), Staff.active.is_(True)))


PARAMETERS = {"group_id", "case_id", "unit_id", "region_id", "since"}


def _constants_inline(statement: Select[Any]) -> Select[Any]:
    """The statement with its constants (states, statuses, roles) written into its text and only
    the case's values left as parameters: PostgreSQL keeps a generic plan for a statement it
    has run a few times, and with the constants as parameters too that plan guesses their
    selectivity and walks every open case in the organisation (hundreds of ms at 100,000 staff)."""

    def inline(element: Any, **kw: Any) -> Any:
        if isinstance(element, BindParameter) and element.key not in PARAMETERS and not element.literal_execute:
            copy = element._clone()
            copy.literal_execute = True
            return copy
        return None

    no_options: dict[str, Any] = {}
    return cast(Select[Any], replacement_traverse(cast(Any, statement), no_options, inline))


@functools.cache
def _names_statement() -> Select[tuple[int, str | None]]:
    return _constants_inline(
        select(ConflictDeclaration.staff_id, ConflictDeclaration.person_name)
        .where(ConflictDeclaration.staff_id.in_(_group_people()), ConflictDeclaration.person_name.is_not(None),
               conflict_in_force()))


@functools.cache
def _candidates_statement(shape: _Shape, grouped: bool) -> Select[Any]:
    """The group's active field officers and leads in id order: id, login, name, office, lead?,
    open workload, the reasons (a bit each, in the order of :func:`_reason_columns`), and whether
    any case waits for its named staff to be matched (:func:`storage.models.named.any_pending`).

    ``grouped`` (PostgreSQL): one pass over the group, its people joined to their roles and to
    their open assignments and grouped by person, so that nothing outside the group is hashed
    (a role filter over every staff member, the group's people found a second time for the
    workload). SQLite, which probes an index per row either way, is quicker without the grouping:
    the roles as EXISTS, the workload grouped apart and joined."""
    # The reasons as one integer, a bit each (see _Reasons.flags): most candidates have none, and
    # a zero is all Python then looks at. They depend on the person only (grouped by its key).
    bits = [case((column, 1 << i), else_=0) for i, column in enumerate(_reason_columns(shape)[2])]
    reasons = functools.reduce(operator.add, bits).label("reasons")
    pending = named_staff.any_pending().label("pending")
    in_group = (Office.joint_group_id == bindparam("group_id", type_=Integer), Staff.active.is_(True))
    if grouped:
        open_assignments = (
            join(AssignmentMember, Assignment, and_(Assignment.id == AssignmentMember.assignment_id,
                                                    Assignment.status == "confirmed"))
            .join(Case, and_(Case.id == Assignment.case_id, Case.state.not_in(CLOSED))))
        # A person holding both roles meets each of their assignments twice: hence DISTINCT.
        return _constants_inline(
            select(Staff.id, Staff.login, Staff.name, Staff.office_id,
                   func.max(case((StaffRole.role == Role.lead.value, 1), else_=0)),
                   func.count(AssignmentMember.id.distinct()), reasons, pending)
            .join(Office, Office.id == Staff.office_id)
            .join(StaffRole, and_(StaffRole.staff_id == Staff.id,
                                  StaffRole.role.in_((Role.field.value, Role.lead.value))))
            .outerjoin(open_assignments, and_(AssignmentMember.staff_id == Staff.id, AssignmentMember.left_at.is_(None)))
            .where(*in_group).group_by(Staff.id).order_by(Staff.id))
    role = exists().where(StaffRole.staff_id == Staff.id)
    # Workload of the group's people only, grouped once and joined: a count correlated to each
    # row gets a plan on PostgreSQL that scans every open assignment once per candidate.
    load = (select(AssignmentMember.staff_id, func.count().label("n"))
            .join(Assignment, Assignment.id == AssignmentMember.assignment_id)
            .join(Case, Case.id == Assignment.case_id)
            .where(AssignmentMember.staff_id.in_(_group_people()), AssignmentMember.left_at.is_(None),
                   Assignment.status == "confirmed", Case.state.not_in(CLOSED))
            .group_by(AssignmentMember.staff_id).subquery("load"))
    return _constants_inline(
        select(Staff.id, Staff.login, Staff.name, Staff.office_id,
               role.where(StaffRole.role == Role.lead.value), func.coalesce(load.c.n, 0), reasons, pending)
        .join(Office, Office.id == Staff.office_id)
        .outerjoin(load, load.c.staff_id == Staff.id)
        .where(*in_group, role.where(StaffRole.role.in_((Role.field.value, Role.lead.value))))
        .order_by(Staff.id))


class _Reasons:
    """Turns a candidate's reason columns (and, for a report naming people, their name and
    declared names) into the list of codes, in the order of the per-person check."""

    def __init__(self, shape: _Shape, people: str | None, names: dict[int, list[str]]) -> None:
        self.head, self.tail, _ = _reason_columns(shape)
        self.split = len(self.head)
        self.bits = range(len(self.head) + len(self.tail))
        self.people, self.names = people, names

    def flags(self, mask: int) -> list[bool]:
        """The reason columns of the candidates statement's one integer."""
        return [bool(mask >> i & 1) for i in self.bits]

    def __call__(self, sid: int, name: str, flags: Sequence[Any]) -> list[str]:
        people = self.people
        if not people and not any(flags):
            return []
        out = [code for code, on in zip(self.head, flags, strict=False) if on]
        if people:
            if any(n and n in people for n in self.names.get(sid, ())):
                out.append("declared_person")
            if name and name in people:
                out.append("named_in_report")
        out += [code for code, on in zip(self.tail, flags[self.split:], strict=False) if on]
        return out


@functools.cache
def _mask_codes(shape: _Shape, mask: int) -> tuple[str, ...]:
    """The codes of a reasons integer when the report names nobody (they depend on it alone)."""
    codes = _Reasons(shape, None, {})
    return tuple(codes(0, "", codes.flags(mask)))


def _declared_names(rows: Any) -> dict[int, list[str]]:
    names: dict[int, list[str]] = {}
    for sid, name in rows:
        names.setdefault(sid, []).append(name)
    return names


async def group_conflicts(session: AsyncSession, case: Case, among: Any, *, people: str | None,
                          recent: set[int]) -> Callable[[Person], list[str]]:
    """:func:`handlers.access.conflict_reasons` (plus rotation) for every person ``among``
    selects, in two statements at most; the reasons, in the same order, for one person."""
    shape = _Shape.of(case)
    rows = await session.execute(select(Staff.id, *_reason_columns(shape)[2]).where(Staff.id.in_(among)),
                                 _Shape.params(case))
    flags = {row[0]: row[1:] for row in rows}
    names: dict[int, list[str]] = {}
    if people:
        names = _declared_names(await session.execute(
            select(ConflictDeclaration.staff_id, ConflictDeclaration.person_name)
            .where(ConflictDeclaration.staff_id.in_(among), ConflictDeclaration.person_name.is_not(None),
                   conflict_in_force())))
    codes = _Reasons(shape, people, names)

    def reasons(staff: Person) -> list[str]:
        out = codes(staff.id, staff.name, flags.get(staff.id, ()))
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
    shape = _Shape.of(case, uow.config.rotation_months)
    params = {**_Shape.params(case), "group_id": case.joint_group_id, "since": _rotation_since(uow)}
    # Plain rows through the connection, not entities through the session (a group may have
    # thousands of people); flushed first, as the session's own execute would.
    await session.flush()
    conn = await session.connection()
    grouped = conn.dialect.name == "postgresql"
    rows = (await conn.execute(_candidates_statement(shape, grouped), params)).all()
    # The statement does not read who the report names (the people text is compared below), so
    # the named staff are settled after it, told by its last column whether anything waits.
    await named_staff.settle(session, uow.sealer, pending=bool(rows[0][-1]) if rows else None)
    people = await people_text(session, uow.sealer, case)
    names = _declared_names(await conn.execute(_names_statement(), params)) if people else {}
    reasons = _Reasons(shape, people, names)
    proposal = Proposal(case.joint_group_id)
    # (load, id, lead?, office) of everyone without a conflict.
    eligible: list[tuple[int, int, bool, int | None]] = []
    for sid, login, name, office_id, lead, n, mask, _ in rows:
        if people:
            why = reasons(sid, name, reasons.flags(mask))
        elif mask:
            why = list(_mask_codes(shape, mask))  # the same few masks recur: worked out once
        else:
            why = []
        if why:
            proposal.exclusions.append(Exclusion(sid, login, name, why))
            continue
        eligible.append((n, sid, bool(lead), office_id))
    # Balanced by workload; ties broken by id so the proposal is reproducible.
    eligible.sort()
    lead_row = next((e for e in eligible if e[2]), None)
    if lead_row is None or len(eligible) < 2:
        proposal.problem = "no_team"
        return proposal
    # Members: field officers before other leads, least loaded first.
    others = sorted((n, is_lead, sid, office_id) for n, sid, is_lead, office_id in eligible if sid != lead_row[1])
    team = [lead_row[1]]
    offices = {lead_row[3]}
    # First people from offices not yet in the team (混合编组), then anyone eligible.
    for _, _, sid, office_id in others:
        if len(team) >= team_size:
            break
        if office_id not in offices:
            team.append(sid)
            offices.add(office_id)
    for _, _, sid, _ in others:
        if len(team) >= team_size:
            break
        if sid not in team:
            team.append(sid)
    proposal.lead_id = lead_row[1]
    proposal.member_ids = team[1:]
    return proposal
