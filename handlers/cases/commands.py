"""Staff commands and buttons: /bind, /unbind, /my, /case, /new, /intake, /bindings, /revoke,
the 签收 button and the case action buttons (their table is in handlers.cases.verbs)."""

from __future__ import annotations

from sqlalchemy import select

from handlers.access import Action, decide, people_text, visible_clause
from handlers.cases import binding, evidence, lists, routing, service, signoff
from handlers.cases.conversations import CONVERSATIONS, INTAKE, NEW_CASE
from handlers.cases.extensions import CASE_REQUEST
from handlers.cases.replies import illegal, load_visible, not_found, show_case
from handlers.cases.team import RECUSE
from handlers.cases.transfers import TRANSFER
from handlers.cases.verbs import VERBS
from handlers.cases.views import STATE_WORDS, fmt_time
from handlers.context import Context
from handlers.i18n import N_, labelled
from handlers.lifecycle import IllegalTransition
from handlers.router import Audience, Router
from storage.models import Assignment, AssignmentMember, Case, Office, Role

BIND_WORDS = {
    "invalid": N_("That code is not valid. Nothing was changed. Please check it with your administrator."),
    "expired": N_("That code has expired. Please ask your administrator for a new one."),
    "used": N_("That code has already been used. Please ask your administrator for a new one."),
    "bound_other": N_("This chat is already linked to another staff member. Send /unbind there first."),
    "throttled": N_("Too many codes were tried from this chat. Nothing was changed. Please try again after {time}, "
                    "and check the code with your administrator."),
}
ACK_WORDS = {
    "ok": N_("Acknowledged (已签收) case {ref}. The team lead has been told."),
    "again": N_("You had already acknowledged case {ref}."),
    "not_yours": N_("This notice is not addressed to you. Nothing was changed."),
    "stale": N_("This assignment has been replaced. Nothing was changed; send /my for your current cases."),
}


async def bind(ctx: Context, args: str) -> None:
    if not args.strip():
        ctx.reply(ctx._("Please send /bind followed by the code you were given, e.g. /bind ABCDE-FGHJK."))
        return
    out = await binding.redeem(ctx.session, args, channel=ctx.event.channel,
                               external_id=ctx.event.sender.external_id, now=ctx.clock.now(),
                               salt=ctx.config.salt, limits=binding.Limits.of(ctx.config))
    staff = out.staff
    if out.result != "ok" or staff is None:
        when = fmt_time(ctx, out.retry_at) if out.retry_at else ""
        ctx.reply(ctx._(BIND_WORDS[out.result]).format(time=when))
        return
    if not staff.language:
        # The language of the chat they bound from becomes theirs: notices, reminders and digests follow it.
        staff.language = ctx.lang
    ctx.lang = staff.language
    await service.log(ctx.uow, staff, None, "bind", ctx.clock.now(), channel=ctx.event.channel)
    await service.queue_pending_notices(ctx.uow, staff.id)
    ctx.reply(ctx._("This chat is now linked to {name}. Send /help to see your commands.").format(name=staff.name))


async def unbind(ctx: Context, args: str) -> None:
    staff = ctx.require_staff()
    if ctx.actor.identity is not None:
        await ctx.session.delete(ctx.actor.identity)
    await service.log(ctx.uow, staff, None, "unbind", ctx.clock.now(), channel=ctx.event.channel)
    ctx.reply(ctx._("This chat is no longer linked to your account."))


