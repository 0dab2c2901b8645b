"""A large organisation import (18,000 rows) does not lock people out: it writes in batches that
commit (others see the staff arrive batch by batch), so messages sent meanwhile are answered while
the import is still running, and none meets "database is locked"."""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy import func, select

from handlers.deps import Deps
from storage.models import ConflictDeclaration, Staff, StaffOfficeSpell, StaffRole
from storage.orgfile import OrgIn, import_org_batched

SORRY = "系统出现问题"  # the dispatcher's apology when an update failed (e.g. the database was locked)


def big_org(rows: int = 18_000, *, units: int = 1_500, offices: int = 300, groups: int = 30,
            regions: int = 20) -> OrgIn:
    """A generated organisation of ``rows`` rows in all (regions, units, groups, offices, staff)."""
    staff = rows - units - offices - groups - regions
    return OrgIn.model_validate({
        "regions": [{"code": f"xr{i}", "name": f"Region {i}"} for i in range(regions)],
        "units": [{"code": f"xu{i}", "name": f"Unit {i}", "region": f"xr{i % regions}"} for i in range(units)],
        "joint_groups": [{"code": f"xg{i}", "name": f"Group {i}"} for i in range(groups)],
        "offices": [{"code": f"xo{i}", "name": f"Office {i}", "joint_group": f"xg{i % groups}",
                     "units": [f"xu{(i * 5 + k) % units}" for k in range(5)]} for i in range(offices)],
        "staff": [{"login": f"xp{i}", "name": f"Person {i}", "office": f"xo{i % offices}",
                   "home_region": f"xr{i % regions}", "roles": ["field", "lead"] if i % 50 == 0 else ["field"],
                   "conflicts": [{"unit": f"xu{i % units}", "kind": "relative", "reason": "spouse"}]
                   if i % 10 == 0 else []}
                  for i in range(staff)],
    })


async def test_messages_are_answered_while_a_large_import_runs(deps: Deps, chat, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.WARNING)
    org = big_org()
    async with deps.sessionmaker() as s:
        staff_before = int(await s.scalar(select(func.count()).select_from(Staff)) or 0)
    reporter = chat("busy-reporter")
    answered_during: list[str] = []
    seen_counts: set[int] = set()

    importing = asyncio.create_task(import_org_batched(deps.sessionmaker, org, batch=500))
    steps = ["/report", "交通警察", "/cancel"]
    i = 0
    while not importing.done():
        replies = await reporter.send(steps[i % len(steps)])
        text = "\n".join(r.text for r in replies)
        assert replies and SORRY not in text, text
        if not importing.done():
            answered_during.append(text)
            async with deps.sessionmaker() as s:  # what others see: batches committed so far
                seen_counts.add(int(await s.scalar(select(func.count()).select_from(Staff)) or 0))
        i += 1
        await asyncio.sleep(0)
    stats = await importing

    assert len(answered_during) >= 3, "no message was answered while the import ran"
    # The import committed batch by batch: part of the staff was visible while it still ran.
    assert len({n for n in seen_counts if staff_before < n < staff_before + 16_150}) >= 2, seen_counts
    assert "database is locked" not in caplog.text
    assert stats["added"] == 18_000
    async with deps.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Staff)) == staff_before + 16_150
        assert await s.scalar(select(func.count()).select_from(StaffRole).join(Staff).where(
            Staff.login.like("xp%"))) == 16_150 + 323
        assert await s.scalar(select(func.count()).select_from(StaffOfficeSpell).join(Staff).where(
            Staff.login.like("xp%"))) == 16_150
        assert await s.scalar(select(func.count()).select_from(ConflictDeclaration).join(
            Staff, ConflictDeclaration.staff_id == Staff.id).where(Staff.login.like("xp%"))) == 1_615
    again = await import_org_batched(deps.sessionmaker, org)  # idempotent: a second run changes nothing
    assert again == {"added": 0, "changed": 0}
