"""Loading an organisation: the demo, idempotence, and bad files named by line."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.app import DEMO_ORG
from storage.base import Base
from storage.db import make_engine, make_sessionmaker
from storage.models import ConflictDeclaration, JointGroup, JointUnit, Office, Region, Staff
from storage.orgfile import OrgFileError, import_org, load_org_file, parse_org


async def snapshot(url: str) -> dict[str, list[tuple]]:
    engine = make_engine(url)
    out = {}
    async with engine.connect() as c:
        for t in Base.metadata.sorted_tables:
            rows = (await c.execute(select(t))).all()
            out[t.name] = sorted(tuple(map(str, r)) for r in rows)
    await engine.dispose()
    return out


async def test_demo_organisation_has_the_promised_shape(demo_db_url: str) -> None:
    engine = make_engine(demo_db_url)
    async with make_sessionmaker(engine)() as s:
        assert await s.scalar(select(func.count()).select_from(JointGroup)) == 6
        # 45 stationed offices, plus the commission office and the city's commission of the joint unit.
        assert await s.scalar(select(func.count()).select_from(Office).where(Office.joint_group_id.is_not(None))) == 45
        assert await s.scalar(select(func.count()).select_from(JointUnit)) == 1
        assert await s.scalar(select(func.count()).select_from(Region)) == 12
        n_staff = await s.scalar(select(func.count()).select_from(Staff))
        assert 190 <= n_staff <= 220
        assert await s.scalar(select(func.count()).select_from(ConflictDeclaration)) > 5
        # The political-legal group holds the traffic police, court, procuratorate and state security.
        jg1 = await s.scalar(select(JointGroup).where(JointGroup.code == "jg1"))
        names = {o.name for o in (await s.scalars(select(Office).where(Office.joint_group_id == jg1.id))).all()}
        for unit in ("交通警察总队", "高级人民法院", "人民检察院", "国家安全厅"):
            assert any(unit in n for n in names), unit
    await engine.dispose()


async def test_importing_the_same_file_twice_changes_nothing(db_url: str) -> None:
    org = load_org_file(DEMO_ORG)
    engine = make_engine(db_url)
    sm = make_sessionmaker(engine)
    async with sm() as s, s.begin():
        first = await import_org(s, org)
    assert first["added"] > 250
    before = await snapshot(db_url)
    async with sm() as s, s.begin():
        second = await import_org(s, org)
    assert second == {"added": 0, "changed": 0}
    assert await snapshot(db_url) == before
    await engine.dispose()


async def test_a_changed_file_updates_in_place(db_url: str) -> None:
    engine = make_engine(db_url)
    sm = make_sessionmaker(engine)
    base = "regions: [{code: r1, name: R1}]\nstaff:\n  - {login: a, name: A, home_region: r1, roles: [field]}\n"
    async with sm() as s, s.begin():
        await import_org(s, parse_org(base))
    async with sm() as s, s.begin():
        stats = await import_org(s, parse_org(base.replace("name: A,", "name: A2,").replace("[field]", "[lead]")))
    assert stats == {"added": 0, "changed": 2}
    async with sm() as s:
        a = await s.scalar(select(Staff).where(Staff.login == "a"))
        assert a.name == "A2" and {r.value for r in a.roles} == {"lead"}
    await engine.dispose()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("regions:\n  - code: r1\n    name: R1\nstaff:\n  - login: a\n    name: A\n    roles: [boss]\n",
         ["line 7", "staff.0.roles.0"]),
        ("units:\n  - code: u1\n    name: U\n    region: nowhere\n", ["line 4", "unknown region 'nowhere'"]),
        ("regions: [{code: r1, name: R1}]\nregions2: []\n", ["line 2", "regions2"]),
        ("staff:\n  - login: a\n    name: A\n  - login: a\n    name: B\n", ["line 4", "duplicate login 'a'"]),
        ("staff:\n  - login: a\n   name: A\n", ["line 3", "not valid YAML"]),
        ("offices:\n  - code: o1\n    name: O\n    units: [u9]\n", ["line 4", "unknown unit 'u9'"]),
        ("", ["empty"]),
    ],
)
def test_bad_file_is_rejected_with_line_and_field(text: str, expected: list[str]) -> None:
    with pytest.raises(OrgFileError) as err:
        parse_org(text, "org.yaml")
    for part in expected:
        assert part in str(err.value)


async def test_rejected_file_writes_nothing(db_url: str, tmp_path: Path) -> None:
    from bot.cli import main

    bad = tmp_path / "bad.yaml"
    bad.write_text("regions: [{code: r1, name: R1}]\nstaff:\n  - {login: a, name: A, office: nope}\n", encoding="utf-8")
    before = await snapshot(db_url)
    import os

    os.environ["LIANZU_DATABASE_URL"] = db_url
    try:
        code = main(["org", "import", str(bad)])
    finally:
        del os.environ["LIANZU_DATABASE_URL"]
    assert code == 2
    assert await snapshot(db_url) == before
