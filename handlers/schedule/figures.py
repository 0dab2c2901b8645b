"""Figures supervisors put in reports, computed by aggregate SQL (never by loading cases).

Scope: supervisors and admins count every case, and a lead their joint group's, except the
cases they have a conflict on (the access policy's own rule, see handlers.access.visible_clause):
nobody is told a count that includes a case hidden from them.

Small counts: a count between 1 and the threshold (``small_count_threshold``) could point at a
reporter or a unit, so it is shown as "<N"; see :func:`masked`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, case, distinct, false, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.access import visible_clause
from storage.crypto import Sealer
from storage.models import Case, CaseTransition, Deadline, Office, Role, Staff


@dataclass(frozen=True)
class Period:
    start: datetime  # aware UTC, inclusive
    end: datetime    # aware UTC, exclusive
    label: str

    def shift(self, *, years: int = 0, back: bool = False) -> Period:
        if years:
            def y(d: datetime) -> datetime:
                try:
                    return d.replace(year=d.year + years)
                except ValueError:  # 29 February
                    return d.replace(year=d.year + years, day=28)
            return Period(y(self.start), y(self.end), self.label)
        length = self.end - self.start
        return Period(self.start - length, self.start, self.label)


def _day_start(d: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(d, time(0), tzinfo=tz)


MIN_YEAR, MAX_YEAR = 1950, 2999  # a year-on-year comparison must stay a real date


def parse_period(text: str, now: datetime, tz: ZoneInfo, default: str = "today") -> Period | None:
    """today | week | month | year | 2026 | 2026-03 | 2026-Q1 | 2026-03-01 2026-03-31."""
    t = (text or default).strip().lower()
    local = now.astimezone(tz).date()
    if t in ("today", "今天", "今日"):
        a, b = local, local + timedelta(days=1)
    elif t in ("week", "本周"):
        a = local - timedelta(days=local.weekday())
        b = a + timedelta(days=7)
    elif t in ("month", "本月"):
        a = local.replace(day=1)
        b = (a + timedelta(days=32)).replace(day=1)
    elif t in ("year", "本年", "今年"):
        a, b = date(local.year, 1, 1), date(local.year + 1, 1, 1)
    elif (m := re.fullmatch(r"(\d{4})", t)) and MIN_YEAR <= int(m[1]) <= MAX_YEAR:
        a, b = date(int(m[1]), 1, 1), date(int(m[1]) + 1, 1, 1)
    elif m := re.fullmatch(r"(\d{4})-(\d{1,2})", t):
        y, mo = int(m[1]), int(m[2])
        if not 1 <= mo <= 12 or not MIN_YEAR <= y <= MAX_YEAR:
            return None
        a = date(y, mo, 1)
        b = (a + timedelta(days=32)).replace(day=1)
    elif m := re.fullmatch(r"(\d{4})-q([1-4])", t):
        y, q = int(m[1]), int(m[2])
        if not MIN_YEAR <= y <= MAX_YEAR:
            return None
        a = date(y, 3 * q - 2, 1)
        b = date(y + (q == 4), 1 if q == 4 else 3 * q + 1, 1)
    elif m := re.fullmatch(r"(\d{4}-\d{2}-\d{2})\s+(\d{4}-\d{2}-\d{2})", t):
        try:
            a, b = date.fromisoformat(m[1]), date.fromisoformat(m[2]) + timedelta(days=1)
        except (ValueError, OverflowError):  # 9999-12-31 has no next day
            return None
        if b <= a:
            return None
    else:
        return None
    if not (MIN_YEAR <= a.year and b.year <= MAX_YEAR):
        return None
    return Period(_day_start(a, tz).astimezone(ZoneInfo("UTC")), _day_start(b, tz).astimezone(ZoneInfo("UTC")), t)


async def scope(session: AsyncSession, sealer: Sealer, staff: Staff) -> ColumnElement[bool]:
    """The cases this person may count: none they have a conflict on."""
    if staff.roles & {Role.supervisor, Role.admin}:
        return await visible_clause(session, sealer, staff)
    if Role.lead not in staff.roles or staff.office_id is None:
        return false()
    office = await session.get(Office, staff.office_id)
    if office is None or office.joint_group_id is None:
        return false()
    return and_(Case.joint_group_id == office.joint_group_id, await visible_clause(session, sealer, staff))


@dataclass
class Status:
    new: int
    accepted: int
    assigned: int
    concluded: int
    overdue_refs: list[str]
    overdue_total: int


async def _count_transitions(session: AsyncSession, where: ColumnElement[bool], to: str, p: Period) -> int:
    return await session.scalar(select(func.count(distinct(CaseTransition.case_id))).join(Case, Case.id == CaseTransition.case_id)
                                .where(where, CaseTransition.to_state == to, CaseTransition.at >= p.start,
                                       CaseTransition.at < p.end)) or 0


async def status(session: AsyncSession, where: ColumnElement[bool], p: Period, now: datetime, limit: int = 20) -> Status:
    new = await session.scalar(select(func.count()).select_from(Case).where(where, Case.created_at >= p.start,
                                                                             Case.created_at < p.end)) or 0
    concluded = await session.scalar(select(func.count()).select_from(Case).where(
        where, Case.concluded_at >= p.start, Case.concluded_at < p.end)) or 0
    refs, total = await open_deadlines(session, where, now, limit=limit)
    return Status(new, await _count_transitions(session, where, "accepted", p),
                  await _count_transitions(session, where, "assigned", p), concluded, refs, total)


async def open_deadlines(session: AsyncSession, where: ColumnElement[bool], now: datetime, *,
                         kinds: set[str] | None = None, overdue: bool = True, due_in: Period | None = None,
                         limit: int = 20) -> tuple[list[str], int]:
    """The references of cases with an open deadline (of ``kinds``; overdue now, unless
    ``overdue`` is False; due within ``due_in``), soonest due first, and how many there are."""
    q = (select(Case.reference).join(Deadline, Deadline.case_id == Case.id)
         .where(where, Deadline.met_at.is_(None), Deadline.cancelled_at.is_(None)))
    if overdue:
        q = q.where(Deadline.due_at < now)
    if kinds is not None:
        q = q.where(Deadline.kind.in_(sorted(kinds)))
    if due_in is not None:
        q = q.where(Deadline.due_at >= due_in.start, Deadline.due_at < due_in.end)
    q = q.group_by(Case.reference).order_by(func.min(Deadline.due_at))
    refs = list((await session.scalars(q.limit(limit))).all())
    total = await session.scalar(select(func.count()).select_from(q.subquery())) or 0
    return refs, total


@dataclass
class Stats:
    by_source: dict[str, int] = field(default_factory=dict)
    received: int = 0
    screened: int = 0
    by_disposal: dict[str, int] = field(default_factory=dict)
    filed: int = 0
    concluded: int = 0
    disciplined: int = 0
    accepted: int = 0  # for the month's flow chart; a part of "screened"

    def as_dict(self) -> dict[str, Any]:
        return {"received": self.received, "screened": self.screened, "filed": self.filed,
                "concluded": self.concluded, "disciplined": self.disciplined,
                **{f"source:{k}": v for k, v in self.by_source.items()},
                **{f"disposal:{k}": v for k, v in self.by_disposal.items()}}


def _transitions(where: ColumnElement[bool], *cols: Any) -> Select[Any]:
    """FROM case_transitions, joined to cases only when the scope needs case columns."""
    from sqlalchemy.sql.elements import True_

    q = select(*cols)
    return q if isinstance(where, True_) else q.join(Case, Case.id == CaseTransition.case_id).where(where)


def _periods(periods: list[Period]) -> Any:
    """The periods as a small derived table (i, a, b): one row per period, so one statement
    groups by period, and overlapping periods (a year and the year before it) each get every row
    that falls in them. SELECT … UNION ALL rather than VALUES: SQLite names no VALUES columns."""
    ts = Case.created_at.type
    rows = [select(literal(i).label("i"), literal(p.start, ts).label("a"), literal(p.end, ts).label("b"))
            for i, p in enumerate(periods)]
    return (union_all(*rows) if len(rows) > 1 else rows[0]).subquery("periods")


async def stats_for(session: AsyncSession, where: ColumnElement[bool], periods: list[Period]) -> list[Stats]:
    """Every figure of /stats for each period, in one statement (one round trip): four grouped
    selects (sources, transitions, disposals, conclusions), each over all the periods at once,
    tagged with what they count."""
    P = _periods(periods)

    def tag(name: str) -> Any:
        return literal(name).label("what")

    in_p = and_(CaseTransition.at >= P.c.a, CaseTransition.at < P.c.b)
    sources = (select(P.c.i, tag("source"), Case.source.label("key"), func.count().label("n"), literal(0).label("m"))
               .select_from(Case).join(P, and_(Case.created_at >= P.c.a, Case.created_at < P.c.b))
               .where(where).group_by(P.c.i, Case.source))
    moved_key = case((CaseTransition.to_state == "filed", "filed"), else_="screened")
    # "screened" counts a case once even when it was accepted and then forwarded in the period.
    accepted = case((CaseTransition.to_state == "accepted", CaseTransition.case_id))
    moved = (_transitions(where, P.c.i, tag("moved"), moved_key.label("key"),
                          func.count(distinct(CaseTransition.case_id)).label("n"),
                          func.count(distinct(accepted)).label("m"))  # of the screened, those accepted
             .join(P, in_p).where(CaseTransition.to_state.in_(("accepted", "forwarded", "filed")))
             .group_by(P.c.i, moved_key))
    disposals = (select(P.c.i, tag("disposal"), Case.disposal.label("key"), func.count(distinct(Case.id)).label("n"),
                        literal(0).label("m"))
                 .select_from(CaseTransition).join(Case, Case.id == CaseTransition.case_id).join(P, in_p)
                 .where(where, CaseTransition.to_state == "disposed").group_by(P.c.i, Case.disposal))
    concluded = (select(P.c.i, tag("concluded"), literal("").label("key"), func.count().label("n"),
                        func.coalesce(func.sum(Case.people_disciplined), 0).label("m"))
                 .select_from(Case).join(P, and_(Case.concluded_at >= P.c.a, Case.concluded_at < P.c.b))
                 .where(where).group_by(P.c.i))
    out = [Stats() for _ in periods]
    for i, what, key, n, m in await session.execute(union_all(sources, moved, disposals, concluded)):
        s = out[int(i)]
        if what == "source":
            s.by_source[key] = int(n)
        elif what == "moved" and key == "filed":
            s.filed = int(n)
        elif what == "moved":
            s.screened, s.accepted = int(n), int(m)
        elif what == "disposal":
            if key:
                s.by_disposal[key] = int(n)
        else:
            s.concluded, s.disciplined = int(n), int(m)
    for s in out:
        s.received = sum(s.by_source.values())
    return out


async def stats(session: AsyncSession, where: ColumnElement[bool], p: Period) -> Stats:
    """The figures of one period (see :func:`stats_for`)."""
    return (await stats_for(session, where, [p]))[0]


def ratio(now: int, before: int) -> str:
    """×2.2 as these bodies write it; '—' when there is nothing to compare with."""
    if before == 0:
        return "—"
    return f"×{now / before:.1f}"


def small(n: int, k: int) -> bool:
    return 0 < n < k


def shown(n: int, k: int) -> str:
    """A count as it may be shown: "<k" for 1..k-1 (a count that small can identify someone)."""
    return f"<{k}" if small(n, k) else str(n)


def masked(total: int, parts: dict[str, int], k: int) -> tuple[str, dict[str, str]]:
    """A total and its parts as they may be shown. A small part is shown as "<k"; when it is the
    only one, the smallest other part is shown as "≥k" too, so it cannot be had by subtraction
    from the total; a small total is "<k" itself."""
    out = {key: shown(v, k) for key, v in parts.items()}
    hidden = [key for key, v in parts.items() if small(v, k)]
    if len(hidden) == 1 and not small(total, k):
        others = sorted((v, key) for key, v in parts.items() if v and key not in hidden)
        if others:
            out[others[0][1]] = f"≥{k}"
    return shown(total, k), out


def shown_ratio(now: str, before: str) -> str:
    """The ratio of two counts as shown, only when both are shown exactly (a ratio to a masked
    count would give it away)."""
    return ratio(int(now), int(before)) if now.isdigit() and before.isdigit() else "—"


def shown_cells(s: Stats, k: int) -> dict[str, str]:
    """Every figure of a period as it may be shown: small counts masked; the clues received and
    their sources masked together, so no source can be had from the total by subtraction."""
    total, sources = masked(s.received, {f"source:{key}": v for key, v in s.by_source.items()}, k)
    out = {key: shown(v, k) for key, v in s.as_dict().items()}
    return {**out, **sources, "received": total}
