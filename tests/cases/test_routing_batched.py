"""The batched team proposal (one statement, two when the report names people) proposes exactly
what the per-person check does, with the same exclusions and reasons in the same order, on the
demo organisation and on random ones: every reason of :func:`handlers.access.conflict_reasons`
(office history, moved cases, declarations on the unit, a person or the case, refused ones that
no longer count, a staff member named in the report) plus rotation."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator
from datetime import UTC, datetime

from sqlalchemy import event, select

from handlers.access import match_named
from handlers.cases import routing
from handlers.deps import Deps
from handlers.uow import UnitOfWork
from storage.models import (
    Assignment,
    AssignmentMember,
    Case,
    CaseUnit,
    ConflictDeclaration,
    JointGroup,
    Office,
    Region,
    Role,
    Staff,
    StaffOfficeSpell,
    StaffRole,
    Tip,
    Unit,
)
from storage.models import named as named_staff


@contextlib.contextmanager
def statements_sent(uow: UnitOfWork) -> Iterator[list[str]]:
    """The SQL statements this unit of work's engine sends inside the block."""
    bind = uow.session.bind
    assert bind is not None
    engine, seen = bind.sync_engine, []

    def count(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
PEOPLE = ["王某某", "李某", "赵某"]


async def reference(uow, case: Case) -> routing.Proposal:  # type: ignore[no-untyped-def]
    """The proposal as it was computed before: one person at a time, the whole organisation's load."""
    if case.joint_group_id is None:
        return routing.Proposal(None, problem="no_group")
    session, team_size = uow.session, uow.config.team_size
    recent = await routing.recently_handled(session, case.unit_id, uow.now(), uow.config.rotation_months)
    load = await routing.open_workload(session)
    candidates = (await session.scalars(
        select(Staff).join(Office, Office.id == Staff.office_id)
        .where(Office.joint_group_id == case.joint_group_id, Staff.active.is_(True)).order_by(Staff.id))).all()
    proposal = routing.Proposal(case.joint_group_id)
    eligible = []
    for s in candidates:
        if not (s.roles & {Role.field, Role.lead}):
            continue
        reasons = await routing.staff_conflicts(session, uow.sealer, s, case, recent=recent)
        if reasons:
            proposal.exclusions.append(routing.Exclusion(s.id, s.login, s.name, reasons))
        else:
            eligible.append(s)
    return pick_team(proposal, eligible, load, team_size)


def pick_team(proposal: routing.Proposal, eligible: list, load: dict, team_size: int) -> routing.Proposal:  # type: ignore[type-arg]
    """The team from the people without a conflict, as the replaced code chose it (also the
    routing benchmark's "before")."""
    eligible.sort(key=lambda s: (load[s.id], s.id))
    leads = [s for s in eligible if Role.lead in s.roles]
    if not leads or len(eligible) < 2:
        proposal.problem = "no_team"
        return proposal
    lead = leads[0]
    eligible = [s for s in eligible if s is not lead]
    eligible.sort(key=lambda s: (load[s.id], Role.lead in s.roles, s.id))
    team, offices = [lead], {lead.office_id}
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
    proposal.lead_id, proposal.member_ids = lead.id, [s.id for s in team[1:]]
    return proposal


async def compare(deps: Deps, case_ids: list[int]) -> tuple[int, set[str]]:
    checked, reasons = 0, set()
    async with deps.begin() as uow:
        for cid in case_ids:
            case = await uow.session.get(Case, cid)
            for cross in (False, True):
                case.cross_inspection = cross
                new = (await routing.propose(uow, case)).to_json()
                assert new == (await reference(uow, case)).to_json(), (cid, cross)
                reasons |= {r for e in new["exclusions"] for r in e["reasons"]}
                checked += 1
    return checked, reasons


async def test_the_demo_organisation_gets_the_same_proposals(deps: Deps) -> None:
    async with deps.begin() as uow:
        s = uow.session
        units = (await s.scalars(select(Unit).order_by(Unit.id))).all()
        ids = []
        for i, u in enumerate(units):
            case = Case(reference=f"D-{i}", source="public_report", state="accepted", unit_id=u.id,
                        region_id=u.region_id, created_at=NOW, updated_at=NOW)
            await routing.route(uow, case)
            s.add(case)
            await s.flush()
            ids.append(case.id)
    checked, reasons = await compare(deps, ids)
    assert checked == 2 * len(ids) > 0 and "stationed" in reasons


async def test_random_organisations_get_the_same_proposals(deps: Deps) -> None:
    rnd = random.Random(15)
    async with deps.begin() as uow:
        s = uow.session
        regions = [Region(code=f"rr{i}", name=f"RR{i}") for i in range(3)]
        groups = [JointGroup(code=f"rg{i}", name=f"RG{i}") for i in range(3)]
        s.add_all(regions + groups)
        await s.flush()
        offices, units = [], []
        for i in range(12):
            us = [Unit(code=f"ru{i}_{k}", name=f"RU{i}{k}", region_id=rnd.choice(regions).id) for k in range(rnd.randint(1, 3))]
            o = Office(code=f"ro{i}", name=f"RO{i}", joint_group_id=groups[i % 3].id, units=us)
            s.add(o)
            offices.append(o)
            units += us
        await s.flush()
        people = []
        for i in range(150):
            roles = rnd.sample([Role.field, Role.lead, Role.supervisor], rnd.randint(1, 2))
            p = Staff(login=f"rs{i}", name=f"RS{i}", office_id=rnd.choice(offices).id,
                      home_region_id=rnd.choice(regions).id, active=rnd.random() > 0.05,
                      role_rows=[StaffRole(role=r.value) for r in roles])
            s.add(p)
            await s.flush()
            if rnd.random() < 0.2:
                s.add(ConflictDeclaration(staff_id=p.id, unit_id=rnd.choice(units).id, kind="relative"))
            if rnd.random() < 0.2:
                s.add(ConflictDeclaration(staff_id=p.id, person_name=rnd.choice(PEOPLE), kind="interest"))
            if rnd.random() < 0.1:  # refused: counts nowhere
                s.add(ConflictDeclaration(staff_id=p.id, unit_id=rnd.choice(units).id, kind="relative", status="refused"))
            if rnd.random() < 0.15:  # moved here from another office: its units still count
                s.add(StaffOfficeSpell(staff_id=p.id, office_id=rnd.choice(offices).id, until=NOW))
            people.append(p)
        ids = []
        for i, u in enumerate(units):
            # Some reports name a staff member (nobody works a report about themselves).
            named = rnd.choice(PEOPLE + [rnd.choice(people).name])
            key_id, people_enc = uow.sealer.seal_text(named)
            tip = Tip(anonymous=True, receipt_hash=f"h{i}", unit_id=u.id, key_id=key_id, people_enc=people_enc,
                      body_enc=people_enc, created_at=NOW)
            s.add(tip)
            await s.flush()
            case = Case(reference=f"X-{i}", source="public_report", state=rnd.choice(["accepted", "assigned"]),
                        tip_id=tip.id, unit_id=u.id, region_id=rnd.choice(regions).id, created_at=NOW, updated_at=NOW)
            await routing.route(uow, case)
            s.add(case)
            await s.flush()
            await match_named(s, uow.sealer, case)  # as a tip's case is opened
            ids.append(case.id)
            if rnd.random() < 0.3:  # moved from another unit: conflicts there still apply
                s.add(CaseUnit(case_id=case.id, unit_id=rnd.choice(units).id, at=NOW))
            for p in rnd.sample(people, 2):  # stepped aside on this case (one of them refused)
                s.add(ConflictDeclaration(staff_id=p.id, case_id=case.id, kind="self",
                                          status=rnd.choice(["confirmed", "pending", "refused"])))
            if rnd.random() < 0.5:  # open workload, some of it recent on the unit
                s.add(Assignment(case_id=case.id, status="confirmed", created_at=NOW, confirmed_at=NOW,
                                 members=[AssignmentMember(staff_id=m.id, role="member") for m in rnd.sample(people, 3)]))
        await s.flush()
    checked, reasons = await compare(deps, ids)
    assert checked == 2 * len(ids)
    assert reasons == {"stationed", "formerly_stationed", "declared_unit", "home_region", "declared_person",
                       "named_in_report", "declared_case", "rotation"}


async def test_a_proposal_takes_the_same_statements_however_large_the_group(deps: Deps) -> None:
    """One statement for the group (the tip and its people's declared names add one each), the
    same for 200 more people in it: nothing is asked person by person."""
    async with deps.begin() as uow:
        s = uow.session
        unit = await s.scalar(select(Unit).join(Unit.offices).where(Office.joint_group_id.is_not(None)).limit(1))
        key_id, people_enc = uow.sealer.seal_text(PEOPLE[0])
        tip = Tip(anonymous=True, receipt_hash="h-count", unit_id=unit.id, key_id=key_id, people_enc=people_enc,
                  body_enc=people_enc, created_at=NOW)
        s.add(tip)
        await s.flush()
        cases = [Case(reference=f"N-{i}", source="inspection_handover", state="accepted", unit_id=unit.id,
                      tip_id=t, created_at=NOW, updated_at=NOW) for i, t in enumerate((None, tip.id))]
        for case in cases:
            await routing.route(uow, case)
            s.add(case)
        await s.flush()
        ids, group = [c.id for c in cases], cases[0].joint_group_id
        office = await s.scalar(select(Office.id).where(Office.joint_group_id == group).limit(1))

    async def statements() -> list[int]:
        counts = []
        async with deps.begin() as uow:
            # Cases an import left to be matched again are settled once per transaction, first.
            await named_staff.settle(uow.session, uow.sealer)
            for cid in ids:
                case = await uow.session.get(Case, cid)
                with statements_sent(uow) as seen:
                    proposal = await routing.propose(uow, case)
                assert proposal.lead_id is not None
                counts.append(len(seen))
        return counts

    assert await statements() == [1, 3]
    async with deps.begin() as uow:
        uow.session.add_all([Staff(login=f"more{i}", name=f"More{i}", office_id=office, active=True,
                                   role_rows=[StaffRole(role=Role.field.value)]) for i in range(200)])
    assert await statements() == [1, 3]


async def test_a_proposal_looks_for_cases_to_match_again_within_its_own_statement(deps: Deps) -> None:
    """The first proposal of a transaction is one statement when no case waits for its named
    staff to be matched again; when one does (an import renamed someone), the proposal still
    matches it, as every access check does."""
    from sqlalchemy import delete

    from storage.models import CaseNamedPending, CaseNamedStaff

    async with deps.begin() as uow:
        s = uow.session
        unit = await s.scalar(select(Unit).join(Unit.offices).where(Office.joint_group_id.is_not(None)).limit(1))
        named = await s.scalar(select(Staff).where(Staff.name.is_not(None)).order_by(Staff.id).limit(1))
        key_id, people_enc = uow.sealer.seal_text(f"{named.name}等人")
        tip = Tip(anonymous=True, receipt_hash="h-pending", unit_id=unit.id, key_id=key_id, people_enc=people_enc,
                  body_enc=people_enc, created_at=NOW)
        s.add(tip)
        await s.flush()
        named_case = Case(reference="P-1", source="inspection_handover", state="accepted", unit_id=unit.id,
                          tip_id=tip.id, created_at=NOW, updated_at=NOW)
        case = Case(reference="P-2", source="inspection_handover", state="accepted", unit_id=unit.id,
                    created_at=NOW, updated_at=NOW)
        for c in (named_case, case):
            await routing.route(uow, c)
            s.add(c)
        await s.flush()
        await match_named(s, uow.sealer, named_case)
        # The organisation's person declarations, matched by the first check of the database's life.
        await named_staff.match_declarations(s, uow.sealer)
        ids = named_case.id, case.id

    async def propose() -> int:
        async with deps.begin() as uow:
            c = await uow.session.get(Case, ids[1])
            with statements_sent(uow) as seen:
                assert (await routing.propose(uow, c)).lead_id is not None
            return len(seen)

    assert await propose() == 1
    async with deps.begin() as uow:  # as an import leaves it
        await uow.session.execute(delete(CaseNamedStaff).where(CaseNamedStaff.case_id == ids[0]))
        uow.session.add(CaseNamedPending(case_id=ids[0]))
    assert await propose() > 1
    async with deps.begin() as uow:
        assert not (await uow.session.scalars(select(CaseNamedPending.case_id))).all()
        assert (await uow.session.scalars(select(CaseNamedStaff.staff_id).where(
            CaseNamedStaff.case_id == ids[0]))).all() == [named.id]
