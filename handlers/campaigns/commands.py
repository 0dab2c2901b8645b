"""Campaign commands and buttons: /campaign_new, /campaigns, /campaign REF, /campaign_rate REF N,
confirm, change, 签收, progress, report, end."""

from __future__ import annotations

from sqlalchemy import select

from handlers.campaigns import service
from handlers.campaigns.access import CA, allowed, membership, visible_targets
from handlers.campaigns.conversations import CONVERSATIONS, EDITOR, NEW, PROGRESS, RATE
from handlers.campaigns.views import not_found, show_campaign, show_proposal, show_report
from handlers.context import Context
from handlers.i18n import N_
from handlers.inputs import number_in
from handlers.router import Audience, Router
from storage.models import Campaign, CampaignState, Role

ACK_WORDS = {
    "ok": N_("Acknowledged (已签收) campaign {ref}. Your subgroup lead has been told."),
    "again": N_("You had already acknowledged campaign {ref}."),
    "not_yours": N_("This notice is not addressed to you. Nothing was changed."),
}


async def new(ctx: Context, args: str) -> None:
    ctx.require_staff()
    await NEW.start(ctx)


async def list_cmd(ctx: Context, args: str) -> None:
    staff = ctx.require_staff()
    lines = []
    for c in (await ctx.session.scalars(select(Campaign).where(Campaign.state != CampaignState.ended.value)
                                        .order_by(Campaign.id))).all():
        if await visible_targets(ctx.session, staff, c):
            lines.append(f"{c.reference} {c.title} — {ctx._(service.STATE_WORDS[c.state])}")
    ctx.reply("\n".join(lines) or ctx._("No running campaigns that concern you."))


async def show(ctx: Context, args: str) -> None:
    ctx.require_staff()
    c = await service.find(ctx.session, args)
    if c is None:
        not_found(ctx, args.strip())
        return
    await show_campaign(ctx, c)


async def _load(ctx: Context, arg: str, action: CA) -> Campaign | None:
    """The campaign of a button (``ID`` or ``ID.verb``), if the speaker may do ``action`` on it."""
    cid = number_in(arg.partition(".")[0], digits=12)
    c = await ctx.session.get(Campaign, cid) if cid is not None else None
    if c is None or not await allowed(ctx.session, ctx.actor.staff, c, action):
        not_found(ctx, "")
        return None
    return c


async def confirm(ctx: Context, arg: str) -> None:
    c = await _load(ctx, arg, CA.manage)
    if c is None:
        return
    try:
        n = await service.confirm(ctx.uow, ctx.require_staff(), c)
    except service.Problem:
        ctx.reply(ctx._("This campaign cannot be confirmed now: every subgroup needs a lead, and only proposed "
                        "subgroups can be confirmed."))
        return
    ctx.reply(ctx._("Campaign {ref} confirmed; {n} members have been notified.").format(ref=c.reference, n=n))


async def edit(ctx: Context, arg: str) -> None:
    c = await _load(ctx, arg, CA.manage)
    if c is not None and c.state == CampaignState.proposed.value:
        await EDITOR.start(ctx, c)


async def kept_out(ctx: Context, arg: str) -> None:
    c = await _load(ctx, arg, CA.manage)
    if c is not None:
        await show_proposal(ctx, c)


async def end(ctx: Context, arg: str) -> None:
    c = await _load(ctx, arg, CA.manage)
    if c is None:
        return
    try:
        await service.end(ctx.uow, ctx.require_staff(), c)
    except service.Problem:
        ctx.reply(ctx._("Only a running campaign can be ended."))
        return
    ctx.reply(ctx._("Campaign {ref} ended. Rate each subgroup with /campaign_rate {ref} N.").format(ref=c.reference))


async def ack(ctx: Context, arg: str) -> None:
    member_id = number_in(arg, digits=12)
    if ctx.actor.staff is None or member_id is None:
        ctx.reply(ctx._("This button is for staff only. Nothing was changed."))
        return
    result, c = await service.acknowledge(ctx.uow, ctx.actor.staff, member_id)
    ctx.reply(ctx._(ACK_WORDS[result]).format(ref=c.reference if c else ""))


async def progress(ctx: Context, arg: str) -> None:
    member_id = number_in(arg, digits=12)
    if ctx.actor.staff is None or member_id is None:
        not_found(ctx, "")
        return
    await PROGRESS.start(ctx, member_id)


async def report_action(ctx: Context, arg: str) -> None:
    cid, _sep, fmt = arg.partition(".")
    c = await _load(ctx, cid, CA.view)
    if c is not None:
        await show_report(ctx, c, fmt)


async def rate(ctx: Context, args: str) -> None:
    """/campaign_rate REF N: a subgroup's lead rates the host; the host side rates subgroup N."""
    staff = ctx.require_staff()
    words = args.split()
    c = await service.find(ctx.session, words[0]) if words else None
    number = number_in(words[1]) if len(words) == 2 else None
    if c is None or number is None:
        ctx.reply(ctx._("Please send /campaign_rate REFERENCE SUBGROUP, e.g. /campaign_rate ZX2026-001 2."))
        return
    sg = await service.subgroup(ctx.session, c, number)
    member = await membership(ctx.session, staff, c)
    if sg is not None and member is not None and member.subgroup_id == sg.id and \
            await allowed(ctx.session, staff, c, CA.rate_host, subgroup_id=sg.id):
        direction = "subgroup_to_host"
    elif sg is not None and member is None and await allowed(ctx.session, staff, c, CA.manage):
        direction = "host_to_subgroup"
    else:
        not_found(ctx, words[0])
        return
    await RATE.start(ctx, c, sg.number, direction)


def make_router() -> Router:
    r = Router("campaigns")
    for conv in CONVERSATIONS:
        r.add_conversation(conv)
    sup = (Role.supervisor, Role.admin)
    r.command("campaign_new", help=N_("Create a campaign (专项检查 / 交叉巡察)"), audience=Audience.staff, roles=sup,
              order=40)(new)
    r.command("campaigns", help=N_("Campaigns that concern you"), audience=Audience.staff, order=41)(list_cmd)
    r.command("campaign", help=N_("Show a campaign: /campaign REFERENCE"), audience=Audience.staff, order=42)(show)
    r.command("campaign_rate", help=N_("Two-way evaluation at the end of a campaign: /campaign_rate REFERENCE N"),
              audience=Audience.staff, order=43)(rate)
    r.action("cconf")(confirm)
    r.action("cedit")(edit)
    r.action("cend")(end)
    r.action("cexcl")(kept_out)
    r.action("cack")(ack)
    r.action("cprog")(progress)
    r.action("crep")(report_action)
    return r
