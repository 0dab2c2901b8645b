"""Staff commands and buttons: /bind, /unbind, /my, /case, /new, /intake, /bindings, /revoke,
the 签收 button and the case action buttons; small conversations for typed input."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from handlers.access import Action, allowed, facts
from handlers.cases import binding, routing, service
from handlers.cases.views import DISPOSAL_WORDS, SOURCE_WORDS, STATE_WORDS, fmt_time, next_deadline, render_case
from handlers.context import Context
from handlers.i18n import N_
from handlers.lifecycle import IllegalTransition, open_case
from handlers.router import Audience, Conversation, Router
from storage.models import (
    Assignment,
    AssignmentMember,
    Case,
    CaseSource,
    CaseState,
    Disposal,
    MemberRole,
    Office,
    Role,
    Staff,
    Unit,
)

INPUT_TTL = timedelta(hours=2)
NOT_FOUND = N_("No case {ref} that you can see. Check the reference, or send /my for your cases.")
STATE_NAMES = {s.value: s for s in CaseState}


NOT_FOUND_ANY = N_("No such case that you can see. Send /my for your cases.")


def not_found(ctx: Context, ref: str) -> None:
    ctx.reply(ctx._(NOT_FOUND).format(ref=ref[:32]) if ref else ctx._(NOT_FOUND_ANY))


def illegal(ctx: Context, exc: IllegalTransition) -> None:
    allowed_words = "、".join(ctx._(STATE_WORDS[a]) for a in exc.allowed) or ctx._("nothing: this case is closed")
    ctx.reply(ctx._("That step is not possible now: the case is {state}. From here it can go to: {allowed}.").format(
        state=ctx._(STATE_WORDS.get(exc.from_state or "", exc.from_state or "")), allowed=allowed_words))


async def load_visible(ctx: Context, case_id: int, action: Action) -> tuple[Case | None, object]:
    case = await ctx.session.get(Case, case_id)
    staff = ctx.actor.staff
    if case is None or staff is None:
        return None, None
    people = await routing.people_text(ctx.session, ctx.sealer, case)
    f = await facts(ctx.session, staff, case, people_text=people)
    if not allowed(f, Action.view) or not allowed(f, action):
        return None, f
    return case, f


async def show_case(ctx: Context, case: Case) -> None:
    staff = ctx.actor.staff
    people = await routing.people_text(ctx.session, ctx.sealer, case)
    f = await facts(ctx.session, staff, case, people_text=people)
    if not allowed(f, Action.view):
        not_found(ctx, case.reference)
        return
    await service.log(ctx.session, staff, case, "view", ctx.clock.now(),
                      content=allowed(f, Action.view_content))
    await render_case(ctx, case, f)


async def unit_buttons(ctx: Context, query: str, prefix: str) -> list:  # type: ignore[type-arg]
    words = [w for w in query.split() if w][:3] or [query]
    rows = (await ctx.session.scalars(select(Unit).where(*[Unit.name.contains(w, autoescape=True) for w in words])
                                      .order_by(Unit.name).limit(8))).all()
    return [[ctx.button(u.name, f"{prefix}{u.id}")] for u in rows]


async def offer_units(ctx: Context) -> None:
    """Units matching what was typed, as buttons ``u:<id>``."""
    rows = await unit_buttons(ctx, (ctx.text or "").strip(), "u:")
    if not rows:
        ctx.reply(ctx._("No unit matches. Please type another part of its name."))
        return
    ctx.reply(ctx._("Which one?"), buttons=rows)


class CaseInput(Conversation):
    """Typed input for a case action: forward (body, reason), conclude (number), ask, note."""

    name = "caseinput"

    async def on_forward_body(self, ctx: Context) -> None:
        if not (ctx.text or "").strip():
            ctx.reply(ctx._("Please type the name of the body the case is forwarded to."))
            return
        ctx.state.secret["body"] = ctx.text.strip()
        ctx.state.goto("forward_reason")
        ctx.reply(ctx._("Why is it forwarded? (one sentence)"))

    async def on_forward_reason(self, ctx: Context) -> None:
        await self._do(ctx, "forward", (ctx.text or "").strip())

    async def on_conclude_n(self, ctx: Context) -> None:
        t = (ctx.text or "").strip()
        if not t.isdigit():
            ctx.reply(ctx._("Please type the number of people disciplined, as a whole number (0 if none)."))
            return
        await self._do(ctx, "conclude", t)

    async def on_ask_text(self, ctx: Context) -> None:
        await self._do(ctx, "ask", (ctx.text or "").strip())

    async def on_note_text(self, ctx: Context) -> None:
        await self._do(ctx, "note", (ctx.text or "").strip())

    async def _do(self, ctx: Context, what: str, value: str) -> None:
        _ = ctx._
        if not value:
            ctx.reply(_("I did not receive any text. Please type it, or /cancel."))
            return
        action = {"forward": Action.accept, "conclude": Action.dispose, "ask": Action.ask_reporter,
                  "note": Action.note}[what]
        case, _f = await load_visible(ctx, int(ctx.state.data["case_id"]), action)
        ctx.state.end()
        if case is None:
            not_found(ctx, "")
            return
        staff = ctx.actor.staff
        now = ctx.clock.now()
        try:
            if what == "forward":
                await service.forward(ctx.session, ctx.sealer, staff, case, now, body=ctx.state.secret.get("body") or "", reason=value)  # type: ignore[arg-type]
                ctx.reply(_("Case {ref} forwarded.").format(ref=case.reference))
            elif what == "conclude":
                await service.conclude(ctx.session, ctx.sealer, staff, case, now, int(value))  # type: ignore[arg-type]
                ctx.reply(_("Case {ref} concluded.").format(ref=case.reference))
            elif what == "ask":
                await service.ask_reporter(ctx.session, ctx.sealer, ctx.config, staff, case, value, now)  # type: ignore[arg-type]
                ctx.reply(_("Your question was left for the reporter. They will see it when they next check with their receipt."))
            else:
                await service.add_note(ctx.session, ctx.sealer, staff, case, value, now)  # type: ignore[arg-type]
                ctx.reply(_("Note added to case {ref}.").format(ref=case.reference))
        except IllegalTransition as exc:
            illegal(ctx, exc)


class TeamEditor(Conversation):
    """Change a proposed team: +login, -login, lead login, liaison login; then confirm with a reason."""

    name = "team"

    async def show(self, ctx: Context) -> None:
        _ = ctx._
        d = ctx.state.data
        names = {}
        for sid in [d["lead"], *d["members"], *d["liaisons"]]:
            st = await ctx.session.get(Staff, sid)
            names[sid] = f"{st.name} [{st.login}]" if st else str(sid)
        lines = [_("Team being changed:"), _("Lead: {v}").format(v=names.get(d["lead"], "-")),
                 _("Members: {v}").format(v="、".join(names[m] for m in d["members"]) or "-"),
                 _("Liaisons: {v}").format(v="、".join(names[m] for m in d["liaisons"]) or "-"),
                 _("Type +LOGIN to add, -LOGIN to remove, 'lead LOGIN' to choose the lead, 'liaison LOGIN' to add a "
                   "local liaison.")]
        ctx.reply("\n".join(lines), buttons=[[ctx.button(_("Confirm this team"), "confirm"),
                                               ctx.button(_("✖ Cancel"), "cancel")]])

    async def on_edit(self, ctx: Context) -> None:
        _ = ctx._
        if ctx.button_value == "cancel":
            await self.cancel(ctx)
            return
        if ctx.button_value == "confirm":
            ctx.state.goto("reason")
            ctx.reply(_("Why was the proposal changed? (one sentence, recorded with the change)"))
            return
        text = (ctx.text or "").strip()
        op, login = ("lead", text[5:].strip()) if text.lower().startswith("lead ") else \
            ("liaison", text[8:].strip()) if text.lower().startswith("liaison ") else \
            (text[:1], text[1:].strip()) if text[:1] in "+-" else ("", "")
        st = await ctx.session.scalar(select(Staff).where(Staff.login == login)) if login else None
        if st is None:
            ctx.reply(_("I did not understand that, or there is no staff member with that login."))
            await self.show(ctx)
            return
        d = ctx.state.data
        case = await ctx.session.get(Case, d["case_id"])
        if op in ("+", "lead", "liaison"):
            role = MemberRole.liaison if op == "liaison" else MemberRole.lead if op == "lead" else MemberRole.member
            try:
                await service.check_member(ctx.session, ctx.sealer, case, st, role, ctx.clock.now())  # type: ignore[arg-type]
            except service.Problem as p:
                ctx.reply(_("{name} cannot be on this team: {why}.").format(
                    name=st.name, why=service.conflict_text(_, p.info["reasons"])))  # type: ignore[arg-type]
                await self.show(ctx)
                return
            for k in ("members", "liaisons"):
                d[k] = [m for m in d[k] if m != st.id]
            if op == "lead":
                if d["lead"] and d["lead"] != st.id:
                    d["members"].append(d["lead"])
                d["lead"] = st.id
            elif op == "liaison":
                d["liaisons"].append(st.id)
            elif st.id != d["lead"]:
                d["members"].append(st.id)
        else:
            d["members"] = [m for m in d["members"] if m != st.id]
            d["liaisons"] = [m for m in d["liaisons"] if m != st.id]
            if d["lead"] == st.id:
                d["lead"] = None
        await self.show(ctx)

    async def on_reason(self, ctx: Context) -> None:
        _ = ctx._
        reason = (ctx.text or "").strip()
        if not reason:
            ctx.reply(_("Please give a reason; it is recorded with the change."))
            return
        d = ctx.state.data
        if not d.get("lead"):
            ctx.state.goto("edit")
            ctx.reply(_("A team needs a lead. Choose one with 'lead LOGIN'."))
            return
        case, _f = await load_visible(ctx, d["case_id"], Action.confirm_team)
        if case is None:
            ctx.state.end()
            not_found(ctx, "")
            return
        try:
            await service.confirm_team(ctx.session, ctx.sealer, ctx.config, ctx.actor.staff, case, ctx.clock.now(),  # type: ignore[arg-type]
                                       lead_id=d["lead"], member_ids=d["members"], liaison_ids=d["liaisons"],
                                       reason=reason, proposal=d.get("proposal"))
        except service.Problem as p:
            ctx.state.goto("edit")
            ctx.reply(_("This team cannot be confirmed: {why}.").format(why=service.conflict_text(_, p.info.get("reasons", []))))  # type: ignore[arg-type]
            return
        except IllegalTransition as exc:
            ctx.state.end()
            illegal(ctx, exc)
            return
        ctx.state.end()
        ctx.reply(_("Team confirmed for case {ref}; the members have been notified.").format(ref=case.reference))


class NewCase(Conversation):
    """Open a case from another source: source → unit → summary."""

    name = "newcase"

    async def on_source(self, ctx: Context) -> None:
        v = ctx.button_value or ""
        if v not in SOURCE_WORDS or v == "public_report":
            ctx.reply(ctx._("Please choose one of the buttons."))
            return
        ctx.state.data["source"] = v
        ctx.state.goto("unit")
        ctx.reply(ctx._("Which unit does it concern? Type part of its name."))

    async def on_unit(self, ctx: Context) -> None:
        v = ctx.button_value or ""
        if v.startswith("u:"):
            ctx.state.data["unit_id"] = int(v[2:])
            ctx.state.goto("summary")
            ctx.reply(ctx._("Summarise the clue in a few sentences."))
            return
        await offer_units(ctx)

    async def on_summary(self, ctx: Context) -> None:
        text = (ctx.text or "").strip()
        if not text:
            ctx.reply(ctx._("I did not receive any text. Please type it, or /cancel."))
            return
        now = ctx.clock.now()
        staff = ctx.actor.staff
        case = await open_case(ctx.session, source=CaseSource(ctx.state.data["source"]), now=now,
                               unit_id=ctx.state.data["unit_id"], actor_staff_id=staff.id if staff else None,
                               reason="opened by staff")
        case.key_id, case.summary_enc = ctx.sealer.seal_text(text)
        await routing.route(ctx.session, case)
        await service.log(ctx.session, staff, case, "open", now, source=case.source)
        ctx.state.end()
        ctx.reply(ctx._("Case {ref} opened. Open it with /case {ref}.").format(ref=case.reference))


class Intake(Conversation):
    """Supervisors give a unit to a case whose unit is unknown."""

    name = "intake"

    async def on_unit(self, ctx: Context) -> None:
        v = ctx.button_value or ""
        if v.startswith("u:"):
            case = await ctx.session.get(Case, ctx.state.data["case_id"])
            unit = await ctx.session.get(Unit, int(v[2:]))
            ctx.state.end()
            if case is None or unit is None or ctx.actor.staff is None:
                ctx.reply(ctx._("That case or unit no longer exists."))
                return
            try:
                await service.classify(ctx.session, ctx.sealer, ctx.actor.staff, case, unit, ctx.clock.now())
            except service.Denied:
                not_found(ctx, case.reference)
                return
            ctx.reply(ctx._("Case {ref} now concerns {unit} and goes to its joint group.").format(ref=case.reference, unit=unit.name))
            return
        await offer_units(ctx)


def make_router() -> Router:
    r = Router("cases")
    case_input = r.add_conversation(CaseInput())
    team = r.add_conversation(TeamEditor())
    r.add_conversation(NewCase())
    r.add_conversation(Intake())

    @r.command("bind", help=N_("Staff: link this chat to your account with the code from your administrator"),
               audience=Audience.anyone, order=60)
    async def bind(ctx: Context, args: str) -> None:
        if not args.strip():
            ctx.reply(ctx._("Please send /bind followed by the code you were given, e.g. /bind ABCDE-FGHJK."))
            return
        result, staff = await binding.redeem(ctx.session, args, channel=ctx.event.channel,
                                             external_id=ctx.event.sender.external_id, now=ctx.clock.now(),
                                             salt=ctx.config.salt)
        words = {
            "invalid": N_("That code is not valid. Nothing was changed. Please check it with your administrator."),
            "expired": N_("That code has expired. Please ask your administrator for a new one."),
            "used": N_("That code has already been used. Please ask your administrator for a new one."),
            "bound_other": N_("This chat is already linked to another staff member. Send /unbind there first."),
        }
        if result != "ok" or staff is None:
            ctx.reply(ctx._(words[result]))
            return
        ctx.lang = staff.language or ctx.lang
        await service.log(ctx.session, staff, None, "bind", ctx.clock.now(), channel=ctx.event.channel)
        ctx.reply(ctx._("This chat is now linked to {name}. Send /help to see your commands.").format(name=staff.name))

    @r.command("unbind", help=N_("Unlink this chat from your staff account"), audience=Audience.staff, order=61)
    async def unbind(ctx: Context, args: str) -> None:
        assert ctx.actor.identity is not None
        await ctx.session.delete(ctx.actor.identity)
        await service.log(ctx.session, ctx.actor.staff, None, "unbind", ctx.clock.now(), channel=ctx.event.channel)
        ctx.reply(ctx._("This chat is no longer linked to your account."))

    @r.command("my", help=N_("My open cases"), audience=Audience.staff, order=20, menu=True)
    async def my(ctx: Context, args: str) -> None:
        _ = ctx._
        staff = ctx.actor.staff
        assert staff is not None
        rows = (await ctx.session.execute(
            select(Case, AssignmentMember).join(Assignment, Assignment.case_id == Case.id)
            .join(AssignmentMember, AssignmentMember.assignment_id == Assignment.id)
            .where(Assignment.status == "confirmed", AssignmentMember.staff_id == staff.id,
                   Case.state.not_in(routing.CLOSED)).order_by(Case.id))).all()
        lines, buttons = [], []
        for case, m in rows:
            due = await next_deadline(ctx.session, case)
            lines.append(_("{ref}: {state}; next deadline {due}").format(
                ref=case.reference, state=_(STATE_WORDS[case.state]), due=fmt_time(ctx, due)))
            buttons.append([ctx.action(case.reference, "case", f"{case.id}.view")])
        if Role.lead in staff.roles and staff.office_id:
            office = await ctx.session.get(Office, staff.office_id)
            waiting = (await ctx.session.scalars(select(Case).where(
                Case.joint_group_id == office.joint_group_id, Case.state.in_(("received", "accepted")))
                .order_by(Case.id).limit(20))).all() if office and office.joint_group_id else []
            visible = []
            for c in waiting:
                if await service.decide(ctx.session, staff, c, Action.accept,
                                        people_text=await routing.people_text(ctx.session, ctx.sealer, c)):
                    visible.append(c)
            if visible:
                lines.append(_("Waiting in your joint group:"))
                for c in visible:
                    lines.append(f"  {c.reference}: {_(STATE_WORDS[c.state])}")
                    buttons.append([ctx.action(c.reference, "case", f"{c.id}.view")])
        ctx.reply("\n".join(lines) if lines else _("You have no open cases."), buttons=buttons)

    @r.command("case", help=N_("Show a case: /case REFERENCE"), audience=Audience.staff, order=21)
    async def case_cmd(ctx: Context, args: str) -> None:
        if not args.strip():
            ctx.reply(ctx._("Please give a reference, e.g. /case LZ2026-00001."))
            return
        case = await service.find_case(ctx.session, args)
        if case is None:
            not_found(ctx, args.strip())
            return
        await show_case(ctx, case)

    @r.command("new", help=N_("Open a case from another source (inspection, audit, referral, own findings)"),
               audience=Audience.staff, roles=(Role.lead, Role.supervisor, Role.admin), order=22)
    async def new(ctx: Context, args: str) -> None:
        ctx.state.begin("newcase", "source", ttl=INPUT_TTL)
        ctx.reply(ctx._("Where does the clue come from?"),
                  buttons=[[ctx.button(ctx._(w), k)] for k, w in SOURCE_WORDS.items() if k != "public_report"])

    @r.command("intake", help=N_("Cases whose unit is not known yet"), audience=Audience.staff,
               roles=(Role.supervisor, Role.admin), order=23)
    async def intake(ctx: Context, args: str) -> None:
        cases = (await ctx.session.scalars(select(Case).where(Case.joint_group_id.is_(None),
                                                              Case.state.not_in(routing.CLOSED)).order_by(Case.id).limit(20))).all()
        if not cases:
            ctx.reply(ctx._("The intake queue is empty."))
            return
        ctx.reply(ctx._("Cases waiting for a unit (press one, then type the unit's name):"),
                  buttons=[[ctx.action(c.reference, "intake", str(c.id))] for c in cases])

    @r.action("intake")
    async def intake_pick(ctx: Context, arg: str) -> None:
        if not ctx.actor.staff or not (ctx.actor.roles & {Role.supervisor, Role.admin}) or not arg.isdigit():
            not_found(ctx, "")
            return
        ctx.state.begin("intake", "unit", ttl=INPUT_TTL, data={"case_id": int(arg)})
        ctx.reply(ctx._("Which unit does it concern? Type part of its name."))

    @r.command("bindings", help=N_("Administrators: list linked chats"), audience=Audience.staff,
               roles=(Role.admin,), order=70)
    async def bindings_cmd(ctx: Context, args: str) -> None:
        rows = await binding.bindings(ctx.session)
        ctx.reply("\n".join(f"{s.login} ({s.name}): {i.channel}" + (" ✖" if i.blocked_at else "") for i, s in rows)
                  or ctx._("No chats are linked."))

    @r.command("revoke", help=N_("Administrators: unlink a staff member's chats: /revoke LOGIN"),
               audience=Audience.staff, roles=(Role.admin,), order=71)
    async def revoke_cmd(ctx: Context, args: str) -> None:
        n = await binding.revoke(ctx.session, args.strip())
        await service.log(ctx.session, ctx.actor.staff, None, "revoke", ctx.clock.now(), login=args.strip()[:64], n=n)
        ctx.reply(ctx._("{n} linked chats removed.").format(n=n))

    @r.action("ack")
    async def ack(ctx: Context, arg: str) -> None:
        _ = ctx._
        if ctx.actor.staff is None or not arg.isdigit():
            ctx.reply(_("This button is for staff only. Nothing was changed."))
            return
        result, case = await service.acknowledge(ctx.session, ctx.actor.staff, int(arg), ctx.clock.now(), ctx.config)
        words = {
            "ok": N_("Acknowledged (已签收) case {ref}. The team lead has been told."),
            "again": N_("You had already acknowledged case {ref}."),
            "not_yours": N_("This notice is not addressed to you. Nothing was changed."),
            "stale": N_("This assignment has been replaced. Nothing was changed; send /my for your current cases."),
        }
        ctx.reply(_(words[result]).format(ref=case.reference if case else ""), edit=result == "ok")

    @r.action("case")
    async def case_action(ctx: Context, arg: str) -> None:
        _ = ctx._
        cid, _sep, verb = arg.partition(".")
        if ctx.actor.staff is None or not cid.isdigit():
            not_found(ctx, "")
            return
        staff, now, s = ctx.actor.staff, ctx.clock.now(), ctx.session
        need = {"view": Action.view, "accept": Action.accept, "forward": Action.accept, "team": Action.propose_team,
                "team_ok": Action.confirm_team, "team_edit": Action.confirm_team, "file": Action.dispose,
                "conclude": Action.dispose, "feedback": Action.dispose, "ask": Action.ask_reporter,
                "note": Action.note}.get(verb, Action.dispose if verb.startswith("disp_") else Action.classify)
        case, f = await load_visible(ctx, int(cid), need)
        if case is None:
            not_found(ctx, "")
            return
        try:
            if verb == "view":
                await show_case(ctx, case)
            elif verb == "accept":
                await service.accept(s, ctx.sealer, staff, case, now)
                ctx.reply(_("Case {ref} accepted (已受理). Next: propose a team.").format(ref=case.reference),
                          buttons=[[ctx.action(_("Propose a team"), "case", f"{case.id}.team")]])
            elif verb in ("forward", "conclude", "ask", "note"):
                step = {"forward": "forward_body", "conclude": "conclude_n", "ask": "ask_text", "note": "note_text"}[verb]
                ctx.state.begin(case_input.name, step, ttl=INPUT_TTL, data={"case_id": case.id})
                prompt = {"forward": N_("Which body is it forwarded to?"),
                          "conclude": N_("How many people were disciplined? (a number, 0 if none)"),
                          "ask": N_("Type your question for the reporter. Do not include anything that would reveal who they are."),
                          "note": N_("Type the note.")}[verb]
                ctx.reply(_(prompt))
            elif verb == "team":
                await propose_team(ctx, case)
            elif verb == "team_ok":
                p = await routing.propose(s, ctx.sealer, case, now=now, **routing.settings_of(s))
                if p.problem:
                    await propose_team(ctx, case)
                    return
                await service.confirm_team(s, ctx.sealer, ctx.config, staff, case, now, lead_id=p.lead_id,  # type: ignore[arg-type]
                                           member_ids=p.member_ids, proposal=p.to_json())
                ctx.reply(_("Team confirmed for case {ref}; the members have been notified.").format(ref=case.reference))
            elif verb == "team_edit":
                p = await routing.propose(s, ctx.sealer, case, now=now, **routing.settings_of(s))
                ctx.state.begin(team.name, "edit", ttl=INPUT_TTL, data={
                    "case_id": case.id, "lead": p.lead_id, "members": p.member_ids, "liaisons": [],
                    "proposal": p.to_json()})
                await team.show(ctx)  # type: ignore[attr-defined]
            elif verb.startswith("disp_"):
                await service.dispose(s, ctx.sealer, staff, case, now, Disposal(verb[5:]))
                ctx.reply(_("Disposal recorded for case {ref}: {d}.").format(ref=case.reference, d=_(DISPOSAL_WORDS[verb[5:]])))
            elif verb == "file":
                await service.file_case(s, ctx.sealer, staff, case, now)
                ctx.reply(_("Case {ref} filed (已立案).").format(ref=case.reference))
            elif verb == "feedback":
                await service.feedback_given(s, ctx.sealer, staff, case, now)
                ctx.reply(_("Recorded that the reporter was informed for case {ref}.").format(ref=case.reference))
            else:
                not_found(ctx, "")
        except IllegalTransition as exc:
            illegal(ctx, exc)
        except service.Denied:
            not_found(ctx, "")
        except service.Problem as p:
            ctx.reply(_("This team cannot be confirmed: {why}.").format(why=service.conflict_text(_, p.info.get("reasons", []))))  # type: ignore[arg-type]

    return r


async def propose_team(ctx: Context, case: Case) -> None:
    _ = ctx._
    staff = ctx.actor.staff
    assert staff is not None
    p = await service.proposal_for(ctx.session, ctx.sealer, staff, case, ctx.clock.now())
    lines = [_("Proposed team for case {ref}:").format(ref=case.reference)]
    if p.problem == "no_group":
        ctx.reply(_("Case {ref} has no unit yet, so no joint group can take it. A supervisor must classify it (/intake).").format(ref=case.reference))
        return
    if p.problem == "no_team":
        n = await service.escalate_no_team(ctx.session, ctx.config, case, ctx.clock.now(), "no conflict-free team")
        ctx.reply(_("No conflict-free team can be formed for case {ref} in its joint group. The supervisors have been "
                    "told ({n}).").format(ref=case.reference, n=n))
        return
    for sid in [p.lead_id, *p.member_ids]:
        st = await ctx.session.get(Staff, sid)
        office = await ctx.session.get(Office, st.office_id) if st and st.office_id else None
        role = _("lead") if sid == p.lead_id else _("member")
        lines.append(f"  • {st.name} [{st.login}] — {role}, {office.name if office else '-'}")
    if p.exclusions:
        lines.append(_("Not proposed, with the reason (回避):"))
        for e in p.exclusions:
            lines.append(f"  • {e.name} [{e.login}]: {service.conflict_text(_, e.reasons)}")
    ctx.reply("\n".join(lines), buttons=[[ctx.action(_("✔ Confirm"), "case", f"{case.id}.team_ok"),
                                           ctx.action(_("Change the team"), "case", f"{case.id}.team_edit")]])
