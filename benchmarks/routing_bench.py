"""Team proposal time (``handlers.cases.routing.propose``, the code path /propose uses) on the
demo organisation and generated ones (6 joint groups, or one group per 200 staff), on SQLite or,
with ``--url``, PostgreSQL (a throwaway database named after it, created and dropped).

Three phases, interleaved in every round (their order turns from round to round), each a number
of proposals in a unit of work of its own, as /propose has:

- ``propose``: the team proposal;
- ``floor``: reading the group's active people (id and office) in one statement, the least any
  proposal must do: what one round trip and the group's rows cost here;
- ``before``: the code this replaced (a statement per reason, roles and workload apart; it
  also left out three reasons), kept here for the ratio.

Printed per phase: p50 and p95 of each round, min and median over the rounds (and the median CPU
time of this process, its SQLite thread included: steadier than wall time on a loaded machine,
blind to the PostgreSQL server's work); the ratios
propose / floor and propose / before (per round, min and median); and the growth of propose's
p95 against the first generated organisation, with the group's size: time should follow the
group's size, not the organisation's.

Target: p95 ≤ 5 ms at 2,000 staff in 6 groups; at most linear in the group's size, independent
of the organisation's."""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import make_url

from bot.app import DEMO_ORG
from handlers.access import case_unit_ids, people_text
from handlers.app import make_deps
from handlers.cases import routing
from handlers.clock import SystemClock
from handlers.config import Config
from handlers.uow import UnitOfWork
from storage import migrate
from storage.crypto import Sealer
from storage.db import make_engine, make_sessionmaker, sync_url
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
    Unit,
    conflict_in_force,
    office_units,
)
from storage.orgfile import import_org, load_org_file
from tests.cases.test_routing_batched import pick_team

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
    n_cases = staff // 10
    await s.execute(insert(Case), [{"reference": f"W-{i}", "source": "public_report", "state": "assigned",
                                    "unit_id": rnd.choice(uids), "cross_inspection": False,
                                    "created_at": NOW, "updated_at": NOW} for i in range(n_cases)])
    cids = (await s.scalars(select(Case.id).order_by(Case.id))).all()
    await s.execute(insert(Assignment), [{"case_id": c, "status": "confirmed", "created_at": NOW, "confirmed_at": NOW,
                                          "proposal": {}} for c in cids])
    aids = (await s.scalars(select(Assignment.id).order_by(Assignment.id))).all()
    await s.execute(insert(AssignmentMember), [{"assignment_id": a, "staff_id": m, "role": "member"}
                                               for a in aids for m in rnd.sample(sids, 3)])


async def before(uow: UnitOfWork, case: Case) -> routing.Proposal:
    """The team proposal as it was before (a statement per reason, roles and workload apart)."""
    if case.joint_group_id is None:
        return routing.Proposal(None, problem="no_group")
    session, team_size = uow.session, uow.config.team_size
    people = await people_text(session, uow.sealer, case)
    recent = await routing.recently_handled(session, case.unit_id, uow.now(), uow.config.rotation_months)
    in_group = (select(Staff.id).join(Office, Office.id == Staff.office_id)
                .where(Office.joint_group_id == case.joint_group_id, Staff.active.is_(True)))
    load = await routing.open_workload(session, in_group)
    roles: dict[int, set[Role]] = {}
    for sid, role in await session.execute(select(StaffRole.staff_id, StaffRole.role).where(StaffRole.staff_id.in_(in_group))):
        roles.setdefault(sid, set()).add(Role(role))
    candidates = [routing.Person(sid, login, name, office_id, home, roles.get(sid, set()))
                  for sid, login, name, office_id, home in await session.execute(
                      select(Staff.id, Staff.login, Staff.name, Staff.office_id, Staff.home_region_id)
                      .join(Office, Office.id == Staff.office_id)
                      .where(Office.joint_group_id == case.joint_group_id, Staff.active.is_(True)).order_by(Staff.id))]
    units = await case_unit_ids(session, case)
    stationed: set[int] = set()
    declared: set[int] = set()
    regions: set[int | None] = set()
    if units:
        stationed = set((await session.scalars(
            select(office_units.c.office_id).where(office_units.c.unit_id.in_(units)))).all())
        declared = set((await session.scalars(select(ConflictDeclaration.staff_id).where(
            ConflictDeclaration.unit_id.in_(units), ConflictDeclaration.staff_id.in_(in_group), conflict_in_force()))).all())
        if case.cross_inspection:
            regions = set((await session.scalars(select(Unit.region_id).where(Unit.id.in_(units)))).all())
    names: dict[int, list[str]] = {}
    if people:
        for sid, name in await session.execute(select(ConflictDeclaration.staff_id, ConflictDeclaration.person_name)
                                               .where(ConflictDeclaration.staff_id.in_(in_group),
                                                      ConflictDeclaration.person_name.is_not(None), conflict_in_force())):
            names.setdefault(sid, []).append(name)
    proposal = routing.Proposal(case.joint_group_id)
    eligible: list[routing.Person] = []
    for s in candidates:
        if not (s.roles & {Role.field, Role.lead}):
            continue
        out = []
        if s.office_id in stationed:
            out.append("stationed")
        if s.id in declared:
            out.append("declared_unit")
        if case.cross_inspection and s.home_region_id is not None and (
                s.home_region_id in regions or s.home_region_id == case.region_id):
            out.append("home_region")
        if people and any(n and n in people for n in names.get(s.id, [])):
            out.append("declared_person")
        if s.id in recent:
            out.append("rotation")
        if out:
            proposal.exclusions.append(routing.Exclusion(s.id, s.login, s.name, out))
        else:
            eligible.append(s)
    return pick_team(proposal, eligible, load, team_size)


