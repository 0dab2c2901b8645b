"""Small conversations for typed input on a case: forward, conclude, ask, note; changing a
team; opening a case from another source; giving a unit to a case in intake.

Each declares its steps once (diagrams in docs/conversations/).
"""

from __future__ import annotations

import enum

from sqlalchemy import select

from handlers import inputs
from handlers.access import Action, allowed, facts
from handlers.cases import feedback, service
from handlers.cases.replies import INPUT_TTL, act_on_case, illegal, load_visible, not_found, offer_units
from handlers.cases.routing import Proposal
from handlers.cases.views import SOURCE_WORDS
from handlers.context import Context
from handlers.i18n import N_
from handlers.inputs import NO_TEXT
from handlers.lifecycle import IllegalTransition
from handlers.router import Conversation, Step
from storage.models import Case, CaseSource, MemberRole, Staff, Unit


class CI(enum.Enum):
    forward_body = "forward_body"
    forward_reason = "forward_reason"
    conclude_n = "conclude_n"
    ask_text = "ask_text"
    note_text = "note_text"
    conclude_result = "conclude_result"
    reveal_reason = "reveal_reason"


class CaseInput(Conversation):
    """Typed input for a case action: forward (body, reason), conclude (number), ask, note."""

    name = "caseinput"
    Steps = CI
    first = CI.forward_body
    begin_label = "Forward (on /case)"
    other_entries = {CI.conclude_n: "Conclude", CI.ask_text: "Ask the reporter", CI.note_text: "Add a note",
                     CI.reveal_reason: "Reveal the reporter's contact"}
    notes = ("Typed input for a case action. /cancel ends it from any state.",)

    async def start(self, ctx: Context, case: Case, step: CI) -> None:
        await self.open(ctx, ttl=INPUT_TTL, data={"case_id": case.id}, step=step)

    async def ask_forward_body(self, ctx: Context) -> None:
        ctx.reply(ctx._("Which body is it forwarded to?"))

    async def ask_forward_reason(self, ctx: Context) -> None:
        ctx.reply(ctx._("Why is it forwarded? (one sentence)"))

    async def ask_conclude_n(self, ctx: Context) -> None:
        ctx.reply(ctx._("How many people were disciplined? (a number, 0 if none)"))

    async def ask_ask_text(self, ctx: Context) -> None:
        ctx.reply(ctx._("Type your question for the reporter. Do not include anything that would reveal who they are."))

    async def ask_note_text(self, ctx: Context) -> None:
        ctx.reply(ctx._("Type the note."))

    async def ask_conclude_result(self, ctx: Context) -> None:
        ctx.reply(ctx._("Type the result for the reporter: what was verified and what was done. They read it as "
                        "you write it, so name no one on the team."))

    async def ask_reveal_reason(self, ctx: Context) -> None:
        ctx.reply(ctx._("Why do you need the reporter's name and contact? (recorded in the case history)"))

    async def on_conclude_result(self, ctx: Context) -> None:
        await self._do(ctx, CI.conclude_result, (ctx.text or "").strip())

    async def on_reveal_reason(self, ctx: Context) -> None:
        await self._do(ctx, CI.reveal_reason, (ctx.text or "").strip())

    async def on_forward_body(self, ctx: Context) -> None:
        body = (ctx.text or "").strip()
        if not body:
            ctx.reply(ctx._("Please type the name of the body the case is forwarded to."))
            return
        ctx.state.secret["body"] = body
        await self.go(ctx, CI.forward_reason)

    async def on_forward_reason(self, ctx: Context) -> None:
        await self._do(ctx, CI.forward_reason, (ctx.text or "").strip())

    async def on_conclude_n(self, ctx: Context) -> None:
        n = inputs.number_in(ctx.text)
        if n is None:
            ctx.reply(ctx._("Please type the number of people disciplined, as a whole number (0 if none)."))
            return
        t = str(n)
        case = await ctx.session.get(Case, int(ctx.state.data["case_id"]))
        if case is not None and case.tip_id is not None:  # a reporter waits for the result (反馈)
            ctx.state.data["n"] = int(t)
            await self.go(ctx, CI.conclude_result)
            return
        await self._do(ctx, CI.conclude_n, t)

    async def on_ask_text(self, ctx: Context) -> None:
        await self._do(ctx, CI.ask_text, (ctx.text or "").strip())

    async def on_note_text(self, ctx: Context) -> None:
        await self._do(ctx, CI.note_text, (ctx.text or "").strip())

    async def _do(self, ctx: Context, step: CI, value: str) -> None:
        _ = ctx._
        action = {CI.forward_reason: Action.accept, CI.conclude_n: Action.dispose, CI.ask_text: Action.ask_reporter,
                  CI.note_text: Action.note, CI.conclude_result: Action.dispose,
                  CI.reveal_reason: Action.reveal_reporter}[step]
        body = ctx.state.secret.get("body") or ""
        n_disciplined = int(ctx.state.data.get("n", 0))
        uow = ctx.uow

        async def act(staff: Staff, case: Case) -> None:
            if step is CI.forward_reason:
                await service.forward(uow, staff, case, body=body, reason=value)
                ctx.reply(_("Case {ref} forwarded.").format(ref=case.reference))
            elif step is CI.conclude_n:
                await service.conclude(uow, staff, case, int(value))
                ctx.reply(_("Case {ref} concluded.").format(ref=case.reference))
            elif step is CI.conclude_result:
                told = await feedback.conclude(uow, staff, case, n_disciplined, value)
                ctx.reply(_("Case {ref} concluded.").format(ref=case.reference) + "\n" + (
                    _("The result was sent to the reporter; press \"Feedback given to the reporter\" once they "
                      "have it.") if told else
                    _("The reporter can read the result with their receipt (/check); tell a named reporter "
                      "without a chat yourself, then press \"Feedback given to the reporter\".")))
            elif step is CI.reveal_reason:
                name, contact = await feedback.reveal_reporter(uow, staff, case, value)
                ctx.reply(_("Reporter of case {ref}: {name}; contact: {contact}. This was recorded with your "
                            "reason.").format(ref=case.reference, name=name or "-", contact=contact or "-"))
            elif step is CI.ask_text:
                await service.ask_reporter(uow, staff, case, value)
                ctx.reply(_("Your question was left for the reporter. They will see it when they next check with their receipt."))
            else:
                await service.add_note(uow, staff, case, value)
                ctx.reply(_("Note added to case {ref}.").format(ref=case.reference))

        await act_on_case(ctx, value, action, act, empty=NO_TEXT)

    steps = {
        CI.forward_body: Step(on_forward_body, ask_forward_body, goes={CI.forward_reason: "body typed"}),
        CI.forward_reason: Step(on_forward_reason, ask_forward_reason, ends="reason typed (case forwarded)"),
        CI.conclude_n: Step(on_conclude_n, ask_conclude_n, goes={CI.conclude_n: "not a number",
                                                                 CI.conclude_result: "number typed (a reported case)"},
                            ends="number typed (case concluded)"),
        CI.conclude_result: Step(on_conclude_result, ask_conclude_result,
                                 ends="result typed (case concluded; a named reporter is sent it)"),
        CI.reveal_reason: Step(on_reveal_reason, ask_reveal_reason,
                               ends="reason typed (name and contact shown, audited)"),
        CI.ask_text: Step(on_ask_text, ask_ask_text, ends="question typed (left for the reporter)"),
        CI.note_text: Step(on_note_text, ask_note_text, ends="note typed (sealed, audited)"),
    }


