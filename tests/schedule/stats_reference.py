"""The /stats figures as they were computed before the one-statement query: up to five queries
per period. Kept as the reference the grouped query is compared with (tests/schedule/test_stats_query.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, and_, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import True_

from handlers.schedule.figures import Period, Stats
from storage.models import Case, CaseTransition


def _transitions(where: ColumnElement[bool]) -> Select[Any]:
    q = select(CaseTransition.to_state, func.count(distinct(CaseTransition.case_id)))
    return q if isinstance(where, True_) else q.join(Case, Case.id == CaseTransition.case_id).where(where)


async def stats_one_by_one(session: AsyncSession, where: ColumnElement[bool], p: Period) -> Stats:
    s = Stats()
    rows = await session.execute(select(Case.source, func.count()).where(where, Case.created_at >= p.start,
                                                                        Case.created_at < p.end).group_by(Case.source))
    s.by_source = {src: n for src, n in rows}
    s.received = sum(s.by_source.values())
    in_p = and_(where, CaseTransition.at >= p.start, CaseTransition.at < p.end)
    moved: dict[str, int] = dict((await session.execute(_transitions(where).where(
        CaseTransition.at >= p.start, CaseTransition.at < p.end,
        CaseTransition.to_state.in_(("accepted", "forwarded", "filed"))).group_by(CaseTransition.to_state))).tuples().all())
    s.filed = moved.get("filed", 0)
    s.accepted = moved.get("accepted", 0)
    if moved.get("accepted") and moved.get("forwarded"):
        s.screened = await session.scalar(_transitions(where).with_only_columns(func.count(distinct(CaseTransition.case_id)))
                                          .where(CaseTransition.at >= p.start, CaseTransition.at < p.end,
                                                 CaseTransition.to_state.in_(("accepted", "forwarded")))) or 0
    else:
        s.screened = moved.get("accepted", 0) + moved.get("forwarded", 0)
    rows = await session.execute(select(Case.disposal, func.count(distinct(Case.id))).join(CaseTransition, CaseTransition.case_id == Case.id)
                                 .where(in_p, CaseTransition.to_state == "disposed").group_by(Case.disposal))
    s.by_disposal = {d: n for d, n in rows if d}
    row = (await session.execute(select(func.count(), func.coalesce(func.sum(Case.people_disciplined), 0)).where(
        where, Case.concluded_at >= p.start, Case.concluded_at < p.end))).one()
    s.concluded, s.disciplined = int(row[0]), int(row[1])
    return s
