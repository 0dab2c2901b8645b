"""室组地联动: a case in a region (片区) with a joint unit goes to that unit when the setting
``joint_units`` is on. The team is drawn from every member body (commission office 室, stationed
groups 组, local commission 地), one person per body first, with the lead from the leading body;
conflicts apply to every member exactly as in ordinary routing, and a body whose people all have
a conflict is left out with the reason."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.access import people_text
from handlers.cases import routing
from handlers.context import Context
from handlers.i18n import N_, Gettext, labelled, lang_of, listing
from handlers.uow import UnitOfWork
from storage.models import (
    Assignment,
    Case,
    CaseJointUnit,
    JointUnit,
    JointUnitRegion,
    Office,
    Role,
    Staff,
    StaffRole,
)

BODY_WORDS = {"room": N_("commission office (室)"), "group": N_("stationed group (组)"),
              "local": N_("local commission (地)")}


@dataclass
class Body:
    """A member body as a proposal shows it: whether it leads, and why it was left out."""

    office_id: int
    name: str
    kind: str
    leads: bool
    reasons: list[str] = field(default_factory=list)  # empty: drawn from
    office: Office | None = None  # its name is picked by the reader's language


@dataclass
class UnitProposal(routing.Proposal):
    joint_unit_id: int | None = None
    joint_unit_name: str = ""
    bodies: list[Body] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {**super().to_json(), "joint_unit_id": self.joint_unit_id,
                "bodies": [{"office_id": b.office_id, "kind": b.kind, "leads": b.leads, "reasons": b.reasons}
                           for b in self.bodies]}


async def unit_for(session: AsyncSession, case: Case) -> JointUnit | None:
    """The joint unit fixed for the case's region, if any."""
    if case.region_id is None:
        return None
    unit: JointUnit | None = await session.scalar(select(JointUnit).join(
        JointUnitRegion, JointUnitRegion.joint_unit_id == JointUnit.id).where(JointUnitRegion.region_id == case.region_id))
    return unit


async def member_of_case_unit(uow: UnitOfWork, case: Case, office_id: int | None) -> bool:
    """Whether the office is a body of the joint unit the case goes to (setting on): its people
    may join the team though their office is outside the case's joint group."""
    if not uow.config.joint_units or office_id is None:
        return False
    unit = await unit_for(uow.session, case)
    return unit is not None and any(m.office_id == office_id for m in unit.members)


async def propose(uow: UnitOfWork, case: Case) -> UnitProposal | None:
    """The joint unit's team for the case, or None when the setting is off or the region has no unit."""
    if not uow.config.joint_units:
        return None
    session = uow.session
    unit = await unit_for(session, case)
    if unit is None:
        return None
    office_ids = [m.office_id for m in unit.members]
    offices = {o.id: o for o in (await session.scalars(select(Office).where(Office.id.in_(office_ids)))).all()}
    people = await people_text(session, uow.sealer, case)
    recent = await routing.recently_handled(session, case.unit_id, uow.now(), uow.config.rotation_months)
    among = select(Staff.id).where(Staff.office_id.in_(office_ids), Staff.active.is_(True))
    load = await routing.open_workload(session, among)
    roles: dict[int, set[Role]] = {}
    for sid, role in await session.execute(select(StaffRole.staff_id, StaffRole.role).where(StaffRole.staff_id.in_(among))):
        roles.setdefault(sid, set()).add(Role(role))
    candidates = [routing.Person(sid, login, name, oid, home, roles.get(sid, set()))
                  for sid, login, name, oid, home in await session.execute(
                      select(Staff.id, Staff.login, Staff.name, Staff.office_id, Staff.home_region_id)
                      .where(Staff.id.in_(among)).order_by(Staff.id))]
    conflicts = await routing.group_conflicts(session, case, among, people=people, recent=recent)
    p = UnitProposal(case.joint_group_id, joint_unit_id=unit.id, joint_unit_name=unit.name)
    eligible: dict[int, list[routing.Person]] = {oid: [] for oid in office_ids}
    reasons_of: dict[int, Counter[str]] = {oid: Counter() for oid in office_ids}
    for s in candidates:
        if not (s.roles & {Role.field, Role.lead}) or s.office_id is None:
            continue
        why = conflicts(s)
        if why:
            p.exclusions.append(routing.Exclusion(s.id, s.login, s.name, why))
            reasons_of[s.office_id].update(why)
        else:
            eligible[s.office_id].append(s)
    for people_of in eligible.values():  # least loaded first, ties by id: reproducible
        people_of.sort(key=lambda s: (load[s.id], s.id))
    for m in unit.members:
        o = offices.get(m.office_id)
        p.bodies.append(Body(m.office_id, o.name if o else "-", m.kind, m.office_id == unit.lead_office_id,
                             [] if eligible[m.office_id] else sorted(reasons_of[m.office_id]) or ["nobody"], o))
    # The lead: someone with the lead role from the leading body, else from the next body that has one.
    order = [unit.lead_office_id] + [oid for oid in office_ids if oid != unit.lead_office_id]
    lead = next((s for oid in order for s in eligible[oid] if Role.lead in s.roles), None)
    if lead is None:
        p.problem = "no_team"
        return p
    team = [lead]
    # One person from every other body that can send someone (联动), then the least loaded of any.
    for oid in office_ids:
        if oid != lead.office_id and eligible[oid]:
            team.append(next((s for s in eligible[oid] if Role.lead not in s.roles), eligible[oid][0]))
    rest = sorted((s for oid in office_ids for s in eligible[oid] if s not in team),
                  key=lambda s: (load[s.id], Role.lead in s.roles, s.id))
    team += rest[:max(0, uow.config.team_size - len(team))]
    if len(team) < 2:
        p.problem = "no_team"
        return p
    p.lead_id, p.member_ids = lead.id, [s.id for s in team[1:]]
    return p


