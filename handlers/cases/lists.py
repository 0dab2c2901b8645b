"""Lists for supervisors and leads, filtered from the chat: ``/list`` with buttons or arguments
(``overdue``, ``ack`` awaiting 签收, ``state:S``, ``source:S``, ``group:CODE``, ``unit:TEXT``,
``joint:CODE`` given to a joint case unit (室组地联动), ``since:YYYY-MM-DD``). Every case on a list passed the access policy for the person asking:
nothing about a case they are conflicted on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select

from handlers.access import Action, decide
from handlers.cases import joint_units, routing
from handlers.cases.views import SOURCE_WORDS, STATE_WORDS
from handlers.context import Context
from handlers.events import Button
from storage.models import (
    Case,
    CaseJointUnit,
    CaseRequest,
    Deadline,
    JointGroup,
    JointUnit,
    Role,
    Staff,
    Tip,
    Unit,
)

LIMIT = 20  # lines on one phone screen; narrow the filter for more
SCAN = 500  # candidate cases checked against the access policy per list


@dataclass
class Filters:
    overdue: bool = False
    ack: bool = False
    state: str | None = None
    source: str | None = None
    group: str | None = None
    unit: str | None = None
    joint: str | None = None
    since: datetime | None = None
    bad: str | None = None


def parse(args: str, ctx: Context) -> Filters:
    f = Filters()
    for word in args.split():
        key, _sep, value = word.partition(":")
        key = key.lower()
        if key == "overdue":
            f.overdue = True
        elif key == "ack":
            f.ack = True
        elif key == "state" and value in STATE_WORDS:
            f.state = value
        elif key == "source" and value in SOURCE_WORDS:
            f.source = value
        elif key == "group" and value:
            f.group = value
        elif key == "unit" and value:
            f.unit = value
        elif key == "joint" and value:
            f.joint = value
        elif key == "since":
            try:
                f.since = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=ctx.config.tz)
            except ValueError:
                f.bad = word
        else:
            f.bad = word
    return f


def query(f: Filters, now: datetime) -> Select[tuple[Case]]:
    q = select(Case).where(Case.state.not_in(routing.CLOSED) if f.state is None else Case.state == f.state)
    if f.source:
        q = q.where(Case.source == f.source)
    if f.group:
        q = q.where(Case.joint_group_id.in_(select(JointGroup.id).where(JointGroup.code == f.group)))
    if f.unit:
        q = q.where(Case.unit_id.in_(select(Unit.id).where(Unit.name.contains(f.unit, autoescape=True)
                                                           | (Unit.code == f.unit))))
    if f.joint:
        q = q.where(Case.id.in_(select(CaseJointUnit.case_id).join(JointUnit, JointUnit.id == CaseJointUnit.joint_unit_id)
                                .where(JointUnit.code == f.joint)))
    if f.since:
        q = q.where(Case.created_at >= f.since)
    open_dl = (Deadline.met_at.is_(None), Deadline.cancelled_at.is_(None))
    if f.overdue:
        q = q.where(select(Deadline.id).where(Deadline.case_id == Case.id, Deadline.due_at < now, *open_dl).exists())
    if f.ack:
        q = q.where(select(Deadline.id).where(Deadline.case_id == Case.id, Deadline.subject == "member",
                                              *open_dl).exists())
    return q.order_by(Case.created_at, Case.id).limit(SCAN)


async def visible(ctx: Context, staff: Staff, cases: list[Case]) -> list[Case]:
    out = []
    for c in cases:
        if await decide(ctx.session, ctx.sealer, staff, c, Action.view):
            out.append(c)
    return out


async def line(ctx: Context, case: Case, joint: str | None = None) -> str:
    """What a case is about at a glance: unit (or the reporter's words for it), source, age, state,
    and the joint unit (``joint``) it was given to, if any."""
    _ = ctx._
    unit = await ctx.session.get(Unit, case.unit_id) if case.unit_id else None
    about = unit.name_for(ctx.lang) if unit else None
    if about is None and case.tip_id:
        tip = await ctx.session.get(Tip, case.tip_id)
        if tip is not None and tip.subject_enc:
            about = _("unit unknown; reported about: {v}").format(v=ctx.sealer.open_text(tip.key_id, tip.subject_enc)[:30])
    days = max(0, (ctx.clock.now() - case.created_at).days)
    return _("{ref} · {about} · {source} · {days} days · {state}").format(
        ref=case.reference, about=about or _("unit unknown"), source=_(SOURCE_WORDS.get(case.source, case.source)),
        days=days, state=_(STATE_WORDS.get(case.state, case.state))) + (f" · {joint}" if joint else "")


async def lines_for(ctx: Context, cases: list[Case]) -> list[str]:
    joint = await joint_units.given_names(ctx.session, (c.id for c in cases))
    return [await line(ctx, c, joint.get(c.id)) for c in cases]


def filter_buttons(ctx: Context) -> list[list[Button]]:
    _ = ctx._
    return [[ctx.action(_("Overdue"), "list", "overdue"), ctx.action(_("Awaiting 签收"), "list", "ack")],
            [ctx.action(_("Awaiting acceptance"), "list", "state:received"),
             ctx.action(_("In hand"), "list", "state:acknowledged")]]


async def show(ctx: Context, args: str) -> None:
    _ = ctx._
    staff = ctx.require_staff()
    f = parse(args, ctx)
    if f.bad:
        ctx.reply(_("I do not know the filter {w}. Filters: overdue, ack, state:STATE, source:SOURCE, group:CODE, "
                    "unit:NAME, joint:CODE, since:YYYY-MM-DD.").format(w=f.bad[:40]), buttons=filter_buttons(ctx))
        return
    cases = await visible(ctx, staff, list((await ctx.session.scalars(query(f, ctx.clock.now()))).all()))
    if not cases:
        ctx.reply(_("No cases that you can see match."), buttons=filter_buttons(ctx))
        return
    lines = [_("{n} cases:").format(n=len(cases))] + await lines_for(ctx, cases[:LIMIT])
    if len(cases) > LIMIT:
        lines.append(_("…and {n} more; narrow the filter.").format(n=len(cases) - LIMIT))
    ctx.reply("\n".join(lines), buttons=[[ctx.action(c.reference, "case", f"{c.id}.view")] for c in cases[:LIMIT]]
              + filter_buttons(ctx))


async def list_cmd(ctx: Context, args: str) -> None:
    await show(ctx, args)


async def list_action(ctx: Context, arg: str) -> None:
    if ctx.actor.staff is None or not (ctx.actor.roles & {Role.lead, Role.supervisor, Role.admin}):
        ctx.reply(ctx._("No such case that you can see. Send /my for your cases."))
        return
    await show(ctx, arg)


async def supervisor_lines(ctx: Context, staff: Staff) -> tuple[list[str], list[list[Button]]]:
    """What a supervisor's /my adds: requests waiting for them and cases handed up to them."""
    _ = ctx._
    if not staff.roles & {Role.supervisor, Role.admin}:
        return [], []
    waiting = list((await ctx.session.scalars(select(Case).where(
        Case.id.in_(select(CaseRequest.case_id).where(CaseRequest.status == "pending")) | (Case.level == "supervisors"),
        Case.state.not_in(routing.CLOSED)).order_by(Case.id).limit(SCAN))).all())
    cases = await visible(ctx, staff, waiting)
    lines = [_("Waiting for the supervisors:")] + await lines_for(ctx, cases[:LIMIT]) if cases else []
    lines.append(_("Send /list for all cases you can see, with filters."))
    return lines, [[ctx.action(c.reference, "case", f"{c.id}.view")] for c in cases[:LIMIT]] + filter_buttons(ctx)

