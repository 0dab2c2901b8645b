"""Hypothesis over random organisations, cases, teams and staff, stored in the real database:
no conflicted or unassigned person can see a case, and liaisons never see its content."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers.access import Action, decide, match_named
from storage.crypto import Sealer
from storage.db import make_engine, make_sessionmaker
from storage.models import (
    Assignment,
    AssignmentMember,
    Case,
    ConflictDeclaration,
    JointGroup,
    Office,
    Region,
    Role,
    Staff,
    StaffRole,
    Tip,
    Unit,
)
from tests.conftest import make_config

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
PEOPLE = ["王某某", "李某", "赵某"]


@st.composite
def worlds(draw):  # type: ignore[no-untyped-def]
    n_groups = draw(st.integers(1, 2))
    offices = [(g, draw(st.integers(1, 2))) for g in range(n_groups) for _ in range(draw(st.integers(2, 3)))]
    n_units = sum(u for _g, u in offices)
    staff = draw(st.lists(st.tuples(
        st.integers(0, len(offices) - 1),                      # office
        st.sets(st.sampled_from(list(Role)), min_size=1),      # roles
        st.integers(0, 2),                                     # home region
        st.one_of(st.none(), st.integers(0, n_units - 1)),     # declared unit conflict
        st.one_of(st.none(), st.sampled_from(PEOPLE)),         # declared person conflict
    ), min_size=3, max_size=9))
    case = dict(unit=draw(st.one_of(st.none(), st.integers(0, n_units - 1))), cross=draw(st.booleans()),
                region=draw(st.integers(0, 2)), people=draw(st.sampled_from(["", *PEOPLE])))
    team = draw(st.dictionaries(st.integers(0, len(staff) - 1), st.sampled_from(["lead", "member", "liaison"]),
                                max_size=4))
    return offices, staff, case, team


async def check(db_url: str, world) -> None:  # type: ignore[no-untyped-def]
    offices, staff_spec, case_spec, team = world
    engine = make_engine(db_url)
    try:
        async with make_sessionmaker(engine)() as s:
            await s.begin()  # rolled back at the end: every example starts from the same database
            regions = [Region(code=f"r{i}", name=f"R{i}") for i in range(3)]
            groups = [JointGroup(code=f"g{i}", name=f"G{i}") for i in range(2)]
            s.add_all(regions + groups)
            await s.flush()
            office_rows, units = [], []
            for i, (g, n_u) in enumerate(offices):
                us = [Unit(code=f"u{i}_{k}", name=f"U{i}{k}", region_id=regions[k % 3].id) for k in range(n_u)]
                o = Office(code=f"o{i}", name=f"O{i}", joint_group_id=groups[g].id, units=us)
                s.add(o)
                office_rows.append(o)
                units += us
            await s.flush()
            people = []
            for i, (oi, roles, home, d_unit, d_person) in enumerate(staff_spec):
                p = Staff(login=f"s{i}", name=f"S{i}", office_id=office_rows[oi].id, home_region_id=regions[home].id,
                          role_rows=[StaffRole(role=r.value) for r in roles])
                s.add(p)
                await s.flush()
                if d_unit is not None:
                    s.add(ConflictDeclaration(staff_id=p.id, unit_id=units[d_unit].id, kind="relative"))
                if d_person is not None:
                    s.add(ConflictDeclaration(staff_id=p.id, person_name=d_person, kind="interest"))
                people.append(p)
            unit = units[case_spec["unit"]] if case_spec["unit"] is not None else None
            group_of_unit = next((o.joint_group_id for o in office_rows if unit in o.units), None)
            # The tip naming the case's people, sealed: declared person conflicts are matched
            # against it once, as the case is opened (storage.models.named).
            sealer = Sealer(make_config(db_url).keyring)
            key_id, body = sealer.seal_text("正文")
            tip = Tip(anonymous=True, receipt_hash="r-1", key_id=key_id, body_enc=body, created_at=NOW,
                      people_enc=sealer.seal_text(case_spec["people"])[1] if case_spec["people"] else None)
            s.add(tip)
            await s.flush()
            case = Case(reference="R-1", source="public_report", state="assigned", unit_id=unit.id if unit else None,
                        region_id=regions[case_spec["region"]].id, joint_group_id=group_of_unit,
                        cross_inspection=case_spec["cross"], created_at=NOW, updated_at=NOW, tip_id=tip.id)
            s.add(case)
            await s.flush()
            await match_named(s, sealer, case)
            a = Assignment(case_id=case.id, status="confirmed", created_at=NOW,
                           members=[AssignmentMember(staff_id=people[i].id, role=r) for i, r in team.items()])
            s.add(a)
            await s.flush()
            for i, p in enumerate(people):
                _oi, roles, home, d_unit, d_person = staff_spec[i]
                office = office_rows[staff_spec[i][0]]
                stationed = unit is not None and unit in office.units
                reasons = set()
                if stationed:
                    reasons.add("stationed")
                if d_unit is not None and unit is not None and units[d_unit] is unit:
                    reasons.add("declared")
                if d_person is not None and d_person in case_spec["people"]:
                    reasons.add("declared")
                # Cross inspection: the case's region, and the region of every unit it is about.
                if case_spec["cross"] and (home == case_spec["region"]
                                           or (unit is not None and p.home_region_id == unit.region_id)):
                    reasons.add("home")
                role = team.get(i)
                supervisor = bool(roles & {Role.supervisor, Role.admin})
                group_lead = Role.lead in roles and office.joint_group_id == group_of_unit and group_of_unit is not None
                view = await decide(s, sealer, p, case, Action.view)
                content = await decide(s, sealer, p, case, Action.view_content)
                local_liaison = role == "liaison" and reasons == {"stationed"}
                if reasons and not local_liaison:
                    for action in Action:  # a conflict hides everything
                        assert not await decide(s, sealer, p, case, action), (i, action, reasons)
                if role is None and not supervisor and not group_lead:
                    assert not view, (i, "no role in the case")
                if role == "liaison":  # the liaison's narrow view, whatever else the person may be
                    assert not content, (i, "liaison saw content")
                if role in ("lead", "member") and not reasons:
                    assert view and content, (i, "team member without a conflict must see the case")
            await s.rollback()
    finally:
        await engine.dispose()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(world=worlds())
def test_no_conflicted_or_unassigned_person_sees_a_case(db_url: str, world) -> None:  # type: ignore[no-untyped-def]
    asyncio.run(check(db_url, world))
