"""Result feedback (反馈) and named (实名) reporters: the result recorded at conclusion reaches the
reporter (/check, or pushed to a named one), the feedback duties are deadlines the lead is reminded
of, and only the team lead can reveal a named reporter's contact, with the reveal on record."""

from __future__ import annotations

from sqlalchemy import select

from handlers.deps import Deps
from handlers.i18n import N_
from handlers.reporter.tips import STATUS_WORDS
from storage.models import AuditEntry, Case, Deadline, Outbox
from tests.cases.conftest import members_of, outbox_to, press_data, team_of
from tests.cases.test_evidence import team_with_liaison
from tests.fakes import Chat
from tests.schedule.test_deadlines import run_tick

RESULT = "经核实，反映的收受好处费问题属实，已给予相关人员党纪处分。"


async def named_tip(c: Chat) -> str:
    await c.send("/report")
    await c.send("交通警察")
    if "own" in c.button_values():
        await c.press_value(c.button_values()[0])
    await c.send("张某，副总队长")
    await c.send("他收受好处费。")
    await c.press(N_("Done"))
    await c.press(N_("Skip"))
    await c.press(N_("With my name"))
    await c.send("赵实名")
    await c.send("13900001111")
    text = (await c.press(N_("✔ Submit")))[-1].text
    return "".join(ch for ch in text.split("回执号码：")[1].split("请立即")[0] if ch.isdigit())


async def work_to_conclusion_step(staff_chat, deps: Deps, case: Case) -> Chat:  # type: ignore[no-untyped-def]
    """Everyone signs from /my, the lead records a disposal and starts 办结."""
    for login in members_of(await team_of(deps, case)):
        m = await staff_chat(login)
        await m.send("/my")
        await m.press(N_("✔ Acknowledge (签收)"))
    lead = await staff_chat("o02-lead")
    await lead.send(f"/case {case.reference}")
    await lead.press_value(f"{case.id}.disp_preliminary_verification")
    await lead.send(f"/case {case.reference}")
    await lead.press(N_("Conclude (办结)"))
    return lead


async def test_a_named_reporter_is_told_of_acceptance_and_sent_the_result(chat, staff_chat, deps: Deps, clock) -> None:
    reporter = chat("named-rep")
    await named_tip(reporter)
    async with deps.sessionmaker() as s:
        case = (await s.scalars(select(Case))).one()
    await team_with_liaison(staff_chat, case)
    async with deps.sessionmaker() as s:
        told = (await s.scalars(select(Outbox).where(Outbox.kind == "reporter_accepted"))).all()
        acc = await s.scalar(select(Deadline).where(Deadline.kind == "feedback_acceptance"))
    assert len(told) == 1 and acc is not None and acc.met_at is not None  # 受理告知 sent, the duty met

    lead = await work_to_conclusion_step(staff_chat, deps, case)
    await lead.send("1")
    _ = await lead.gettext()
    assert lead.last == _("Type the result for the reporter: what was verified and what was done. They read it as "
                          "you write it, so name no one on the team.")
    await lead.send(RESULT)
    async with deps.sessionmaker() as s:
        sent = (await s.scalars(select(Outbox).where(Outbox.kind == "reporter_result"))).one()
        fb = await s.scalar(select(Deadline).where(Deadline.kind == "feedback_result"))
        row = await s.get(Case, case.id)
    assert RESULT in sent.payload["text"] and sent.identity_id is None  # pushed to the reporter's own chat
    assert row.state == "concluded" and row.people_disciplined == 1 and RESULT.encode() not in row.result_enc
    assert fb is not None and fb.met_at is None  # the 15-working-day result duty runs until feedback is recorded
    clock.set(fb.due_at)
    clock.advance(days=-3)
    reminders, _esc = await run_tick(deps)
    assert reminders >= 1 and any(case.reference in n.payload["text"] and n.kind == "reminder"
                                  for n in await outbox_to(deps, "o02-lead"))
    await lead.send(f"/case {case.reference}")
    assert _("Result for the reporter: {v}").format(v=RESULT) in lead.last
    await lead.press(N_("Feedback given to the reporter"))
    async with deps.sessionmaker() as s:
        assert (await s.get(Case, case.id)).state == "feedback_given"
        assert (await s.get(Deadline, fb.id)).met_at is not None


async def test_only_the_team_lead_reveals_a_named_reporter_and_it_is_on_record(chat, staff_chat, deps: Deps) -> None:
    await named_tip(chat("named-rep"))
    async with deps.sessionmaker() as s:
        case = (await s.scalars(select(Case))).one()
    lead = await team_with_liaison(staff_chat, case)
    _ = await lead.gettext()
    member_login = members_of(await team_of(deps, case))[0]
    for who in (member_login, "o01-f2", "o01-lead", "sup1"):  # a member, the liaison, the conflicted, a supervisor
        c = await staff_chat(who)
        await c.send(f"/case {case.reference}")
        assert "赵实名" not in c.last and "13900001111" not in c.last
        assert f"{case.id}.reveal" not in c.button_values()
        got = await press_data(c, f"a:case:{case.id}.reveal")
        assert [r.text for r in got] == [r.text for r in await press_data(c, "a:case:987654.reveal")]
    await lead.send(f"/case {case.reference}")
    await lead.press(N_("Reveal the reporter's contact"))
    await lead.send("需要当面核实举报细节")
    assert lead.last == _("Reporter of case {ref}: {name}; contact: {contact}. This was recorded with your "
                          "reason.").format(ref=case.reference, name="赵实名", contact="13900001111")
    async with deps.sessionmaker() as s:
        e = (await s.scalars(select(AuditEntry).where(AuditEntry.action == "reveal_reporter"))).one()
    assert e.detail == {"reason": "需要当面核实举报细节"}
    member = await staff_chat(member_login)
    await member.send(f"/case {case.reference}")
    assert "需要当面核实举报细节" in member.last and "13900001111" not in member.last  # the history, not the contact


async def test_an_anonymous_reporter_reads_the_stage_then_the_result_at_check(chat, staff_chat, deps: Deps) -> None:
    from tests.reporter.conftest import file_anonymous_tip

    reporter = chat("anon-rep")
    receipt = await file_anonymous_tip(reporter)
    async with deps.sessionmaker() as s:
        case = (await s.scalars(select(Case))).one()
    await team_with_liaison(staff_chat, case)
    _r = await reporter.gettext()
    await reporter.send(f"/check {receipt}")
    assert _r(STATUS_WORDS["assigned"]) in reporter.last and RESULT not in reporter.last
    await reporter.press(N_("Finish"))
    lead = await work_to_conclusion_step(staff_chat, deps, case)
    await lead.send("0")
    await lead.send(RESULT)
    async with deps.sessionmaker() as s:
        assert (await s.scalars(select(Outbox).where(Outbox.kind == "reporter_result"))).all() == []  # never pushed
    await reporter.send(f"/check {receipt}")
    assert _r("Result: {text}").format(text=RESULT) in reporter.last
    assert _r(STATUS_WORDS["concluded"]) in reporter.last
