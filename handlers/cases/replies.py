"""Answers the case commands, buttons and conversations share: not found (the same whether or
not the case exists), illegal steps, showing a case, choosing a unit, proposing a team."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from handlers.access import Action, Facts, allowed, facts
from handlers.cases import routing, service
from handlers.cases.views import STATE_WORDS, render_case
from handlers.context import Context
from handlers.events import Button
from handlers.i18n import N_
from handlers.lifecycle import IllegalTransition
from storage.models import Case, Office, Staff, Unit

INPUT_TTL = timedelta(hours=2)
NOT_FOUND = N_("No case {ref} that you can see. Check the reference, or send /my for your cases.")
NOT_FOUND_ANY = N_("No such case that you can see. Send /my for your cases.")


def not_found(ctx: Context, ref: str) -> None:
    ctx.reply(ctx._(NOT_FOUND).format(ref=ref[:32]) if ref else ctx._(NOT_FOUND_ANY))


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
    people = await routing.people_text(ctx.session, ctx.sealer, case)
    f = await facts(ctx.session, staff, case, people_text=people)
    if not allowed(f, Action.view) or not allowed(f, action):
        return None, f
    return case, f


async def show_case(ctx: Context, case: Case) -> None:
    staff = ctx.require_staff()
    people = await routing.people_text(ctx.session, ctx.sealer, case)
    f = await facts(ctx.session, staff, case, people_text=people)
    if not allowed(f, Action.view):
        not_found(ctx, case.reference)
        return
    await service.log(ctx.uow, staff, case, "view", ctx.clock.now(), content=allowed(f, Action.view_content))
    await render_case(ctx, case, f)


async def unit_buttons(ctx: Context, query: str, prefix: str) -> list[list[Button]]:
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
    for sid in [p.lead_id, *p.member_ids]:
        st = await ctx.session.get(Staff, sid)
        if st is None:
            continue
        office = await ctx.session.get(Office, st.office_id) if st.office_id else None
        role = _("lead") if sid == p.lead_id else _("member")
        lines.append(f"  • {st.name} [{st.login}] — {role}, {office.name if office else '-'}")
    if p.exclusions:
        lines.append(_("Not proposed, with the reason (回避):"))
        for e in p.exclusions:
            lines.append(f"  • {e.name} [{e.login}]: {service.conflict_text(_, e.reasons)}")
    ctx.reply("\n".join(lines), buttons=[[ctx.action(_("✔ Confirm"), "case", f"{case.id}.team_ok"),
                                           ctx.action(_("Change the team"), "case", f"{case.id}.team_edit")]])