class TE(enum.Enum):
    edit = "edit"
    reason = "reason"


class TeamEditor(Conversation):
    """Change a proposed team: +login, -login, lead login, liaison login; then confirm with a reason."""

    name = "team"
    Steps = TE
    first = TE.edit
    begin_label = "Change the team"
    notes = ("Changing a proposed team (Change the team on /case).",)

    async def start(self, ctx: Context, case: Case, proposal: Proposal) -> None:
        ctx.state.begin(self.name, TE.edit.value, ttl=INPUT_TTL, data={
            "case_id": case.id, "lead": proposal.lead_id, "members": proposal.member_ids, "liaisons": [],
            "proposal": proposal.to_json()})
        await self.show(ctx)

    async def show(self, ctx: Context) -> None:
        _ = ctx._
        d = ctx.state.data
        names = {}
        for sid in [d["lead"], *d["members"], *d["liaisons"]]:
            st = await ctx.session.get(Staff, sid) if sid is not None else None
            names[sid] = f"{st.name} [{st.login}]" if st else str(sid)
        lines = [_("Team being changed:"), _("Lead: {v}").format(v=names.get(d["lead"], "-") if d["lead"] else "-"),
                 _("Members: {v}").format(v="、".join(names[m] for m in d["members"]) or "-"),
                 _("Liaisons: {v}").format(v="、".join(names[m] for m in d["liaisons"]) or "-"),
                 _("Type +LOGIN to add, -LOGIN to remove, 'lead LOGIN' to choose the lead, 'liaison LOGIN' to add a "
                   "local liaison. Someone from another joint group: +LOGIN followed by the reason for the loan.")]
        ctx.reply("\n".join(lines), buttons=[[ctx.button(_("Confirm this team"), "confirm"),
                                               ctx.button(_("✖ Cancel"), "cancel")]])

    async def ask_reason(self, ctx: Context) -> None:
        ctx.reply(ctx._("Why was the proposal changed? (one sentence, recorded with the change)"))

    async def on_edit(self, ctx: Context) -> None:
        _ = ctx._
        if ctx.button_value == "cancel":
            await self.cancel(ctx)
            return
        if ctx.button_value == "confirm":
            await self.go(ctx, TE.reason)
            return
        text = (ctx.text or "").strip()
        op, rest = ("lead", text[5:].strip()) if text.lower().startswith("lead ") else \
            ("liaison", text[8:].strip()) if text.lower().startswith("liaison ") else \
            (text[:1], text[1:].strip()) if text[:1] in "+-" else ("", "")
        # Anything after the login is the reason for a loan from another joint group.
        login, _sp, loan = rest.partition(" ")
        loan = loan.strip()
        st = await ctx.session.scalar(select(Staff).where(Staff.login == login)) if login else None
        d = ctx.state.data
        case = await ctx.session.get(Case, d["case_id"])
        if st is None or case is None:
            ctx.reply(_("I did not understand that, or there is no staff member with that login."))
            await self.show(ctx)
            return
        if op in ("+", "lead", "liaison"):
            role = MemberRole.liaison if op == "liaison" else MemberRole.lead if op == "lead" else MemberRole.member
            try:
                await service.check_member(ctx.uow, case, st, role, loan)
            except service.Problem as p:
                reasons = p.info.get("reasons")
                ctx.reply(_("{name} cannot be on this team: {why}.").format(
                    name=st.name, why=service.conflict_text(_, reasons if isinstance(reasons, list) else [])))
                await self.show(ctx)
                return
            for k in ("members", "liaisons"):
                d[k] = [m for m in d[k] if m != st.id]
            if loan:
                ctx.state.secret.setdefault("loans", {})[str(st.id)] = loan  # typed: sealed
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
            ctx.state.goto(TE.edit.value)
            ctx.reply(_("A team needs a lead. Choose one with 'lead LOGIN'."))
            return
        staff = ctx.require_staff()
        case, _f = await load_visible(ctx, d["case_id"], Action.confirm_team)
        if case is None:
            ctx.state.end()
            not_found(ctx, "")
            return
        try:
            await service.confirm_team(ctx.uow, staff, case, lead_id=d["lead"], member_ids=d["members"],
                                       liaison_ids=d["liaisons"], reason=reason, proposal=d.get("proposal"),
                                       loans={int(k): v for k, v in ctx.state.secret.get("loans", {}).items()})
        except service.Problem as p:
            ctx.state.goto(TE.edit.value)
            reasons = p.info.get("reasons")
            ctx.reply(_("This team cannot be confirmed: {why}.").format(
                why=service.conflict_text(_, reasons if isinstance(reasons, list) else [])))
            return
        except IllegalTransition as exc:
            ctx.state.end()
            illegal(ctx, exc)
            return
        ctx.state.end()
        ctx.reply(_("Team confirmed for case {ref}; the members have been notified.").format(ref=case.reference))

    steps = {
        TE.edit: Step(on_edit, goes={
            TE.edit: "+LOGIN / -LOGIN / lead LOGIN / liaison LOGIN (conflicts refused, named)",
            TE.reason: "Confirm this team"}, ends="Cancel"),
        TE.reason: Step(on_reason, ask_reason, goes={TE.edit: "no lead / conflict"},
                        ends="reason given (team confirmed, members notified)"),
    }


