"""Staff commands and buttons: /bind, /unbind, /my, /case, /new, /intake, /invite, /bindings, /revoke, /deactivate,
the 签收 button and the case action buttons (their table is in handlers.cases.verbs)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from handlers.access import Action, decide, visible_clause
from handlers.cases import binding, conflicts, evidence, lists, routing, service, signoff
from handlers.cases.conversations import CONVERSATIONS, INTAKE, NEW_CASE
from handlers.cases.extensions import CASE_REQUEST
from handlers.cases.replies import illegal, load_visible, not_found, refused, show_case
from handlers.cases.team import RECUSE
from handlers.cases.transfers import TRANSFER
from handlers.cases.verbs import VERBS
from handlers.cases.views import STATE_WORDS, fmt_time
from handlers.context import Context
from handlers.i18n import N_, labelled
from handlers.lifecycle import IllegalTransition
from handlers.router import Audience, Router
from storage.models import Assignment, AssignmentMember, Case, Office, Role, Staff

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
            if await decide(ctx.session, ctx.sealer, staff, c, Action.accept):
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
        await refused(ctx, "view", typed=args.strip())  # probing for references shows in the trail
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
    case, f = await load_visible(ctx, int(arg), Action.classify) if arg.isascii() and arg.isdigit() \
        and len(arg) < 12 else (None, None)
    if case is None or not service.in_intake(case):
        if ctx.actor.staff is not None and (f is None or case is not None):  # a refusal by the policy itself is audited by load_visible
            await ctx.uow.audit(ctx.actor.staff, "refused", case_id=case.id if case else None, what="classify",
                                typed=arg[:32])
        not_found(ctx, "")
        return
    await INTAKE.start(ctx, case.id)


async def bindings_cmd(ctx: Context, args: str) -> None:
    rows = await binding.bindings(ctx.session)
    ctx.reply("\n".join(f"{s.login} ({s.name}): {i.channel}" + (" ✖" if i.blocked_at else "") for i, s in rows)
              or ctx._("No chats are linked."))


def _login_arg(ctx: Context, args: str, example: str) -> str | None:
    """The one login an administrator's command takes; a missing one is answered with the syntax."""
    login = args.strip().split(" ", 1)[0][:64]
    if not login:
        ctx.reply(ctx._("Please give a login, e.g. {example}.").format(example=example))
        return None
    return login


async def _staff_arg(ctx: Context, args: str, example: str) -> tuple[str, Staff] | None:
    """The login an administrator's command takes and its staff member; a missing login is answered
    with the syntax, an unknown one by name."""
    login = _login_arg(ctx, args, example)
    if login is None:
        return None
    staff = await binding.find_staff(ctx.session, login)
    if staff is None:
        ctx.reply(ctx._("No staff member has the login {login}. Nothing was changed.").format(login=login))
        return None
    return login, staff


async def invite_cmd(ctx: Context, args: str) -> None:
    """The same one-time code as `lianzu staff invite`: an older code of that person stops working."""
    _ = ctx._
    admin = ctx.require_staff()
    found = await _staff_arg(ctx, args, "/invite o05-f1")
    if found is None:
        return
    login, staff = found
    if not staff.active:
        ctx.reply(_("{name} is deactivated; no code was issued. Reactivate them first (lianzu staff reactivate).")
                  .format(name=staff.name))
        return
    code = await binding.invite(ctx.session, login, now=ctx.clock.now(),
                                ttl=timedelta(hours=ctx.config.invite_ttl_hours), salt=ctx.config.salt)
    # The audit names who was invited and by whom, never the code.
    await service.log(ctx.uow, admin, None, "invite", ctx.clock.now(), login=login, issued=code is not None)
    ctx.reply(_("One-time code for {name} ({login}): {code}\nValid until {time}. They send /bind {code} from their "
                "own chat. Any earlier code of theirs no longer works.").format(
        name=staff.name, login=login, code=code, time=fmt_time(ctx, ctx.clock.now()
                                                                + timedelta(hours=ctx.config.invite_ttl_hours))))


