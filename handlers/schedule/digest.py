"""The daily digest to supervisors and leads: references and counts only, and a chart."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.campaigns.digest import digest_lines as campaign_digest_lines
from handlers.events import OutboundFile, Reply
from handlers.i18n import Gettext, gettext_for
from handlers.schedule.chart import Chart, flow_chart, intake_chart, localized, render
from handlers.schedule.commands import period_words
from handlers.schedule.figures import Period, scope, shown, stats_for, status
from handlers.uow import UnitOfWork
from storage import audit
from storage.models import Case, ChatIdentity, Role, Staff, StaffRole

DAYS = 30


async def daily_series(session: AsyncSession, where: ColumnElement[bool], now: datetime,
                       tz: ZoneInfo) -> tuple[list[date], list[int], list[int]]:
    """Per local day for the last 30 days: cases received and concluded (two GROUP BY queries in Python
    date buckets, since SQLite and PostgreSQL disagree on time-zone arithmetic)."""
    end_day = now.astimezone(tz).date()
    days = [end_day - timedelta(days=DAYS - 1 - i) for i in range(DAYS)]
    start = datetime.combine(days[0], datetime.min.time(), tzinfo=tz)
    rec = dict.fromkeys(days, 0)
    con = dict.fromkeys(days, 0)
    for (ts,) in await session.execute(select(Case.created_at).where(where, Case.created_at >= start)):
        d = ts.astimezone(tz).date()
        if d in rec:
            rec[d] += 1
    for (ts,) in await session.execute(select(Case.concluded_at).where(where, Case.concluded_at >= start)):
        if ts is None:
            continue
        d = ts.astimezone(tz).date()
        if d in con:
            con[d] += 1
    return days, [rec[d] for d in days], [con[d] for d in days]


async def digest_charts(uow: UnitOfWork, where: ColumnElement[bool], _: Gettext) -> list[Chart]:
    """The digest's pictures, small counts masked: the last 30 days, and this month so far
    against the same days last year."""
    session, now, tz, k = uow.session, uow.now(), uow.config.tz, uow.config.small_count_threshold
    days, rec, con = await daily_series(session, where, now, tz)
    local = now.astimezone(tz)
    month_start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    month = Period(month_start.astimezone(UTC), now, "month")
    cur, last_year = await stats_for(session, where, [month, month.shift(years=-1)])
    return [localized(lambda t: intake_chart(t, days, rec, con, k), _),
            localized(lambda t: flow_chart(t, period_words(t, month), cur, last_year, k), _)]


async def digest_for(uow: UnitOfWork, staff: Staff, _: Gettext, anchor: audit.Anchor | None = None) -> Reply | None:
    """One person's digest: only cases they have no conflict on, small counts masked."""
    session, now, tz, k = uow.session, uow.now(), uow.config.tz, uow.config.small_count_threshold
    where = await scope(session, uow.sealer, staff)
    since = Period(now - timedelta(days=1), now, "24h")
    st = await status(session, where, since, now)
    lines = [_("Daily digest {date}").format(date=now.astimezone(tz).strftime("%Y-%m-%d")),
             _("New since yesterday: {n}").format(n=shown(st.new, k)),
             _("Concluded since yesterday: {n}").format(n=shown(st.concluded, k)),
             _("Overdue now: {n}").format(n=shown(st.overdue_total, k))]
    if st.overdue_refs:
        lines.append(_("Overdue: {refs}").format(refs="、".join(st.overdue_refs)))
    lines += await campaign_digest_lines(session, staff, now, _)
    if anchor is not None:
        # Kept outside the database by everyone who receives it: `lianzu audit verify --against-digest`
        # then shows whether entries were deleted or rewritten since.
        lines.append(_("Audit anchor: {anchor}").format(anchor=str(anchor)))
    files = [OutboundFile(filename=name, content_type="image/png", data=await render(chart), kind="photo")
             for name, chart in zip(("digest.png", "flow.png"), await digest_charts(uow, where, _), strict=True)]
    return Reply(text="\n".join(lines), files=files)


# How far ahead the digest looks for days whose holidays nobody has given.
HOLIDAY_LOOKAHEAD_DAYS = 60


def holiday_warning(uow: UnitOfWork, _: Gettext) -> str | None:
    """For administrators: the coming days fall in a year without holiday data, so deadlines
    there count weekends only until the year's notice is added to the policy file."""
    years = uow.policy.calendar.uncovered_years(uow.now().astimezone(uow.config.tz).date(), HOLIDAY_LOOKAHEAD_DAYS)
    if not years:
        return None
    return _("Holiday calendar: the next {days} days include {years}, for which no public holidays or make-up "
             "working days are known, so deadlines there count weekends only. Please add the State Council's "
             "notice for that year to the deadline policy file ([holidays.YEAR]).").format(
        days=HOLIDAY_LOOKAHEAD_DAYS, years="、".join(str(y) for y in years))


async def send_digests(uow: UnitOfWork) -> int:
    """Queue today's digest for every supervisor and lead who has a bound chat; once per day each.
    Administrators also get the holiday-calendar warning while one is due (in their digest, or
    alone if they get none)."""
    session, now, config = uow.session, uow.now(), uow.config
    admins = set((await session.scalars(select(StaffRole.staff_id).where(
        StaffRole.role == Role.admin.value))).all())
    readers = set((await session.scalars(select(StaffRole.staff_id).where(
        StaffRole.role.in_((Role.supervisor.value, Role.lead.value))))).all())
    ids = sorted(readers | admins)
    bound = set((await session.scalars(select(ChatIdentity.staff_id).where(ChatIdentity.staff_id.in_(ids),
                                                                            ChatIdentity.blocked_at.is_(None)))).all())
    day = now.astimezone(config.tz).date().isoformat()
    anchor = await audit.anchor(session)
    n = 0
    for sid in ids:
        if sid not in bound:
            continue
        staff = await session.get(Staff, sid)
        if staff is None or not staff.active:
            continue
        _ = gettext_for(staff.language or config.default_language)
        reply = await digest_for(uow, staff, _, anchor) if sid in readers else None
        warning = holiday_warning(uow, _) if sid in admins else None
        if warning:
            reply = reply.model_copy(update={"text": reply.text + "\n\n" + warning}) if reply else Reply(text=warning)
        if reply is None:
            continue
        rows = await uow.outbox.to_staff(sid, _ready(reply), about=None, kind="digest", dedupe_key=f"digest:{day}:{sid}")
        n += bool(rows)
    return n


def _ready(reply: Reply) -> Callable[[Gettext], Reply]:
    """A digest is rendered in the reader's language before it is queued."""
    return lambda _: reply
