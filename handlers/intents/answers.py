"""Answers to what the grammar understood: the tip wizard, /check, figures (from the same
functions and under the same access rules as /status and /stats) or the closest command."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.context import Context
from handlers.i18n import N_, listing
from handlers.intents.grammar import Intent, parse, period_spec
from handlers.schedule.commands import period_words
from handlers.schedule.figures import Period, open_deadlines, parse_period, scope, shown, status
from storage.models import Case, JointGroup, Office, Role

# Counts over a period, without and with a joint group named.
COUNTS = {
    "received": (N_("Cases received {period}: {n}."), N_("{group}, cases received {period}: {n}.")),
    "accepted": (N_("Cases accepted {period}: {n}."), N_("{group}, cases accepted {period}: {n}.")),
    "concluded": (N_("Cases concluded {period}: {n}."), N_("{group}, cases concluded {period}: {n}.")),
}
# Open deadlines, by (overdue, not yet acknowledged).
OPEN = {
    (True, False): N_("Overdue: {n}"),
    (True, True): N_("Overdue and not yet acknowledged: {n}"),
    (False, True): N_("Not yet acknowledged: {n}"),
}
# Periods /status does not name, as the reader says them.
RELATIVE = {"last_week": N_("last week"), "last_month": N_("last month"), "last_year": N_("last year")}
CN_NUMERALS = "零一二三四五六七八九"
DEFAULT_COUNT_PERIOD = "month"  # as /stats


async def understood(ctx: Context) -> bool:
    """Answer free text the grammar understands; False leaves it to the dispatcher's "not sure"."""
    text = ctx.event.text or ""
    intent = parse(text, ctx.clock.now().astimezone(ctx.config.tz).date())
    if intent is None:
        return False
    if intent.kind in ("report", "check"):
        return await _run(ctx, intent.kind)
    if intent.kind == "figures":
        if not _allowed(ctx, "status"):
            return False  # a reporter or a field officer: no figures, and no hint that there are any
        await _figures(ctx, intent)
        return True
    return _suggest(ctx, intent.command or "help")


def _allowed(ctx: Context, command: str) -> bool:
    spec = ctx.dispatcher.commands.get(command) if ctx.dispatcher is not None else None
    return spec is not None and bool(spec.allowed(ctx.actor))


async def _run(ctx: Context, command: str) -> bool:
    """Run ``command`` as if it had been typed, if this person may."""
    if not _allowed(ctx, command):
        return False
    await ctx.dispatcher.commands[command].handler(ctx, "")
    return True


def _suggest(ctx: Context, command: str) -> bool:
    if not _allowed(ctx, command):
        return False
    spec = ctx.dispatcher.commands[command]
    what = ctx._(spec.help) if spec.help else "/" + command
    ctx.reply(ctx._("I'm not sure what you mean. Nothing was stored. The closest command is /{name} ({help}).")
              .format(name=command, help=what), buttons=[[ctx.command_button(what, command)]])
    return True


def chinese_numeral(n: int) -> str:
    if n < 10:
        return CN_NUMERALS[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else CN_NUMERALS[tens]) + "十" + (CN_NUMERALS[ones] if ones else "")


async def find_group(session: AsyncSession, intent: Intent) -> JointGroup | None:
    """The joint group meant: by number (第三联组, group 3) or by name or alias (政法联组)."""
    groups: Sequence[JointGroup] = (await session.scalars(select(JointGroup).order_by(JointGroup.id))).all()
    if intent.group is not None:
        n = intent.group
        for g in groups:
            if (f"第{chinese_numeral(n)}联组" in g.name or f"第{n}联组" in g.name
                    or (g.name_en and re.search(rf"\bgroup {n}\b", g.name_en, re.I)) or g.code == f"jg{n}"):
                return g
        return None
    name = intent.group_name or ""
    for g in groups:
        if name in g.name or name in g.aliases:
            return g
    return None


def _words(ctx: Context, period: str | None, p: Period) -> str:
    """The period as the reader says it: "上周", "2026年3月5日", or as /status says it."""
    if period in RELATIVE:
        return ctx._(RELATIVE[period])
    if period and period[0].isdigit():
        d = date.fromisoformat(period)
        return ctx._("on {year}-{month:02d}-{day:02d}").format(year=d.year, month=d.month, day=d.day)
    return period_words(ctx._, p)


async def _figures(ctx: Context, intent: Intent) -> None:
    _ = ctx._
    staff = ctx.require_staff()
    now = ctx.clock.now()
    today = now.astimezone(ctx.config.tz).date()
    where = await scope(ctx.session, ctx.sealer, staff)
    group = None
    if intent.group is not None or intent.group_name:
        group = await find_group(ctx.session, intent)
        if group is None:
            ctx.reply(_("No joint group matches what you typed. Nothing was changed. Send /status for the figures you may see."))
            return
        if not staff.roles & {Role.supervisor, Role.admin}:
            office = await ctx.session.get(Office, staff.office_id) if staff.office_id else None
            if office is None or office.joint_group_id != group.id:
                ctx.reply(_("You can see the figures of your own joint group only. Nothing was changed."))
                return
        where = and_(where, Case.joint_group_id == group.id)
    lines: list[str] = []
    counted = [s for s in COUNTS if s in intent.states]
    if counted:
        p = parse_period(period_spec(intent.period or DEFAULT_COUNT_PERIOD, today), now, ctx.config.tz)
        if p is None:
            ctx.reply(_("I did not understand that date. Nothing was changed. Send /stats to see the figures."))
            return
        words = _words(ctx, intent.period, p)
        st = await status(ctx.session, where, p, now)
        k = ctx.config.small_count_threshold
        values = {"received": st.new, "accepted": st.accepted, "concluded": st.concluded}
        for s in counted:
            plain, grouped = COUNTS[s]
            msg = _(grouped) if group else _(plain)
            lines.append(msg.format(period=words, n=shown(values[s], k),
                                    group=group.name_for(ctx.lang) if group else ""))
    overdue, unack = "overdue" in intent.states, "unacknowledged" in intent.states
    if overdue or unack:
        due_in = None
        if intent.period:
            due_in = parse_period(period_spec(intent.period, today), now, ctx.config.tz)
            if due_in is not None:
                lines.append(_("Deadlines falling {period}:").format(period=_words(ctx, intent.period, due_in)))
        if group is not None:
            lines.append(_("Joint group: {group}").format(group=group.name_for(ctx.lang)))
        kinds = ctx.policy.met_by("member:acknowledged") if unack else None
        # Overdue is a work list whose references are shown to this person, as in /status: not masked.
        refs, total = await open_deadlines(ctx.session, where, now, kinds=kinds, overdue=overdue, due_in=due_in)
        lines.append(_(OPEN[(overdue, unack)]).format(n=total))
        if refs:
            lines.append(_("Cases: {refs}").format(refs=listing(_, refs)))
        if total > len(refs):
            lines.append(_("…and {n} more; send /status to see them.").format(n=total - len(refs)))
    ctx.reply("\n".join(lines))
