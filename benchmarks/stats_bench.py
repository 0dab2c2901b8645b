"""/stats over many cases on PostgreSQL against hand-written GROUP BYs (target ≤ 1.5×).

/stats shows three periods (this one, the same one last year, the one before): the product
serves them with one statement (``stats_for``); the baseline runs the hand-written query once per
period. The query-per-figure code it replaced (tests/schedule/stats_reference.py) is timed too.
Phases interleaved, repeated; min and median."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import UTC, datetime

from sqlalchemy import create_engine, text, true
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.schedule.figures import Period, stats_for
from storage import migrate
from storage.db import make_engine, make_sessionmaker, sync_url

HAND = """
SELECT 'source', source, count(*), 0 FROM cases WHERE created_at >= :a AND created_at < :b GROUP BY source
UNION ALL
SELECT 'screened', '', count(DISTINCT case_id), 0 FROM case_transitions
  WHERE to_state IN ('accepted','forwarded') AND at >= :a AND at < :b
UNION ALL
SELECT to_state, '', count(DISTINCT case_id), 0 FROM case_transitions
  WHERE to_state IN ('accepted', 'filed') AND at >= :a AND at < :b GROUP BY to_state
UNION ALL
SELECT 'disposal', c.disposal, count(DISTINCT c.id), 0 FROM cases c JOIN case_transitions t ON t.case_id = c.id
  WHERE t.to_state = 'disposed' AND t.at >= :a AND t.at < :b GROUP BY c.disposal
UNION ALL
SELECT 'concluded', '', count(*), coalesce(sum(people_disciplined), 0) FROM cases
  WHERE concluded_at >= :a AND concluded_at < :b
"""


def fill(url: str, n: int) -> None:
    """Make n cases with transitions spread over three years, with set-based SQL."""
    eng = create_engine(sync_url(url))
    with eng.begin() as c:
        have = c.execute(text("SELECT count(*) FROM cases")).scalar()
        if have >= n:
            return
        c.execute(text("""
          INSERT INTO cases (reference, source, state, cross_inspection, filed, created_at, updated_at, concluded_at,
                             people_disciplined, disposal)
          SELECT 'B' || g, (ARRAY['public_report','inspection_handover','audit_handover','superior_referral','self_found'])[1 + g % 5],
                 CASE WHEN g % 3 = 0 THEN 'concluded' ELSE 'accepted' END, false, g % 7 = 0,
                 timestamptz '2024-01-01' + (g % 1095) * interval '1 day', now(),
                 CASE WHEN g % 3 = 0 THEN timestamptz '2024-01-01' + (g % 1095 + 20) * interval '1 day' END,
                 CASE WHEN g % 3 = 0 THEN g % 3 END,
                 (ARRAY['talk_inquiry','preliminary_verification','shelved','closed_no_action'])[1 + g % 4]
          FROM generate_series(:from, :to) g"""), {"from": have + 1, "to": n})
        c.execute(text("""
          INSERT INTO case_transitions (case_id, from_state, to_state, reason, at)
          SELECT id, 'received', 'accepted', '', created_at + interval '1 day' FROM cases WHERE reference LIKE 'B%'
          UNION ALL  -- one case in eleven is forwarded after acceptance (转办)
          SELECT id, 'accepted', 'forwarded', '', created_at + interval '3 day' FROM cases
            WHERE reference LIKE 'B%' AND substr(reference, 2)::int % 11 = 0
          UNION ALL  -- every concluded or filed case was disposed first
          SELECT id, 'acknowledged', 'disposed', '', created_at + interval '6 day' FROM cases
            WHERE reference LIKE 'B%' AND (state = 'concluded' OR filed)
          UNION ALL
          SELECT id, 'disposed', 'filed', '', created_at + interval '10 day' FROM cases WHERE reference LIKE 'B%' AND filed"""))
        c.execute(text("ANALYZE"))
    eng.dispose()


def spread(xs: list[float]) -> str:
    return f"min {min(xs) * 1000:.1f} ms, median {statistics.median(xs) * 1000:.1f} ms"


async def bench(url: str, rounds: int) -> None:
    from tests.schedule.stats_reference import stats_one_by_one

    engine = make_engine(url)
    sm = make_sessionmaker(engine)
    p = Period(datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 4, 1, tzinfo=UTC), "2025-Q1")
    three = [p, p.shift(years=-1), p.shift(back=True)]

    async def ours(s: AsyncSession) -> object:
        return await stats_for(s, true(), three)

    async def hand(s: AsyncSession) -> object:
        return [(await s.execute(text(HAND), {"a": q.start, "b": q.end})).all() for q in three]

    async def before(s: AsyncSession) -> object:
        return [await stats_one_by_one(s, true(), q) for q in three]

    phases = {"one statement": ours, "hand-written": hand, "query per figure": before}
    times: dict[str, list[float]] = {k: [] for k in phases}
    async with sm() as s:
        for fn in phases.values():
            await fn(s)  # warm up
        assert await ours(s) == await before(s)
        for r in range(rounds):
            for name in (list(phases) if r % 2 == 0 else list(reversed(phases))):
                t = time.perf_counter()
                await phases[name](s)
                times[name].append(time.perf_counter() - t)
    await engine.dispose()
    for name, xs in times.items():
        print(f"{name:17s} {spread(xs)}")
    o, h, b = (times[k] for k in phases)
    print(f"/stats (3 periods, one statement) vs hand-written GROUP BYs: ×{min(o) / min(h):.2f} (min), "
          f"×{statistics.median(o) / statistics.median(h):.2f} (median) (target ≤ 1.5×)")
    print(f"one statement vs the query-per-figure code: ×{min(o) / min(b):.2f} (min), "
          f"×{statistics.median(o) / statistics.median(b):.2f} (median)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True, help="postgresql+asyncpg://… (a database it may fill)")
    ap.add_argument("--cases", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    if make_url(a.url).get_backend_name() != "postgresql":
        raise SystemExit("this benchmark is for PostgreSQL")
    admin = create_engine(make_url(sync_url(a.url)).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        if not c.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": make_url(a.url).database}).scalar():
            c.execute(text(f'CREATE DATABASE "{make_url(a.url).database}"'))
    admin.dispose()
    migrate.upgrade(a.url)
    t = time.perf_counter()
    fill(a.url, a.cases)
    print(f"{a.cases} cases ready in {time.perf_counter() - t:.1f} s")
    asyncio.run(bench(a.url, a.rounds))


if __name__ == "__main__":
    main()
