"""/stats over many cases on PostgreSQL against a hand-written GROUP BY (target ≤ 1.5×)."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import UTC, datetime

from sqlalchemy import create_engine, text, true
from sqlalchemy.engine import make_url

from handlers.schedule.figures import Period, stats
from storage import migrate
from storage.db import make_engine, make_sessionmaker, sync_url

HAND = """
SELECT
  (SELECT count(*) FROM cases WHERE created_at >= :a AND created_at < :b),
  (SELECT count(*) FROM (SELECT source FROM cases WHERE created_at >= :a AND created_at < :b GROUP BY source) s),
  (SELECT count(DISTINCT case_id) FROM case_transitions WHERE to_state IN ('accepted','forwarded') AND at >= :a AND at < :b),
  (SELECT count(DISTINCT case_id) FROM case_transitions WHERE to_state = 'filed' AND at >= :a AND at < :b),
  (SELECT count(*) FROM cases WHERE concluded_at >= :a AND concluded_at < :b),
  (SELECT coalesce(sum(people_disciplined), 0) FROM cases WHERE concluded_at >= :a AND concluded_at < :b),
  (SELECT count(DISTINCT c.id) FROM cases c JOIN case_transitions t ON t.case_id = c.id
     WHERE t.to_state = 'disposed' AND t.at >= :a AND t.at < :b)
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
          UNION ALL
          SELECT id, 'disposed', 'filed', '', created_at + interval '10 day' FROM cases WHERE reference LIKE 'B%' AND filed"""))
        c.execute(text("ANALYZE"))
    eng.dispose()


async def bench(url: str, rounds: int) -> None:
    engine = make_engine(url)
    sm = make_sessionmaker(engine)
    p = Period(datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 4, 1, tzinfo=UTC), "2025-Q1")
    ours, hand = [], []
    async with sm() as s:
        await stats(s, true(), p)  # warm up
        await s.execute(text(HAND), {"a": p.start, "b": p.end})
        for _ in range(rounds):
            t = time.perf_counter()
            await stats(s, true(), p)
            ours.append(time.perf_counter() - t)
            t = time.perf_counter()
            await s.execute(text(HAND), {"a": p.start, "b": p.end})
            hand.append(time.perf_counter() - t)
    await engine.dispose()
    o, h = statistics.median(ours), statistics.median(hand)
    print(f"/stats aggregation: {o * 1000:.1f} ms; hand-written GROUP BY: {h * 1000:.1f} ms; ratio {o / h:.2f}× (target ≤ 1.5×)")


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