REASON_WORDS = {"nobody": N_("nobody in it can take cases")}


def proposal_lines(_: Gettext, p: routing.Proposal, conflict_text: Any) -> list[str]:
    """What a proposal from a joint unit adds to the proposal shown in the chat: the unit, its
    bodies, which one leads, and each body left out with the reason. ``conflict_text`` is the
    cases' wording of conflict reasons."""
    if not isinstance(p, UnitProposal):
        return []
    lines = [_("Joint unit (室组地联动): {name}").format(name=p.joint_unit_name)]
    lang = lang_of(_)
    for b in p.bodies:
        kind = _(BODY_WORDS.get(b.kind, b.kind))
        body = b.office.name_for(lang) if b.office else b.name
        name = _("{name} ({kind}, leading)").format(name=body, kind=kind) if b.leads else \
            _("{name} ({kind})").format(name=body, kind=kind)
        if b.reasons:
            why = listing(_, [_(REASON_WORDS[r]) if r in REASON_WORDS else conflict_text(_, [r]) for r in b.reasons])
            lines.append("  • " + labelled(_, _("{body}: not drawn from").format(body=name), why))
        else:
            lines.append("  • " + name)
    return lines


async def on_assignment(uow: UnitOfWork, case: Case, assignment: Assignment) -> None:
    """A team confirmed from a joint unit's proposal: the case is now the unit's (kept, with the
    assignment, for lists and figures); another team takes it off again."""
    unit_id = (assignment.proposal or {}).get("joint_unit_id")
    row = await uow.session.get(CaseJointUnit, case.id)
    if unit_id is None:
        if row is not None:
            await uow.session.delete(row)
        return
    if row is None:
        uow.session.add(CaseJointUnit(case_id=case.id, joint_unit_id=int(unit_id), assignment_id=assignment.id,
                                      given_at=uow.now()))
    else:
        row.joint_unit_id, row.assignment_id, row.given_at = int(unit_id), assignment.id, uow.now()



# Reading it back: the case card, lists and the history name the joint unit a case was given to.
GIVEN_TO = N_("Joint unit (室组地联动): {name}")


async def given_names(session: AsyncSession, case_ids: Iterable[int]) -> dict[int, str]:
    """case id → name of the joint unit it was given to, for the cases that were."""
    ids = list(case_ids)
    if not ids:
        return {}
    rows = await session.execute(select(CaseJointUnit.case_id, JointUnit.name)
                                 .join(JointUnit, JointUnit.id == CaseJointUnit.joint_unit_id)
                                 .where(CaseJointUnit.case_id.in_(ids)))
    return {cid: name for cid, name in rows.tuples().all()}


async def card_lines(ctx: Context, case: Case) -> list[str]:
    """The case card's line for a case given to a joint unit, with the body that leads it."""
    row = await ctx.session.get(CaseJointUnit, case.id)
    unit = await ctx.session.get(JointUnit, row.joint_unit_id) if row else None
    if unit is None:
        return []
    _ = ctx._
    lead = await ctx.session.get(Office, unit.lead_office_id)
    lines = [_(GIVEN_TO).format(name=unit.name)]
    if lead is not None:
        lines.append("  • " + _("led by {office}").format(office=lead.name_for(ctx.lang)))
    return lines


async def history_events(ctx: Context, case: Case) -> list[tuple[datetime, str]]:
    """When the case was given to its joint unit (the confirmed team drawn from it)."""
    row = await ctx.session.get(CaseJointUnit, case.id)
    unit = await ctx.session.get(JointUnit, row.joint_unit_id) if row else None
    if row is None or unit is None:
        return []
    return [(row.given_at, ctx._("Given to the joint unit {name} (室组地联动) with its team").format(name=unit.name))]
