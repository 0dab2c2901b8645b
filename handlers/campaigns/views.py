"""What a campaign looks like in a chat: the proposal with its exclusions, progress per subgroup
and target, the report. Only what the reader may see (handlers.campaigns.access)."""

from __future__ import annotations

from sqlalchemy import select

from handlers.campaigns import report, service
from handlers.campaigns.access import CA, allowed, membership, visible_targets
from handlers.context import Context
from handlers.events import Button, OutboundFile
from handlers.i18n import N_, labelled, listing
from storage.models import Campaign, CampaignState, Staff

NOT_FOUND = N_("No campaign {ref} that you can see. Send /campaigns for yours.")
NOT_FOUND_ANY = N_("No such campaign that you can see. Send /campaigns for yours.")


def not_found(ctx: Context, ref: str) -> None:
    ctx.reply(ctx._(NOT_FOUND).format(ref=ref[:32]) if ref else ctx._(NOT_FOUND_ANY))


async def _names(ctx: Context, ids: list[int]) -> dict[int, str]:
    rows = (await ctx.session.scalars(select(Staff).where(Staff.id.in_(ids)))).all() if ids else []
    return {s.id: f"{s.name} [{s.login}]" for s in rows}


async def show_proposal(ctx: Context, c: Campaign, *, exclusions: bool = True) -> None:
    """The subgroups (lead, members, liaisons marked) and, per subgroup, who is kept out and why."""
    _ = ctx._
    ids = [m.staff_id for sg in c.subgroups for m in sg.members]
    names = await _names(ctx, ids)
    lines = [_("Campaign {ref}: {title}").format(ref=c.reference, title=c.title)]
    for sg in c.subgroups:
        targets = await service.subgroup_targets(ctx.session, sg)
        places = await service.target_names(ctx.session, targets, ctx.lang)
        lines.append(_("Subgroup {n}: {targets}").format(n=sg.number, targets="、".join(places.values())))
        for role in ("lead", "member", "liaison"):
            who = [names.get(m.staff_id, "?") for m in sg.members if m.role == role]
            if who:
                lines.append("  " + labelled(_, _(service.ROLE_WORDS[role]), listing(_, who)))
    if exclusions:
        excl = c.proposal.get("exclusions", [])
        if excl:
            lines.append(_("Kept out ({n}):").format(n=len(excl)))
        for e in excl[:15]:
            where = _("subgroup {n}").format(n=e["group"]) if e["group"] else _("the whole campaign")
            lines.append(f"  {e['name']} [{e['login']}] — " + labelled(_, where, service.reasons_text(_, e["reasons"])))
        if len(excl) > 15:
            lines.append(_("… and {n} more people").format(n=len(excl) - 15))
    buttons: list[list[Button]] = []
    if c.state == CampaignState.proposed.value:
        buttons = [[ctx.action(_("✔ Confirm the subgroups"), "cconf", f"{c.id}.confirm")],
                   [ctx.action(_("Change the subgroups"), "cedit", f"{c.id}.edit")]]
    ctx.reply("\n".join(lines), buttons=buttons)


async def show_campaign(ctx: Context, c: Campaign) -> None:
    _ = ctx._
    staff = ctx.require_staff()
    targets = await visible_targets(ctx.session, staff, c)
    if not targets:
        not_found(ctx, c.reference)
        return
    manage = await allowed(ctx.session, staff, c, CA.manage)
    if manage and c.state == CampaignState.proposed.value:
        await show_proposal(ctx, c)
        return
    lines = [_("Campaign {ref}: {title} ({kind})").format(ref=c.reference, title=c.title,
                                                          kind=_(service.KIND_WORDS[c.kind])),
             _("Organised by {who}; {a} – {b}; {state}").format(
                 who=await service.organiser_name(ctx.session, c, ctx.lang), a=c.starts_on.isoformat(), b=c.ends_on.isoformat(),
                 state=_(service.STATE_WORDS[c.state]))]
    for ln in await service.progress(ctx.uow, c, targets, ctx.lang):
        lines.append(_("Subgroup {n} · {target}: done {done}, due {due}, overdue {overdue}").format(
            n=ln.subgroup, target=ln.target, done=ln.done, due=ln.due, overdue=ln.overdue))
    buttons: list[list[Button]] = []
    member = await membership(ctx.session, staff, c)
    if member is not None and c.state == CampaignState.running.value:
        buttons.append([ctx.action(_("Report progress"), "cprog", str(member.id))])
    buttons.append([ctx.action(_("Campaign report"), "crep", f"{c.id}.text")])
    if manage:  # who was kept out of which subgroup and why (回避), as proposed
        buttons.append([ctx.action(_("Subgroups and who was kept out"), "cexcl", str(c.id))])
    if manage and c.state == CampaignState.running.value:
        buttons.append([ctx.action(_("End the campaign"), "cend", f"{c.id}.end")])
    ctx.reply("\n".join(lines), buttons=buttons)


async def show_report(ctx: Context, c: Campaign, fmt: str) -> None:
    staff = ctx.require_staff()
    targets = await visible_targets(ctx.session, staff, c)
    if not targets:
        not_found(ctx, "")
        return
    evaluations = await allowed(ctx.session, staff, c, CA.evaluations)
    rows = await report.table(ctx.uow, ctx._, c, targets, with_evaluations=evaluations)
    await ctx.uow.audit(staff, "campaign:report", campaign=c.reference, format=fmt, targets=len(targets),
                        evaluations=evaluations)
    if fmt == "csv":
        ctx.reply(c.reference, files=[OutboundFile(filename=f"{c.reference}.csv", content_type="text/csv",
                                                   data=report.as_csv(rows))])
    elif fmt == "xlsx":
        ctx.reply(c.reference, files=[OutboundFile(
            filename=f"{c.reference}.xlsx", data=report.as_xlsx(rows, c.reference),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")])
    else:
        ctx.reply(ctx._("Campaign report {ref}").format(ref=c.reference) + "\n" + report.as_text(rows),
                  buttons=[[ctx.action("CSV", "crep", f"{c.id}.csv"), ctx.action("XLSX", "crep", f"{c.id}.xlsx")]])