async def revoke_cmd(ctx: Context, args: str) -> None:
    _ = ctx._
    admin = ctx.require_staff()
    found = await _staff_arg(ctx, args, "/revoke o05-f1")
    if found is None:
        return
    login, staff = found
    n = await binding.revoke(ctx.session, login)
    await service.log(ctx.uow, admin, None, "revoke", ctx.clock.now(), login=login, n=n)
    ctx.reply(ctx.ngettext("{name}: {n} linked chat removed; any outstanding code no longer works.",
                           "{name}: {n} linked chats removed; any outstanding code no longer works.", n)
              .format(name=staff.name, n=n))


async def deactivate_cmd(ctx: Context, args: str) -> None:
    _ = ctx._
    admin = ctx.require_staff()
    login = _login_arg(ctx, args, "/deactivate o05-f1")
    if login is None:
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
    visible = [c for c in done.open_cases if await decide(ctx.session, ctx.sealer, admin, c, Action.view)]
    if done.open_cases:
        lines.append(_("Open cases needing a replacement: {n}; their leads and supervisors have been told.").format(
            n=len(done.open_cases)))
    ctx.reply("\n".join(lines), buttons=[[ctx.action(c.reference, "case", f"{c.id}.view")] for c in visible])


async def ack(ctx: Context, arg: str) -> None:
    _ = ctx._
    if ctx.actor.staff is None or not (arg.isascii() and arg.isdigit()):
        ctx.reply(_("This button is for staff only. Nothing was changed."))
        return
    # An id too long to exist is answered like any assignment that is not theirs.
    result, case = await service.acknowledge(ctx.uow, ctx.actor.staff, int(arg)) if len(arg) <= 12 else ("not_yours", None)
    ctx.reply(_(ACK_WORDS[result]).format(ref=case.reference if case else ""), edit=result == "ok")


async def case_action(ctx: Context, arg: str) -> None:
    cid, _sep, name = arg.partition(".")
    verb = VERBS.get(name)
    staff = ctx.actor.staff
    if staff is None or not (cid.isascii() and cid.isdigit()) or len(cid) > 12 or verb is None:
        not_found(ctx, "")
        return
    case, f = await load_visible(ctx, int(cid), verb.need)
    if case is None:
        if f is None and staff is not None:  # no such case (refusals of real ones are audited by load_visible)
            await ctx.uow.audit(staff, "refused", what=name[:32], typed=cid)
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
    r.add_conversation(conflicts.DECLARE)
    r.add_conversation(conflicts.REFUSE)
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
    r.command("invite", help=N_("Administrators: a one-time code with which a staff member links a chat"),
              usage=N_("/invite LOGIN"), audience=staff_only, roles=(Role.admin,), order=69)(invite_cmd)
    r.command("revoke", help=N_("Administrators: unlink a staff member's chats"),
              usage=N_("/revoke LOGIN"), audience=staff_only,
              roles=(Role.admin,), order=71)(revoke_cmd)
    r.command("deactivate", help=N_("Administrators: stop a staff member's access"),
              usage=N_("/deactivate LOGIN"), audience=staff_only, roles=(Role.admin,), order=72)(deactivate_cmd)
    r.command("conflict", help=N_("Declare a conflict of interest (回避) with a unit or a person"),
              audience=staff_only, order=62)(conflicts.conflict_cmd)
    r.command("conflicts", help=N_("Administrators: declared conflicts waiting for a decision"),
              audience=staff_only, roles=(Role.admin,), order=73)(conflicts.pending_cmd)
    r.command("list", help=N_("Cases you can see, filtered"),
              usage=N_("/list [overdue|ack|state:…|source:…|group:…|unit:…|since:YYYY-MM-DD]"),
              audience=staff_only, roles=leads, order=24, menu=True)(
        lists.list_cmd)
    r.action("list")(lists.list_action)
    r.action("intake")(intake_pick)
    r.action("ack")(ack)
    r.action("case")(case_action)
    r.action("evid")(evidence.open_file)
    r.action("conflict")(conflicts.decide_action)
    return r
