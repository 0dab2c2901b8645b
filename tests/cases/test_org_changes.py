"""Organisation changes over time: office history counts in conflicts; export round-trips."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from sqlalchemy import select

from handlers.access import conflict_reasons
from handlers.deps import Deps
from storage.db import make_engine, make_sessionmaker
from storage.models import Case, Staff, StaffOfficeSpell, Unit
from storage.orgfile import export_org, import_org, load_org_file, parse_org

DEMO = Path(__file__).resolve().parents[2] / "storage" / "demo" / "org-demo.yaml"


def _keyed(org) -> dict:  # type: ignore[no-untyped-def]
    d = org.model_dump()
    for person in d["staff"]:  # a person's roles and declarations are sets
        person["roles"] = sorted(person["roles"])
        person["conflicts"] = sorted(person["conflicts"], key=str)
    return {k: sorted(d[k], key=lambda x: x.get("code") or x.get("login")) for k in d}


def test_export_writes_back_what_was_imported(demo_db_url: str, tmp_path: Path) -> None:
    from bot.cli import main

    out = tmp_path / "exported.yaml"
    os.environ["LIANZU_DATABASE_URL"] = demo_db_url
    try:
        assert main(["org", "export", str(out)]) == 0
    finally:
        del os.environ["LIANZU_DATABASE_URL"]
    exported = parse_org(out.read_text(encoding="utf-8"), "exported.yaml")
    assert _keyed(exported) == _keyed(load_org_file(DEMO))

    async def reimport() -> dict[str, int]:
        engine = make_engine(demo_db_url)
        try:
            async with make_sessionmaker(engine)() as s, s.begin():
                return await import_org(s, exported)
        finally:
            await engine.dispose()

    assert asyncio.run(reimport()) == {"added": 0, "changed": 0}


async def test_an_office_transfer_keeps_the_old_office_in_conflicts(deps: Deps, clock) -> None:
    org = load_org_file(DEMO)
    mover = next(s for s in org.staff if s.login == "o02-f1")
    mover.office = "o09"  # moves from the office stationed at u02 to one in another joint group
    async with deps.sessionmaker() as s, s.begin():
        await import_org(s, org, now=clock.now())
    async with deps.sessionmaker() as s, s.begin():
        staff = await s.scalar(select(Staff).where(Staff.login == "o02-f1"))
        spells = (await s.scalars(select(StaffOfficeSpell).where(StaffOfficeSpell.staff_id == staff.id)
                                  .order_by(StaffOfficeSpell.id))).all()
        assert [sp.until is None for sp in spells] == [False, True]
        u02 = await s.scalar(select(Unit).where(Unit.code == "u02"))
        case = Case(reference="T1", source="self_found", state="received", unit_id=u02.id,
                    created_at=clock.now(), updated_at=clock.now())
        s.add(case)
        await s.flush()
        assert await conflict_reasons(s, deps.sealer, staff, case) == ["formerly_stationed"]
        # Someone who never sat there has no such reason.
        other = await s.scalar(select(Staff).where(Staff.login == "o09-f1"))
        assert await conflict_reasons(s, deps.sealer, other, case) == []
    assert await export_org_office(deps, "o02-f1") == "o09"


async def export_org_office(deps: Deps, login: str) -> str:
    async with deps.sessionmaker() as s:
        data = await export_org(s)
    return next(p["office"] for p in data["staff"] if p["login"] == login)
