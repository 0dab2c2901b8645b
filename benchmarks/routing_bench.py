"""Team proposal time (``handlers.cases.routing.propose``, the code path /propose uses) on SQLite:
the demo organisation and generated ones (6 joint groups, or many), p50/p95 over repeated
proposals, and the growth ratio of each against the smallest generated one.

Target: p95 ≤ 5 ms at 2,000 staff; at most linear in the group's size, independent of the
organisation's."""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert, select

from bot.app import DEMO_ORG
from handlers.app import make_deps
from handlers.cases import routing
from handlers.clock import SystemClock
from handlers.config import Config
from storage import migrate
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
    Staff,
    StaffRole,
    Unit,
    office_units,
)
from storage.orgfile import import_org, load_org_file

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


async def generate(s, staff: int, groups: int, rnd: random.Random) -> None:  # type: ignore[no-untyped-def]
    """``groups`` joint groups of 8 offices each, 2 units per office, ``staff`` people spread evenly."""
    await s.execute(insert(Region), [{"code": f"r{i}", "name": f"R{i}"} for i in range(10)])
    regions = (await s.scalars(select(Region.id))).all()
    await s.execute(insert(JointGroup), [{"code": f"g{i}", "name": f"G{i}"} for i in range(groups)])
    gids = (await s.scalars(select(JointGroup.id).order_by(JointGroup.id))).all()
    n_off = groups * 8
    await s.execute(insert(Office), [{"code": f"o{i}", "name": f"O{i}", "joint_group_id": gids[i % groups]}
                                     for i in range(n_off)])
    oids = (await s.scalars(select(Office.id).order_by(Office.id))).all()
    await s.execute(insert(Unit), [{"code": f"u{i}", "name": f"U{i}", "region_id": rnd.choice(regions)}
                                   for i in range(2 * n_off)])
    uids = (await s.scalars(select(Unit.id).order_by(Unit.id))).all()
    await s.execute(insert(office_units), [{"office_id": oids[i // 2], "unit_id": u} for i, u in enumerate(uids)])
    await s.execute(insert(Staff), [{"login": f"s{i}", "name": f"S{i}", "office_id": oids[i % n_off],
                                     "home_region_id": rnd.choice(regions), "active": True} for i in range(staff)])
    sids = (await s.scalars(select(Staff.id).order_by(Staff.id))).all()
    await s.execute(insert(StaffRole), [{"staff_id": sid, "role": "lead" if i % 10 == 0 else "field"}
                                        for i, sid in enumerate(sids)])
    await s.execute(insert(ConflictDeclaration), [{"staff_id": rnd.choice(sids), "unit_id": rnd.choice(uids),
                                                   "kind": "relative"} for _ in range(staff // 20)])
    # Open workload: a confirmed assignment of 3 on about one case per 10 staff.
    for i in range(staff // 10):
        case = Case(reference=f"W-{i}", source="public_report", state="assigned", unit_id=rnd.choice(uids),
                    cross_inspection=False, created_at=NOW, updated_at=NOW)
        s.add(case)
        await s.flush()
        s.add(Assignment(case_id=case.id, status="confirmed", created_at=NOW, confirmed_at=NOW,
                         members=[AssignmentMember(staff_id=m, role="member") for m in rnd.sample(sids, 3)]))
    await s.flush()


async def measure(label: str, staff: int | None, groups: int, proposals: int) -> float:
    tmp = Path(tempfile.mkdtemp())
    url = f"sqlite+aiosqlite:///{tmp / 'routing.db'}"
    migrate.upgrade(url)
    cfg = Config(database_url=url)
    engine = make_engine(url)
    sm = make_sessionmaker(engine)
    rnd = random.Random(15)
    t0 = time.perf_counter()
    async with sm() as s, s.begin():
        if staff is None:
            await import_org(s, load_org_file(DEMO_ORG))
        else:
            await generate(s, staff, groups, rnd)
    setup = time.perf_counter() - t0
    deps = make_deps(cfg, sm, SystemClock(), Sealer(cfg.keyring))
    async with deps.begin() as uow:
        units = (await uow.session.scalars(select(Unit.id).order_by(Unit.id))).all()
        case_ids = []
        for i, u in enumerate(rnd.sample(list(units), min(20, len(units)))):
            case = Case(reference=f"B-{i}", source="inspection_handover", state="accepted", unit_id=u,
                        created_at=NOW, updated_at=NOW)
            await routing.route(uow, case)
            uow.session.add(case)
            await uow.session.flush()
            case_ids.append(case.id)
        n_staff = len((await uow.session.scalars(select(Staff.id))).all())
    times = []
    for i in range(proposals):
        async with deps.begin() as uow:
            case = await uow.session.get(Case, case_ids[i % len(case_ids)])
            t = time.perf_counter()
            await routing.propose(uow, case)
            times.append(time.perf_counter() - t)
    await engine.dispose()
    times.sort()
    p50, p95 = statistics.median(times), times[int(0.95 * (len(times) - 1))]
    print(f"{label}: {n_staff} staff, {groups if staff else '-'} groups (set-up {setup:.1f} s): "
          f"p50 {p50 * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms over {proposals} proposals")
    return p95


async def main(sizes: list[int], proposals: int) -> None:
    await measure("demo", None, 0, proposals)
    base: float | None = None
    for n in sizes:
        for groups in (6, max(6, n // 200)):
            p95 = await measure(f"generated {n}", n, groups, proposals)
            if base is None:
                base = p95
            print(f"  p95 growth against the first generated organisation: {p95 / base:.2f}×")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--staff", type=int, nargs="+", default=[2000])
    ap.add_argument("--proposals", type=int, default=100)
    a = ap.parse_args()
    asyncio.run(main(a.staff, a.proposals))