class NC(enum.Enum):
    source = "source"
    unit = "unit"
    summary = "summary"


class NewCase(Conversation):
    """Open a case from another source: source → unit → summary."""

    name = "newcase"
    Steps = NC
    first = NC.source
    begin_label = "/new"
    notes = ("Opening a case from another source (/new). /cancel ends it from any state.",)

    async def start(self, ctx: Context) -> None:
        await self.open(ctx, ttl=INPUT_TTL)

    async def ask_source(self, ctx: Context) -> None:
        ctx.reply(ctx._("Where does the clue come from?"),
                  buttons=[[ctx.button(ctx._(w), k)] for k, w in SOURCE_WORDS.items() if k != "public_report"])

    async def ask_unit(self, ctx: Context) -> None:
        ctx.reply(ctx._("Which unit does it concern? Type part of its name."))

    async def ask_summary(self, ctx: Context) -> None:
        ctx.reply(ctx._("Summarise the clue in a few sentences."))

    async def on_source(self, ctx: Context) -> None:
        v = ctx.button_value or ""
        if v not in SOURCE_WORDS or v == "public_report":
            ctx.reply(ctx._("Please choose one of the buttons."))
            return
        ctx.state.data["source"] = v
        await self.go(ctx, NC.unit)

    async def on_unit(self, ctx: Context) -> None:
        unit_id = inputs.pressed_id(ctx, "u:")
        if unit_id is not None and await ctx.session.get(Unit, unit_id) is not None:
            ctx.state.data["unit_id"] = unit_id
            await self.go(ctx, NC.summary)
            return
        await offer_units(ctx)

    async def on_summary(self, ctx: Context) -> None:
        text = (ctx.text or "").strip()
        if not text:
            ctx.reply(ctx._("I did not receive any text. Please type it, or /cancel."))
            return
        staff = ctx.require_staff()
        case = await service.open_other_case(ctx.uow, staff, source=CaseSource(ctx.state.data["source"]),
                                             unit_id=ctx.state.data["unit_id"], summary=text)
        ctx.state.end()
        # Whoever registers a clue is still bound by 回避: the access policy decides whether they
        # may follow it, and they are invited to open it only if they may.
        f = await facts(ctx.session, ctx.sealer, staff, case)
        if allowed(f, Action.view):
            ctx.reply(ctx._("Case {ref} opened. Open it with /case {ref}.").format(ref=case.reference))
        else:
            ctx.reply(ctx._("Case {ref} opened and sent to its joint group. You must stay out of it (回避: {why}), "
                            "so it will not appear in your lists.").format(
                ref=case.reference, why=service.conflict_text(ctx._, f.reasons)))

    steps = {
        NC.source: Step(on_source, ask_source, goes={NC.unit: "source chosen"}),
        NC.unit: Step(on_unit, ask_unit, goes={NC.unit: "text (units offered)", NC.summary: "unit chosen"}),
        NC.summary: Step(on_summary, ask_summary, ends="summary typed (case opened, routed)"),
    }


