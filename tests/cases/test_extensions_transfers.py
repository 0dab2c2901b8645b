"""延期 / 中止 and 提级 / 下转, driven from the chat as a lead and a supervisor would."""

from __future__ import annotations

from sqlalchemy import select

from handlers.deps import Deps
from handlers.i18n import N_
from handlers.schedule.ticker import tick
from handlers.workdays import working_days_between
from storage.models import (
    Assignment,
    AssignmentMember,
    Case,
    CaseTransfer,
    ConflictDeclaration,
    Deadline,
    Staff,
)
from tests.cases.conftest import accept_and_confirm_team, bind_group, outbox_to, press_data, tip_case
from tests.fakes import Chat


async def _team(deps: Deps, case_id: int) -> list[tuple[str, str, int]]:
    async with deps.sessionmaker() as s:
        rows = (await s.execute(select(Staff.login, AssignmentMember.role, AssignmentMember.id)
                                .join(AssignmentMember, AssignmentMember.staff_id == Staff.id)
                                .join(Assignment, Assignment.id == AssignmentMember.assignment_id)
                                .where(Assignment.case_id == case_id, Assignment.status == "confirmed")
                                .order_by(AssignmentMember.id))).all()
    return [(login, role, mid) for login, role, mid in rows]


async def acknowledged_case(chat, staff_chat, deps: Deps) -> tuple[Case, Chat]:  # type: ignore[no-untyped-def]
    """A case whose team has all acknowledged, and the team lead's chat."""
    await bind_group(deps, "jg1")
    case = await tip_case(chat, deps)
    await accept_and_confirm_team(staff_chat, case)
    team = await _team(deps, case.id)
    for login, _role, mid in team:
        await press_data(await staff_chat(login), f"a:ack:{mid}")
    lead_login = next(login for login, role, _m in team if role == "lead")
    async with deps.sessionmaker() as s:
        assert (await s.get(Case, case.id)).state == "acknowledged"
    return case, await staff_chat(lead_login)


async def _due(deps: Deps, case_id: int, kind: str = "dispose"):  # type: ignore[no-untyped-def]
    async with deps.sessionmaker() as s:
        return await s.scalar(select(Deadline.due_at).where(Deadline.case_id == case_id, Deadline.kind == kind,
                                                            Deadline.met_at.is_(None), Deadline.cancelled_at.is_(None)))


async def test_extension_moves_the_deadline_only_when_a_supervisor_approves(chat, staff_chat, deps: Deps) -> None:
    case, lead = await acknowledged_case(chat, staff_chat, deps)
    sup, conflicted = await staff_chat("sup1"), await staff_chat("sup2")
    async with deps.sessionmaker() as s, s.begin():
        sup2 = await s.scalar(select(Staff).where(Staff.login == "sup2"))
        s.add(ConflictDeclaration(staff_id=sup2.id, unit_id=case.unit_id, kind="relative", reason="近亲属"))
    before = await _due(deps, case.id)
    await lead.send(f"/case {case.reference}")
    await lead.press(N_("Ask for more time (延期)"))
    await lead.send("0")
    assert await _due(deps, case.id) == before
    await lead.send("10")
    await lead.send("需要调取银行流水")
    assert await _due(deps, case.id) == before  # nothing moves on the request alone
    notices = await outbox_to(deps, "sup1")
    assert notices and case.reference in notices[-1].payload["text"]
    assert "银行流水" not in str(notices[-1].payload)  # notices carry no case content
    assert not [n for n in await outbox_to(deps, "sup2") if case.reference in n.payload["text"]]
    # The conflicted supervisor pressing the notice's button is told the case does not exist.
    approve = next(b["data"] for row in notices[-1].payload["buttons"] for b in row if b["data"].endswith(".req_ok"))
    await press_data(conflicted, approve)
    assert await _due(deps, case.id) == before
    assert case.reference not in conflicted.last
    await press_data(sup, approve)
    assert await _due(deps, case.id) == deps.policy.shift(before, 10)
    assert any(case.reference in n.payload["text"] for n in await outbox_to(deps, lead.external_id[6:]))
    # A second request, refused with a reason: nothing moves, the history keeps both.
    await lead.send(f"/case {case.reference}")
    await lead.press(N_("Ask for more time (延期)"))
    await lead.send("5")
    await lead.send("再延一周")
    await sup.send(f"/case {case.reference}")
    await sup.press(N_("✖ Refuse"))
    await sup.send("理由不充分")
    assert await _due(deps, case.id) == deps.policy.shift(before, 10)
    await lead.send(f"/case {case.reference}")
    await lead.press(N_("History"))
    assert "需要调取银行流水" in lead.last and "再延一周" in lead.last and "理由不充分" in lead.last