async def my(ctx: Context, args: str) -> None:
    _ = ctx._
    staff = ctx.require_staff()
    rows = (await ctx.session.execute(
        select(Case, AssignmentMember).join(Assignment, Assignment.case_id == Case.id)
        .join(AssignmentMember, AssignmentMember.assignment_id == Assignment.id)
        .where(Assignment.status == "confirmed", AssignmentMember.staff_id == staff.id, AssignmentMember.left_at.is_(None),
               Case.state.not_in(routing.CLOSED), await visible_clause(ctx.session, ctx.sealer, staff))
        .order_by(Case.id))).all()
    lines, buttons = [], []
    for case, m in rows:
        state = _(STATE_WORDS[case.state])
        owed = await signoff.owed_until(ctx.session, m)
        if owed is not None:
            lines.append(_("{ref}: {state}; awaiting your acknowledgement (签收) by {due}").format(
                ref=case.reference, state=state, due=fmt_time(ctx, owed)))
            buttons.append([ctx.action(case.reference, "case", f"{case.id}.view"), signoff.ack_button(ctx, m)])
            continue
        due = await signoff.case_deadline(ctx.session, case)
        if m.acknowledged_at is not None:
            lines.append(_("{ref}: {state}; you have acknowledged (已签收); next deadline {due}").format(
                ref=case.reference, state=state, due=fmt_time(ctx, due)))
        else:
            lines.append(_("{ref}: {state}; next deadline {due}").format(
                ref=case.reference, state=state, due=fmt_time(ctx, due)))
        buttons.append([ctx.action(case.reference, "case", f"{case.id}.view")])
    if Role.lead in staff.roles and staff.office_id:
        office = await ctx.session.get(Office, staff.office_id)
        waiting = (await ctx.session.scalars(select(Case).where(
            Case.joint_group_id == office.joint_group_id, Case.state.in_(("received", "accepted")))
            .order_by(Case.id).limit(20))).all() if office and office.joint_group_id else []
        visible = []
        for c in waiting:
            if await decide(ctx.session, staff, c, Action.accept,
                            people_text=await people_text(ctx.session, ctx.sealer, c)):
                visible.append(c)
        if visible:
            lines.append(_("Waiting in your joint group:"))
            for c in visible:
                lines.append("  " + labelled(_, c.reference, _(STATE_WORDS[c.state])))
                buttons.append([ctx.action(c.reference, "case", f"{c.id}.view")])
    await service.log(ctx.uow, staff, None, "my", ctx.clock.now(), cases=[c.id for c, _m in rows])
    more, more_buttons = await lists.supervisor_lines(ctx, staff)
    lines, buttons = lines + more, buttons + more_buttons
    ctx.reply("\n".join(lines) if lines else _("You have no open cases."), buttons=buttons)


async def case_cmd(ctx: Context, args: str) -> None:
    ctx.require_staff()
    if not args.strip():
        ctx.reply(ctx._("Please give a reference, e.g. /case LZ2026-00001."))
        return
    case = await service.find_case(ctx.session, args)
    if case is None:
        not_found(ctx, args.strip())
        return
    await show_case(ctx, case, args.strip())


async def new(ctx: Context, args: str) -> None:
    ctx.require_staff()
    await NEW_CASE.start(ctx)


async def intake(ctx: Context, args: str) -> None:
    staff = ctx.require_staff()
    # Only cases this person could classify: nobody learns of a case they have a conflict on.
    found = (await ctx.session.scalars(select(Case).where(
        Case.joint_group_id.is_(None), Case.state.not_in(routing.CLOSED),
        await visible_clause(ctx.session, ctx.sealer, staff)).order_by(Case.id).limit(lists.SCAN))).all()
    cases = (await lists.visible(ctx, staff, list(found)))[:lists.LIMIT]
    if not cases:
        ctx.reply(ctx._("The intake queue is empty."))
        return
    # Handed up (提级) cases have a unit: pressing one opens it; the others need a unit first.
    ctx.reply("\n".join([ctx._("Cases waiting for a unit (press one, then type the unit's name):")]
                        + [await lists.line(ctx, c) for c in cases]),
              buttons=[[ctx.action(c.reference, "case", f"{c.id}.view") if c.level == "supervisors"
                        else ctx.action(c.reference, "intake", str(c.id))] for c in cases])


async def intake_pick(ctx: Context, arg: str) -> None:
    # Forged or stale data, no access, or a case no longer in intake: the same answer for all.
    case, _f = await load_visible(ctx, int(arg), Action.classify) if arg.isdigit() and len(arg) < 12 else (None, None)
    if case is None or not service.in_intake(case):
        not_found(ctx, "")
        return
    await INTAKE.start(ctx, case.id)


async def bindings_cmd(ctx: Context, args: str) -> None:
    rows = await binding.bindings(ctx.session)
    ctx.reply("\n".join(f"{s.login} ({s.name}): {i.channel}" + (" ✖" if i.blocked_at else "") for i, s in rows)
              or ctx._("No chats are linked."))


async def revoke_cmd(ctx: Context, args: str) -> None:
    staff = ctx.require_staff()
    n = await binding.revoke(ctx.session, args.strip())
    await service.log(ctx.uow, staff, None, "revoke", ctx.clock.now(), login=args.strip()[:64], n=n)
    ctx.reply(ctx._("{n} linked chats removed.").format(n=n))


