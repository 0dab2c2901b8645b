"""Cross inspection (home region) and rotation exclusions, driven by settings."""

from __future__ import annotations

from sqlalchemy import select, update

from handlers.cases import routing, service
from handlers.deps import Deps
from handlers.lifecycle import open_case, record_transition
from storage.models import CaseSource, CaseState, Region, Staff, Unit


async def new_case(deps: Deps, source: CaseSource, unit_code: str = "u09"):  # type: ignore[no-untyped-def]
    async with deps.begin() as uow:
        unit = await uow.session.scalar(select(Unit).where(Unit.code == unit_code))
        case = await open_case(uow, source=source, now=deps.clock.now(), unit_id=unit.id)
        await routing.route(uow, case)
        await record_transition(uow, case, CaseState.accepted, now=deps.clock.now(), actor_staff_id=None)
        return case.id


async def proposal(deps: Deps, case_id: int):  # type: ignore[no-untyped-def]
    from storage.models import Case

    async with deps.begin() as uow:
        case = await uow.session.get(Case, case_id)
        return await routing.propose(uow, case)


async def test_cross_inspection_excludes_the_home_region_only_where_it_applies(deps: Deps) -> None:
    async with deps.sessionmaker() as s, s.begin():
        region = await s.scalar(select(Region).where(Region.code == "dongzhou"))
        await s.execute(update(Unit).where(Unit.code == "u09").values(region_id=region.id))
        locals_ = set((await s.scalars(select(Staff.login).where(Staff.home_region_id == region.id))).all())
    inspection = await proposal(deps, await new_case(deps, CaseSource.inspection_handover))
    excluded = {e.login: e.reasons for e in inspection.exclusions}
    group_locals = {login for login in excluded if "home_region" in excluded[login]}
    assert group_locals and group_locals <= locals_
    report = await proposal(deps, await new_case(deps, CaseSource.public_report))
    assert not any("home_region" in e.reasons for e in report.exclusions)


async def test_who_handled_the_unit_recently_is_rotated_out(deps: Deps) -> None:
    from storage.models import Case

    first_id = await new_case(deps, CaseSource.self_found)
    p1 = await proposal(deps, first_id)
    async with deps.begin() as uow:
        sup = await uow.session.scalar(select(Staff).where(Staff.login == "sup1"))
        case = await uow.session.get(Case, first_id)
        await service.confirm_team(uow, sup, case, lead_id=p1.lead_id, member_ids=p1.member_ids)
    p2 = await proposal(deps, await new_case(deps, CaseSource.self_found))
    rotated = {e.staff_id for e in p2.exclusions if "rotation" in e.reasons}
    assert rotated == {p1.lead_id, *p1.member_ids}
    assert not ({p2.lead_id, *p2.member_ids} & rotated)
