"""/status and /stats for supervisors and leads."""

from __future__ import annotations

import re

from handlers.context import Context
from handlers.events import OutboundFile
from handlers.i18n import N_, Gettext
from handlers.router import Audience, Router
from handlers.schedule.chart import flow_chart, localized, render
from handlers.schedule.figures import Period, parse_period, scope, shown, shown_cells, shown_ratio, stats_for, status
from storage.models import Role

SOURCE_LABELS = {
    "public_report": N_("public reports"),
    "inspection_handover": N_("inspection handovers"),
    "audit_handover": N_("audit handovers"),
    "superior_referral": N_("referrals from above"),
    "self_found": N_("self-initiated"),
}
DISPOSAL_LABELS = {
    "talk_inquiry": N_("talk or letter inquiry"),
    "preliminary_verification": N_("preliminary verification"),
    "shelved": N_("shelved"),
    "closed_no_action": N_("closed, no action"),
}
NAMED_PERIODS = {
    "today": N_("today"), "今天": N_("today"), "今日": N_("today"),
    "week": N_("this week"), "本周": N_("this week"),
    "month": N_("this month"), "本月": N_("this month"),
    "year": N_("this year"), "本年": N_("this year"), "今年": N_("this year"),
}


def period_words(_: Gettext, p: Period) -> str:
    """The period as the reader says it: "本月", "2026年第一季度", "2026-03-01至2026-03-31"."""
    t = p.label
    if t in NAMED_PERIODS:
        return _(NAMED_PERIODS[t])
    if m := re.fullmatch(r"(\d{4})", t):
        return _("{year}").format(year=m[1])
    if m := re.fullmatch(r"(\d{4})-(\d{1,2})", t):
        return _("{year}-{month:02d}").format(year=m[1], month=int(m[2]))
    if m := re.fullmatch(r"(\d{4})-q([1-4])", t):
        return _("{year} Q{quarter}").format(year=m[1], quarter=m[2])
    if m := re.fullmatch(r"(\d{4}-\d{2}-\d{2})\s+(\d{4}-\d{2}-\d{2})", t):
        return _("{start} to {end}").format(start=m[1], end=m[2])
    return t


# "/stats 2026-Q1 chart": the figures and the flow against last year as a picture.
CHART_WORDS = ("chart", "图表", "图")

PERIOD_HELP = N_("Periods: today, week, month, year, 2026, 2026-03, 2026-Q1, or two dates: 2026-03-01 2026-03-31.")


def period_or_explain(ctx: Context, args: str, default: str) -> Period | None:
    """The period asked for, or None after telling the person which periods are understood."""
    p = parse_period(args, ctx.clock.now(), ctx.config.tz, default)
    if p is None:
        ctx.reply(ctx._("I did not understand that period. Nothing was changed.") + "\n" + ctx._(PERIOD_HELP))
    return p


def make_router() -> Router:
    r = Router("figures")
    roles = (Role.supervisor, Role.lead, Role.admin)

    @r.command("status", help=N_("Status summary"), audience=Audience.staff,
               usage=N_("/status [today|week|month|dates]"),
               roles=roles, order=30, menu=True)
    async def status_cmd(ctx: Context, args: str) -> None:
        _ = ctx._
        now = ctx.clock.now()
        p = period_or_explain(ctx, args, "today")
        if p is None:
            return
        k = ctx.config.small_count_threshold
        staff = ctx.require_staff()
        st = await status(ctx.session, await scope(ctx.session, ctx.sealer, staff), p, now)
        await ctx.uow.audit(staff, "status", period=args.strip()[:32], overdue_shown=len(st.overdue_refs))
        # The count is masked like every other; the references stay (a work list this person may see).
        lines = [_("Status ({period}):").format(period=period_words(_, p)),
                 _("New: {n}").format(n=shown(st.new, k)), _("Accepted: {n}").format(n=shown(st.accepted, k)),
                 _("Assigned: {n}").format(n=shown(st.assigned, k)), _("Concluded: {n}").format(n=shown(st.concluded, k)),
                 _("Overdue now: {n}").format(n=shown(st.overdue_total, k))]
        if st.overdue_refs:
            lines.append(_("Overdue: {refs}").format(refs="、".join(st.overdue_refs)))
        ctx.reply("\n".join(lines))

    @r.command("stats", help=N_("Statistics in reporting form"),
               usage=N_("/stats [month|2026|2026-Q1|dates] [chart]"),
               audience=Audience.staff, roles=roles, order=31)
    async def stats_cmd(ctx: Context, args: str) -> None:
        _ = ctx._
        words = args.split()
        chart = bool(words) and words[-1].lower() in CHART_WORDS
        p = period_or_explain(ctx, " ".join(words[:-1] if chart else words), "month")
        if p is None:
            return
        staff = ctx.require_staff()
        where = await scope(ctx.session, ctx.sealer, staff)
        await ctx.uow.audit(staff, "stats", period=args.strip()[:32])
        k = ctx.config.small_count_threshold
        cur, yoy, prev = await stats_for(ctx.session, where, [p, p.shift(years=-1), p.shift(back=True)])
        cells = [shown_cells(s, k) for s in (cur, yoy, prev)]

        def line(label: str, key: str, *, people: bool = False) -> str:
            # Cases are counted in 件, people in 人: one sentence each, so the measure word is right.
            a, b, c = (cell.get(key, "0") for cell in cells)
            text = (_("{label}: {n} people, year on year {yoy}, on the previous period {mom}") if people
                    else _("{label} {n}, year on year {yoy}, on the previous period {mom}"))
            return text.format(label=label, n=a, yoy=shown_ratio(a, b), mom=shown_ratio(a, c))

        lines = [_("Statistics ({period}):").format(period=period_words(_, p)), line(_("Clues received"), "received")]
        for key, label in SOURCE_LABELS.items():
            if cur.by_source.get(key) or yoy.by_source.get(key):
                lines.append("  " + line(_(label), f"source:{key}"))
        lines.append(line(_("Clues screened"), "screened"))
        for key, label in DISPOSAL_LABELS.items():
            if cur.by_disposal.get(key) or yoy.by_disposal.get(key):
                lines.append("  " + line(_(label), f"disposal:{key}"))
        lines.append(line(_("Cases filed"), "filed"))
        lines.append(line(_("Cases concluded"), "concluded"))
        lines.append(line(_("People disciplined"), "disciplined", people=True))
        files = []
        if chart:
            picture = localized(lambda t: flow_chart(t, period_words(t, p), cur, yoy, k), _)
            files.append(OutboundFile(filename="flow.png", content_type="image/png", data=await render(picture),
                                      kind="photo"))
        ctx.reply("\n".join(lines), files=files)

    return r