async def deactivate_cmd(ctx: Context, args: str) -> None:
    _ = ctx._
    admin = ctx.require_staff()
    login = args.strip().split(" ", 1)[0][:64]
    if not login:
        ctx.reply(_("Please give a login, e.g. /deactivate o05-f1."))
        return
    if login == admin.login:
        ctx.reply(_("You cannot deactivate yourself. Nothing was changed."))
        return
    done = await binding.deactivate(ctx.uow, login)
    if done is None:
        ctx.reply(_("No staff member has the login {login}. Nothing was changed.").format(login=login))
        return
    await service.log(ctx.uow, admin, None, "deactivate", ctx.clock.now(), login=login, chats=done.chats,
                      open_cases=len(done.open_cases))
    lines = [_("{name} is deactivated: {n} linked chats stopped working, outstanding codes destroyed.").format(
        name=done.staff.name, n=done.chats)]
    visible = [c for c in done.open_cases if await decide(ctx.session, admin, c, Action.view,
                                                        people_text=await people_text(ctx.session, ctx.sealer, c))]
    if done.open_cases:
        lines.append(_("Open cases needing a replacement: {n}; their leads and supervisors have been told.").format(
            n=len(done.open_cases)))
    ctx.reply("\n".join(lines), buttons=[[ctx.action(c.reference, "case", f"{c.id}.view")] for c in visible])


async def ack(ctx: Context, arg: str) -> None:
    _ = ctx._
    if ctx.actor.staff is None or not arg.isdigit():
        ctx.reply(_("This button is for staff only. Nothing was changed."))
        return
    # An id too long to exist is answered like any assignment that is not theirs.
    result, case = await service.acknowledge(ctx.uow, ctx.actor.staff, int(arg)) if len(arg) <= 12 else ("not_yours", None)
    ctx.reply(_(ACK_WORDS[result]).format(ref=case.reference if case else ""), edit=result == "ok")


async def case_action(ctx: Context, arg: str) -> None:
    cid, _sep, name = arg.partition(".")
    verb = VERBS.get(name)
    staff = ctx.actor.staff
    if staff is None or not cid.isdigit() or len(cid) > 12 or verb is None:
        not_found(ctx, "")
        return
    case, _f = await load_visible(ctx, int(cid), verb.need)
    if case is None:
        not_found(ctx, "")
        return
    try:
        await verb.run(ctx, staff, case)
    except IllegalTransition as exc:
        illegal(ctx, exc)
    except service.Denied:
        not_found(ctx, "")
    except service.Problem as p:
        reasons = p.info.get("reasons")
        ctx.reply(ctx._("This team cannot be confirmed: {why}.").format(
            why=service.conflict_text(ctx._, reasons if isinstance(reasons, list) else [])))


def make_router() -> Router:
    r = Router("cases")
    for conv in (*CONVERSATIONS, CASE_REQUEST, TRANSFER, RECUSE):
        r.add_conversation(conv)
    r.add_conversation(evidence.ADD_MATERIAL)
    staff_only, leads = Audience.staff, (Role.lead, Role.supervisor, Role.admin)
    r.command("bind", help=N_("Staff: link this chat to your account with the code from your administrator"),
              audience=Audience.anyone, order=60, on_start=False)(bind)
    r.command("unbind", help=N_("Unlink this chat from your staff account"), audience=staff_only, order=61)(unbind)
    r.command("my", help=N_("My open cases"), audience=staff_only, order=20, menu=True)(my)
    r.command("case", help=N_("Show a case"), usage=N_("/case REFERENCE"), audience=staff_only, order=21)(case_cmd)
    r.command("new", help=N_("Open a case from another source (inspection, audit, referral, own findings)"),
              audience=staff_only, roles=leads, order=22)(new)
    r.command("intake", help=N_("Cases whose unit is not known yet"), audience=staff_only,
              roles=(Role.supervisor, Role.admin), order=23)(intake)
    r.command("bindings", help=N_("Administrators: list linked chats"), audience=staff_only, roles=(Role.admin,),
              order=70)(bindings_cmd)
    r.command("revoke", help=N_("Administrators: unlink a staff member's chats"),
              usage=N_("/revoke LOGIN"), audience=staff_only,
              roles=(Role.admin,), order=71)(revoke_cmd)
    r.command("deactivate", help=N_("Administrators: stop a staff member's access: /deactivate LOGIN"),
              audience=staff_only, roles=(Role.admin,), order=72)(deactivate_cmd)
    r.command("list", help=N_("Cases you can see, filtered"),
              usage=N_("/list [overdue|ack|state:…|source:…|group:…|unit:…|since:YYYY-MM-DD]"),
              audience=staff_only, roles=leads, order=24, menu=True)(
        lists.list_cmd)
    r.action("list")(lists.list_action)
    r.action("intake")(intake_pick)
    r.action("ack")(ack)
    r.action("case")(case_action)
    r.action("evid")(evidence.open_file)
    return r