async def floor(uow: UnitOfWork, case: Case) -> Any:
    """The group's active people, id and office, in one statement."""
    return (await uow.session.execute(
        select(Staff.id, Staff.office_id).join(Office, Office.id == Staff.office_id)
        .where(Office.joint_group_id == case.joint_group_id, Staff.active.is_(True)))).all()


PHASES: dict[str, Callable[[UnitOfWork, Case], Awaitable[Any]]] = {
    "propose": routing.propose, "floor": floor, "before": before}


class Database:
    """A SQLite file, or a throwaway PostgreSQL database named after ``--url``."""

    def __init__(self, url: str | None) -> None:
        self.base = url
        self.tmp = tempfile.TemporaryDirectory()
        self.name = f"{make_url(url).database}_{uuid.uuid4().hex[:8]}" if url else ""

    def __enter__(self) -> str:
        if self.base is None:
            return f"sqlite+aiosqlite:///{Path(self.tmp.name) / 'routing.db'}"
        self.admin = create_engine(make_url(sync_url(self.base)).set(database="postgres"), isolation_level="AUTOCOMMIT")
        with self.admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{self.name}"'))
        return make_url(self.base).set(database=self.name).render_as_string(hide_password=False)

    def __exit__(self, *exc: object) -> None:
        if self.base is not None:
            with self.admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
            self.admin.dispose()
        self.tmp.cleanup()


def pct(times: list[float], q: float) -> float:
    times = sorted(times)
    return times[int(q * (len(times) - 1))]


def ms(values: list[float]) -> str:
    """min and median of per-round figures, in ms."""
    return f"{min(values) * 1000:.1f}/{statistics.median(values) * 1000:.1f}"


async def measure(label: str, base_url: str | None, staff: int | None, groups: int, proposals: int,
                  rounds: int) -> tuple[float, float]:
    """(median over rounds of propose's p95, the mean group size)."""
    with Database(base_url) as url:
        await asyncio.to_thread(migrate.upgrade, url)
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
        if engine.dialect.name == "postgresql":
            async with engine.begin() as c:
                await c.execute(text("ANALYZE"))
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
            n_staff = await uow.session.scalar(select(func.count()).select_from(Staff))
            sizes = Counter((await uow.session.scalars(select(Office.joint_group_id).join(Staff, Staff.office_id == Office.id)
                                                       .where(Office.joint_group_id.is_not(None)))).all())
        group_size = statistics.mean(sizes.values()) if sizes else 0.0
        order = list(PHASES)
        p50s: dict[str, list[float]] = {k: [] for k in PHASES}
        p95s: dict[str, list[float]] = {k: [] for k in PHASES}
        cpus: dict[str, list[float]] = {k: [] for k in PHASES}
        for r in range(rounds):
            for name in order[r % len(order):] + order[:r % len(order)]:
                fn, times, cpu = PHASES[name], [], []
                for i in range(proposals + 3):
                    async with deps.begin() as uow:
                        case = await uow.session.get(Case, case_ids[i % len(case_ids)])
                        t, c = time.perf_counter(), time.process_time()
                        await fn(uow, case)
                        if i >= 3:  # the first ones warm the caches
                            times.append(time.perf_counter() - t)
                            cpu.append(time.process_time() - c)
                p50s[name].append(statistics.median(times))
                p95s[name].append(pct(times, 0.95))
                cpus[name].append(statistics.median(cpu))
        await engine.dispose()
    print(f"{label}: {n_staff} staff, {len(sizes)} groups of ~{group_size:.0f} (set-up {setup:.1f} s), "
          f"{rounds} rounds of {proposals} proposals; ms min/median over rounds:")
    for name in PHASES:
        print(f"  {name:8} p50 {ms(p50s[name])}  p95 {ms(p95s[name])}  (this process's CPU, p50 {ms(cpus[name])})")
    for other in ("floor", "before"):
        ratios = [a / b for a, b in zip(p50s["propose"], p50s[other], strict=True)]
        print(f"  propose / {other} (p50 per round): ×{min(ratios):.2f} min, ×{statistics.median(ratios):.2f} median")
    return statistics.median(p95s["propose"]), group_size


async def main(sizes: list[int], proposals: int, rounds: int, url: str | None) -> None:
    print(f"database: {make_url(url).get_backend_name() if url else 'sqlite'}")
    await measure("demo", url, None, 0, proposals, rounds)
    base: tuple[float, float] | None = None
    for n in sizes:
        for groups in (6, max(6, n // 200)):
            p95, size = await measure(f"generated {n}", url, n, groups, proposals, rounds)
            if base is None:
                base = (p95, size)
            print(f"  propose p95 against the first generated organisation: ×{p95 / base[0]:.2f} "
                  f"(group size ×{size / base[1]:.2f}); {p95 / size * 1e6:.1f} µs per person in the group")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--staff", type=int, nargs="+", default=[2000])
    ap.add_argument("--proposals", type=int, default=40, help="per phase and round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--url", help="PostgreSQL URL (a throwaway database named after it is used); default SQLite")
    a = ap.parse_args()
    asyncio.run(main(a.staff, a.proposals, a.rounds, a.url))
