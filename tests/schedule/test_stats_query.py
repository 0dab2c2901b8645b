"""/stats serves its three periods (this one, the same one last year, the one before) with one
statement, and gives exactly what the query-per-figure code gave, on generated data."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import event, select, true

from handlers.deps import Deps
from handlers.schedule.figures import Period, parse_period, scope, stats_for
from storage.models import Case, CaseTransition, JointGroup, Staff
from tests.schedule.stats_reference import stats_one_by_one

SOURCES = ["public_report", "inspection_handover", "audit_handover", "superior_referral", "self_found"]
DISPOSALS = ["talk_inquiry", "preliminary_verification", "shelved", "closed_no_action", None]


async def generate(deps: Deps, n: int, seed: int) -> None:
    """Cases over 2024–2026 that move through every state the figures count, some accepted and
    then forwarded in the same period, some disposed twice, some exactly on a period's edge."""
    rnd = random.Random(seed)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    async with deps.begin() as uow:
        groups = list((await uow.session.scalars(select(JointGroup.id))).all())
        for g in range(n):
            at = start + timedelta(days=rnd.randrange(0, 900), hours=rnd.randrange(0, 24))
            if rnd.random() < 0.1:  # on a month's edge in local time
                at = datetime(rnd.choice((2025, 2026)), rnd.randrange(1, 13), 1, tzinfo=UTC) - timedelta(hours=8)
            concluded = at + timedelta(days=rnd.randrange(1, 80)) if rnd.random() < 0.4 else None
            c = Case(reference=f"G{seed}-{g}", source=rnd.choice(SOURCES), state="accepted", created_at=at, updated_at=at,
                     joint_group_id=rnd.choice(groups), disposal=rnd.choice(DISPOSALS), concluded_at=concluded,
                     people_disciplined=rnd.randrange(0, 4) if concluded else None)
            uow.session.add(c)
            await uow.session.flush()
            t = at
            for to in ("accepted", "forwarded", "disposed", "disposed", "filed"):
                if rnd.random() < 0.55:
                    t += timedelta(days=rnd.randrange(0, 20))
                    uow.session.add(CaseTransition(case_id=c.id, from_state=None, to_state=to, at=t))


async def test_one_statement_gives_what_the_query_per_figure_code_gave(deps: Deps) -> None:
    await generate(deps, 400, seed=7)
    now = datetime(2026, 3, 20, 2, 0, tzinfo=UTC)
    tz = deps.config.tz
    periods = [parse_period(t, now, tz) for t in ("month", "2025", "2025-Q3", "year", "2024-11-15 2026-02-03")]
    async with deps.begin() as uow:
        lead = await uow.session.scalar(select(Staff).where(Staff.login == "o02-lead"))
        scopes = [true(), await scope(uow.session, uow.sealer, lead)]
        for where in scopes:
            for p in periods:
                assert p is not None
                three = [p, p.shift(years=-1), p.shift(back=True)]
                ours = await stats_for(uow.session, where, three)
                theirs = [await stats_one_by_one(uow.session, where, q) for q in three]
                assert ours == theirs, p.label
        # The data are not trivial: every figure is non-zero somewhere.
        whole = (await stats_for(uow.session, true(), [Period(datetime(2024, 1, 1, tzinfo=UTC),
                                                               datetime(2027, 1, 1, tzinfo=UTC), "all")]))[0]
        assert all(whole.as_dict().values()) and whole.accepted and len(whole.by_disposal) == 4


async def test_stats_is_one_round_trip(deps: Deps) -> None:
    await generate(deps, 50, seed=3)
    p = parse_period("2025", datetime(2026, 3, 20, tzinfo=UTC), deps.config.tz)
    assert p is not None
    statements: list[str] = []
    async with deps.begin() as uow:
        sync_engine = uow.session.bind.sync_engine if uow.session.bind is not None else None
        assert sync_engine is not None

        def count(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
            statements.append(statement)

        event.listen(sync_engine, "before_cursor_execute", count)
        try:
            got = await stats_for(uow.session, true(), [p, p.shift(years=-1), p.shift(back=True)])
        finally:
            event.remove(sync_engine, "before_cursor_execute", count)
    assert len(statements) == 1 and got[0].received
