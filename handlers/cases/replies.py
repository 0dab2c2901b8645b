"""Answers the case commands, buttons and conversations share: not found (the same whether or
not the case exists), illegal steps, showing a case, choosing a unit, proposing a team."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from handlers.access import Action, Facts, allowed, facts
from handlers.cases import joint_units, service
from handlers.cases.views import STATE_WORDS, render_case
from handlers.context import Context
from handlers.events import Button
from handlers.i18n import N_, labelled
from handlers.inputs import NO_REASON
from handlers.lifecycle import IllegalTransition
from handlers.search import find_units
from storage.models import Case, Office, Staff

Act = Callable[[Staff, Case], Awaitable[None]]

INPUT_TTL = timedelta(hours=2)
NOT_FOUND = N_("No case {ref} that you can see. Check the reference, or send /my for your cases.")
NOT_FOUND_ANY = N_("No such case that you can see. Send /my for your cases.")


def not_found(ctx: Context, ref: str) -> None:
    """The one answer for a case that does not exist or may not be seen. ``ref`` is only ever what
    the person typed, never what the database holds, so the two cannot be told apart."""
    ctx.reply(ctx._(NOT_FOUND).format(ref=ref[:32]) if ref else ctx._(NOT_FOUND_ANY))


async def refused(ctx: Context, what: str, *, case_id: int | None = None, typed: str = "") -> None:
    """A read or action the access policy refused (or aimed at nothing): audited, then answered with
    the one not-found answer. The trail shows who probed what; the person learns nothing."""
    if ctx.actor.staff is not None:
        await ctx.uow.audit(ctx.actor.staff, "refused", case_id=case_id, what=what[:32], typed=typed[:32])
    not_found(ctx, typed)


def illegal(ctx: Context, exc: IllegalTransition) -> None:
    allowed_words = "、".join(ctx._(STATE_WORDS[a]) for a in exc.allowed) or ctx._("nothing: this case is closed")
    ctx.reply(ctx._("That step is not possible now: the case is {state}. From here it can go to: {allowed}.").format(
        state=ctx._(STATE_WORDS.get(exc.from_state or "", exc.from_state or "")), allowed=allowed_words))


async def load_visible(ctx: Context, case_id: int, action: Action) -> tuple[Case | None, Facts | None]:
    """The case, if the speaker may see it and do ``action``; else (None, …) exactly as if it did not exist."""
    case = await ctx.session.get(Case, case_id)
    staff = ctx.actor.staff
    if case is None or staff is None:
        return None, None
    f = await facts(ctx.session, ctx.sealer, staff, case)
    if not allowed(f, Action.view) or not allowed(f, action):
        await ctx.uow.audit(staff, "refused", case_id=case.id, what=action.value)
        return None, f
    return case, f


async def act_on_case(ctx: Context, typed: str, need: Action, act: Act, *, empty: str = NO_REASON,
                      on_problem: Callable[[Context, service.Problem], None] | None = None) -> None:
    """The last step of every "type a reason (or a text), then act on the case" conversation:
    nothing typed is asked again; otherwise the conversation ends and ``act`` runs on the case of
    ``ctx.state.data["case_id"]`` if the speaker may still see it and do ``need`` (checked now, not
    when the conversation began). A case they may not see, a refusal by the service, or an illegal
    step gets the shared answers. Read anything else from the state before calling: it ends here."""
    if not typed:
        ctx.reply(ctx._(empty))
        return
    staff = ctx.require_staff()
    case, _f = await load_visible(ctx, int(ctx.state.data["case_id"]), need)
    ctx.state.end()
    if case is None:
        not_found(ctx, "")
        return
    try:
        await act(staff, case)
    except IllegalTransition as exc:
        illegal(ctx, exc)
    except service.Denied:
        not_found(ctx, "")
    except service.Problem as p:
        if on_problem is None:
            raise
        on_problem(ctx, p)


async def show_case(ctx: Context, case: Case, typed: str = "") -> None:
    """``typed``: the reference as the person typed it, echoed if they may not see the case."""
    staff = ctx.require_staff()
    f = await facts(ctx.session, ctx.sealer, staff, case)
    if not allowed(f, Action.view):
        await refused(ctx, Action.view.value, case_id=case.id, typed=typed)
        return
    await service.log(ctx.uow, staff, case, "view", ctx.clock.now(), content=allowed(f, Action.view_content))
    await render_case(ctx, case, f)


async def unit_buttons(ctx: Context, query: str, prefix: str) -> list[list[Button]]:
    return [[ctx.button(u.name_for(ctx.lang), f"{prefix}{u.id}")] for u in await find_units(ctx.session, query)]


async def offer_units(ctx: Context) -> None:
    """Units matching what was typed, as buttons ``u:<id>``."""
    rows = await unit_buttons(ctx, (ctx.text or "").strip(), "u:")
    if not rows:
        ctx.reply(ctx._("No unit matches. Please type another part of its name."))
        return
    ctx.reply(ctx._("Which one?"), buttons=rows)


async def propose_team(ctx: Context, case: Case) -> None:
    _ = ctx._
    staff = ctx.require_staff()
    p = await service.proposal_for(ctx.uow, staff, case)
    lines = [_("Proposed team for case {ref}:").format(ref=case.reference)]
    if p.problem == "no_group":
        ctx.reply(_("Case {ref} has no unit yet, so no joint group can take it. A supervisor must classify it (/intake).").format(ref=case.reference))
        return
    if p.problem == "no_team":
        n = await service.escalate_no_team(ctx.uow, case, "no conflict-free team")
        ctx.reply(_("No conflict-free team can be formed for case {ref} in its joint group. The supervisors have been "
                    "told ({n}).").format(ref=case.reference, n=n))
        return
    lines += joint_units.proposal_lines(_, p, service.conflict_text)
    for sid in [p.lead_id, *p.member_ids]:
        st = await ctx.session.get(Staff, sid)
        if st is None:
            continue
        office = await ctx.session.get(Office, st.office_id) if st.office_id else None
        role = _("lead") if sid == p.lead_id else _("member")
        lines.append("  • " + _("{name} [{login}] — {role}, {office}").format(
            name=st.name, login=st.login, role=role, office=office.name_for(ctx.lang) if office else "-"))
    if p.exclusions:
        lines.append(_("Not proposed, with the reason (回避):"))
        for e in p.exclusions:
            lines.append("  • " + labelled(_, _("{name} [{login}]").format(name=e.name, login=e.login),
                                            service.conflict_text(_, e.reasons)))
    ctx.reply("\n".join(lines), buttons=[[ctx.action(_("✔ Confirm"), "case", f"{case.id}.team_ok"),
                                           ctx.action(_("Change the team"), "case", f"{case.id}.team_edit")]])