async def test_suspended_time_does_not_count(chat, staff_chat, deps: Deps, clock) -> None:
    case, lead = await acknowledged_case(chat, staff_chat, deps)
    sup = await staff_chat("sup1")
    before = await _due(deps, case.id)
    await lead.send(f"/case {case.reference}")
    await lead.press(N_("Suspend (中止)"))
    await lead.send("当事人住院治疗")
    await sup.send(f"/case {case.reference}")
    await sup.press(N_("✔ Approve"))
    suspended_at = clock.now()
    assert await _due(deps, case.id) == before
    clock.advance(days=60)  # long past the due date: no escalation while suspended
    async with deps.begin() as uow:
        result = await tick(uow)
    assert result.escalations == 0 and result.reminders == 0
    await lead.send(f"/case {case.reference}")
    await lead.press(N_("Resume (恢复)"))
    days = working_days_between(suspended_at, clock.now(), deps.policy.tz)
    assert days > 30
    assert await _due(deps, case.id) == deps.policy.shift(before, days)
    async with deps.begin() as uow:
        assert (await tick(uow)).escalations == 0


async def test_a_report_about_the_groups_leadership_goes_to_the_supervisors(chat, staff_chat, deps: Deps) -> None:
    async with deps.sessionmaker() as s:
        head = await s.scalar(select(Staff).where(Staff.login == "o01-lead"))  # heads the traffic police office
        other_lead = await s.scalar(select(Staff).where(Staff.login == "o02-lead"))
    case = await tip_case(chat, deps, people=f"{head.name}（组长）")
    async with deps.sessionmaker() as s:
        c = await s.get(Case, case.id)
        assert c.level == "supervisors" and c.joint_group_id is None
        transfer_due = await _due(deps, case.id, "transfer")
        assert transfer_due == deps.policy.due("transfer", c.created_at)
    # Nobody of that group sees it, whether or not they are named; the answer is the not-found one.
    lead2 = await staff_chat("o02-lead")
    await lead2.send(f"/case {case.reference}")
    refused = lead2.last
    await lead2.send("/case LZ2099-99999")
    assert refused.replace(case.reference, "X") == lead2.last.replace("LZ2099-99999", "X")
    await lead2.send("/my")
    assert case.reference not in lead2.last
    # A supervisor hands it down to another joint group, with the reason; that group's leads are told.
    await bind_group(deps, "jg2")
    sup = await staff_chat("sup1")
    await sup.send(f"/case {case.reference}")
    await sup.press(N_("Hand down (下转)"))
    await sup.press_label("第二联组（经济）")
    await sup.send("回避原联组，指定第二联组办理")
    async with deps.sessionmaker() as s:
        c = await s.get(Case, case.id)
        tr = (await s.scalars(select(CaseTransfer).where(CaseTransfer.case_id == case.id).order_by(CaseTransfer.id))).all()
        assert c.level == "group" and [t.direction for t in tr] == ["up", "down"]
        assert tr[-1].reason == "回避原联组，指定第二联组办理"
    assert "回避原联组，指定第二联组办理" in await _history(sup, case)
    assert [n for n in await outbox_to(deps, "o09-lead") if case.reference in n.payload["text"]]
    assert not [n for n in await outbox_to(deps, other_lead.login) if case.reference in n.payload["text"]]
    g2 = await staff_chat("o09-lead")
    await g2.send(f"/case {case.reference}")
    assert head.name in g2.text()  # the receiving group's lead sees the content
    assert g2.buttons()[0] == (await g2.gettext())("Accept (受理)")


async def _history(c: Chat, case: Case) -> str:
    await c.send(f"/case {case.reference}")
    await c.press(N_("History"))
    return c.last


async def test_a_lead_hands_a_case_up_with_a_reason_and_the_limit_restarts(chat, staff_chat, deps: Deps,
                                                                            clock) -> None:
    await bind_group(deps, "jg1")
    case = await tip_case(chat, deps)
    lead, sup = await staff_chat("o02-lead"), await staff_chat("sup1")
    await lead.send(f"/case {case.reference}")
    await lead.press(N_("Hand up (提级)"))
    await lead.send("涉及多个联组，需上级统筹")
    async with deps.sessionmaker() as s:
        c = await s.get(Case, case.id)
        assert c.level == "supervisors" and c.joint_group_id is None
    assert await _due(deps, case.id, "transfer") == deps.policy.due("transfer", clock.now())
    await lead.send(f"/case {case.reference}")
    assert "No case" in lead.last or "没有" in lead.last
    assert [n for n in await outbox_to(deps, "sup1") if case.reference in n.payload["text"]]
    assert "涉及多个联组，需上级统筹" in await _history(sup, case)
    # The supervisors accept it themselves: that meets the transfer limit.
    await sup.send(f"/case {case.reference}")
    await sup.press(N_("Accept (受理)"))
    assert await _due(deps, case.id, "transfer") is None


async def test_forwarding_to_another_body_is_recorded(chat, staff_chat, deps: Deps) -> None:
    case = await tip_case(chat, deps)
    lead = await staff_chat("o02-lead")
    await lead.send(f"/case {case.reference}")
    await lead.press(N_("Forward (转办)"))
    await lead.send("省市场监督管理局")
    await lead.send("不属于本机关管辖")
    async with deps.sessionmaker() as s:
        c = await s.get(Case, case.id)
        assert c.state == "forwarded" and c.forwarded_to == "省市场监督管理局"
        assert (await s.scalar(select(Deadline.id).where(Deadline.case_id == case.id, Deadline.kind == "accept",
                                                         Deadline.met_at.is_not(None)))) is not None
    assert "不属于本机关管辖" in await _history(lead, case)
