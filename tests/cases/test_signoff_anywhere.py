"""签收 from wherever a member happens to be (the console, /my, /case), and the bugs found around
it: the lead who confirms his own team, a supervisor's own /new case, /my before /bind."""

from __future__ import annotations

import io

from sqlalchemy import select

from bot.channels.console import ConsoleChannel
from bot.delivery import DeliveryWorker
from handlers.cases.views import STATE_WORDS
from handlers.deps import Deps
from storage.models import Case, Deadline, Staff
from tests.cases.conftest import accept_and_confirm_team, members_of, outbox_to, team_of, tip_case
from tests.fakes import Chat


async def test_a_console_push_keeps_its_numbered_menu_so_the_case_gets_past_assigned(chat, staff_chat, deps: Deps,
                                                                                    dispatcher) -> None:
    case = await tip_case(chat, deps)
    out = io.StringIO()
    console = ConsoleChannel(dispatcher, out=out)
    # Everyone of the joint group has a console identity before the team is confirmed.
    async with deps.sessionmaker() as s:
        logins = (await s.scalars(select(Staff.login).where(Staff.login.like("o0%")))).all()
    for login in logins:
        await console.act_as(login)
    await accept_and_confirm_team(staff_chat, case)
    team = await team_of(deps, case)
    worker = DeliveryWorker(deps.sessionmaker, {"console": console}, deps.sealer, deps.clock, deps.config)
    assert await worker.drain_once() >= len(members_of(team))
    for login in members_of(team):
        await console.act_as(login)
        out.truncate(0)
        out.seek(0)
        await console.handle_line("1")  # the notice's first (and only) button: 签收
        assert case.reference in out.getvalue() and "已签收" in out.getvalue(), out.getvalue()
    async with deps.sessionmaker() as s:
        assert (await s.get(Case, case.id)).state == "acknowledged"


async def test_my_and_case_offer_signoff_and_my_then_says_it_is_done(chat, staff_chat, deps: Deps) -> None:
    case = await tip_case(chat, deps)
    await accept_and_confirm_team(staff_chat, case)
    team = await team_of(deps, case)
    first, second = members_of(team)[:2]
    member = await staff_chat(first)
    _ = await member.gettext()
    await member.send("/my")
    owed = team[first]
    assert f"{owed.id}" in member.button_values()  # 签收 offered on /my
    assigned = _(STATE_WORDS["assigned"])
    assert _("{ref}: {state}; awaiting your acknowledgement (签收) by {due}").format(
        ref=case.reference, state=assigned, due="2026-03-03 23:59") in member.last
    await member.press_value(f"{owed.id}")
    assert _("Acknowledged (已签收) case {ref}. The team lead has been told.").format(ref=case.reference) in member.last
    await member.send("/my")
    assert _("{ref}: {state}; you have acknowledged (已签收); next deadline {due}").format(
        ref=case.reference, state=assigned, due="-") in member.last
    assert "2026-03-03 23:59" not in member.last  # not the deadline just met
    assert f"{owed.id}" not in member.button_values()
    other = await staff_chat(second)
    await other.send(f"/case {case.reference}")
    assert f"{team[second].id}" in other.button_values()  # 签收 offered on /case too
    await other.press_value(f"{team[second].id}")
    await other.send(f"/case {case.reference}")
    assert f"{team[second].id}" not in other.button_values()
    # Nobody else is offered someone's 签收.
    lead = await staff_chat("o02-lead")
    await lead.send(f"/case {case.reference}")
    assert not any(v.isdigit() for v in lead.button_values())


async def test_the_lead_who_confirms_his_own_team_has_signed_by_confirming(chat, staff_chat, deps: Deps) -> None:
    case = await tip_case(chat, deps)
    await accept_and_confirm_team(staff_chat, case)
    team = await team_of(deps, case)
    assert team["o02-lead"].role == "lead"  # the proposal made the accepting lead the team lead
    assert team["o02-lead"].acknowledged_at is not None  # confirming is his 签收
    assert [n.kind for n in await outbox_to(deps, "o02-lead")] == []  # no 签收 notice to himself
    async with deps.sessionmaker() as s:
        d = await s.scalar(select(Deadline).where(Deadline.member_id == team["o02-lead"].id))
        assert d is not None and d.met_at is not None
    lead = await staff_chat("o02-lead")
    await lead.send("/my")
    _ = await lead.gettext()
    assert _("{ref}: {state}; you have acknowledged (已签收); next deadline {due}").format(
        ref=case.reference, state=_(STATE_WORDS["assigned"]), due="-") in lead.last


async def test_whoever_registers_a_case_is_invited_to_open_it_only_if_the_access_policy_lets_them(
        chat, staff_chat, deps: Deps) -> None:
    async def register(login: str, source: str, summary: str) -> tuple[Chat, Case]:
        c = await staff_chat(login)
        await c.send("/new")
        await c.press_value(source)
        await c.send("交通警察")
        await c.press_label("省公安厅交通警察总队")
        await c.send(summary)
        async with deps.sessionmaker() as s:
            return c, (await s.scalars(select(Case).order_by(Case.id.desc()))).first()

    # sup1's home region is the unit's: cross inspection (inspection handovers) excludes him.
    sup, case = await register("sup1", "inspection_handover", "巡视发现总队违规发放补贴。")
    _ = await sup.gettext()
    assert "/case" not in sup.last and case.reference in sup.last
    assert _("home region is the region concerned (cross inspection)") in sup.last
    await sup.send(f"/case {case.reference}")
    assert sup.last == _("No case {ref} that you can see. Check the reference, or send /my for your cases.").format(
        ref=case.reference)
    # Without a conflict the invitation holds, and /case shows what they registered.
    sup, case = await register("sup1", "self_found", "自查发现总队违规发放补贴。")
    assert sup.last == _("Case {ref} opened. Open it with /case {ref}.").format(ref=case.reference)
    await sup.send(f"/case {case.reference}")
    assert sup.last.startswith(_("Case {ref}").format(ref=case.reference)) and "自查发现总队违规发放补贴" in sup.last


async def test_an_unbound_staff_member_is_pointed_to_bind(chat) -> None:
    c = chat("new-phone")
    _ = await c.gettext()
    await c.send("/my")
    mine = c.last
    assert "/bind" in mine
    await c.send("/frobnicate")
    assert c.last.replace("/frobnicate", "/my") == mine  # the same answer whether or not the command exists