class IN(enum.Enum):
    unit = "unit"


class Intake(Conversation):
    """Supervisors give a unit to a case whose unit is unknown, or move a case to another unit."""

    name = "intake"
    Steps = IN
    first = IN.unit
    begin_label = "a case pressed on /intake, or Change the unit (on /case)"
    notes = ("Giving a unit to a case in the intake queue (/intake, supervisors), or moving a case to "
             "another unit (a recorded action, checked on the old and the new unit).",)

    async def start(self, ctx: Context, case_id: int, *, change: bool = False) -> None:
        await self.open(ctx, ttl=INPUT_TTL, data={"case_id": case_id, "change": change})

    async def ask_unit(self, ctx: Context) -> None:
        ctx.reply(ctx._("Which unit does it concern? Type part of its name."))

    async def on_unit(self, ctx: Context) -> None:
        v = ctx.button_value or ""
        if not (v.startswith("u:") and (v[2:].isascii() and v[2:].isdigit()) and len(v) < 14):
            await offer_units(ctx)
            return
        staff = ctx.require_staff()
        change = bool(ctx.state.data.get("change"))
        case = await ctx.session.get(Case, ctx.state.data["case_id"])
        unit = await ctx.session.get(Unit, int(v[2:]))
        ctx.state.end()
        if case is None or unit is None:
            not_found(ctx, "")
            return
        try:
            if change:
                await service.change_unit(ctx.uow, staff, case, unit)
            else:
                await service.classify(ctx.uow, staff, case, unit)
        except service.Denied:
            # A conflict on the case or on the unit chosen: the same answer as a missing case.
            not_found(ctx, "")
            return
        except service.Problem as p:
            ctx.reply(ctx._(UNIT_PROBLEMS.get(p.code, UNIT_PROBLEMS["not_in_intake"])).format(ref=case.reference))
            return
        ctx.reply(ctx._("Case {ref} now concerns {unit} and goes to its joint group.").format(ref=case.reference, unit=unit.name_for(ctx.lang)))

    steps = {
        IN.unit: Step(on_unit, ask_unit, goes={IN.unit: "text (units offered)"},
                      ends="unit chosen (case routed to its joint group)"),
    }


UNIT_PROBLEMS = {
    "not_in_intake": N_("Case {ref} is no longer waiting for a unit. Nothing was changed."),
    "closed": N_("Case {ref} is closed; its unit cannot be changed. Nothing was changed."),
    "same_unit": N_("Case {ref} already concerns that unit. Nothing was changed."),
}


CASE_INPUT = CaseInput()
TEAM_EDITOR = TeamEditor()
NEW_CASE = NewCase()
INTAKE = Intake()
CONVERSATIONS: tuple[Conversation, ...] = (CASE_INPUT, TEAM_EDITOR, NEW_CASE, INTAKE)
