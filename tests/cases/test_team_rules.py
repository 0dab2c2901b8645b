"""Team editing rules and 回避 from inside a case."""

from __future__ import annotations

from sqlalchemy import select

from handlers.deps import Deps
from handlers.i18n import N_
from storage.models import Assignment, AssignmentMember, Case, Deadline, Staff
from tests.cases.conftest import accept_and_confirm_team, bind_group, outbox_to, press_data, tip_case
from tests.cases.test_extensions_transfers import _team


async def test_supervisors_and_other_groups_need_more_than_a_login(chat, staff_chat, deps: Deps) -> None:
    case = await tip_case(chat, deps)
    lead = await staff_chat("o02-lead")
    await lead.send(f"/case {case.reference}")
    await lead.press(N_("Accept (受理)"))
    await lead.press(N_("Propose a team"))
    await lead.press(N_("Change the team"))
    _ = await lead.gettext()
    await lead.send("+sup1")
    assert _("supervisors are never team members") in lead.text()
    await lead.send("+o20-f1")  # another joint group, no reason
    assert _("from another joint group: give a reason for the loan") in lead.text()
    await lead.send("+o20-f1 熟悉财务审计，借调协助")
    await lead.press(N_("Confirm this team"))
    await lead.send("需要财务审计专长")
    async with deps.sessionmaker() as s:
        rows = (await s.execute(select(Staff.login, AssignmentMember.loan_reason)
                                .join(AssignmentMember, AssignmentMember.staff_id == Staff.id)
                                .join(Assignment, Assignment.id == AssignmentMember.assignment_id)
                                .where(Assignment.case_id == case.id, Assignment.status == "confirmed"))).all()
    loans = dict(rows)
    assert loans["o20-f1"] == "熟悉财务审计，借调协助"
    assert "sup1" not in loans
    assert all(v == "" for k, v in loans.items() if k != "o20-f1")


async def test_a_member_steps_aside_and_the_lead_is_asked_for_a_replacement(chat, staff_chat, deps: Deps) -> None:
    await bind_group(deps, "jg1")
    case = await tip_case(chat, deps)
    await accept_and_confirm_team(staff_chat, case)
    team = await _team(deps, case.id)
    lead_login = next(login for login, role, _m in team if role == "lead")
    leaver_login, _r, leaver_mid = next(t for t in team if t[1] == "member")
    leaver = await staff_chat(leaver_login)
    await leaver.send(f"/case {case.reference}")
    await leaver.press(N_("I need to step aside (我需要回避)"))
    await leaver.send("与被反映人系同学关系")
    async with deps.sessionmaker() as s:
        m = await s.get(AssignmentMember, leaver_mid)
        assert m.left_at is not None
        assert await s.scalar(select(Deadline.id).where(Deadline.member_id == leaver_mid, Deadline.met_at.is_(None),
                                                        Deadline.cancelled_at.is_(None))) is None
    # From now on they see nothing of the case, exactly as if it did not exist.
    await leaver.send(f"/case {case.reference}")
    seen = leaver.last
    await leaver.send("/case LZ2099-99999")
    assert seen.replace(case.reference, "X") == leaver.last.replace("LZ2099-99999", "X")
    await leaver.send("/my")
    assert case.reference not in leaver.last
    # The lead is told who left (not why) and gets the team editor without the leaver.
    notice = [n for n in await outbox_to(deps, lead_login) if n.kind == "recused"][-1]
    assert case.reference in notice.payload["text"] and "同学" not in str(notice.payload)
    lead = await staff_chat(lead_login)
    await press_data(lead, notice.payload["buttons"][0][0]["data"])
    assert leaver_login not in lead.last
    # The others acknowledge: the case moves on without the leaver.
    for login, _role, mid in team:
        if mid != leaver_mid:
            await press_data(await staff_chat(login), f"a:ack:{mid}")
    async with deps.sessionmaker() as s:
        assert (await s.get(Case, case.id)).state == "acknowledged"
    await lead.send(f"/case {case.reference}")
    await lead.press(N_("History"))
    assert "与被反映人系同学关系" not in lead.last  # the reason stays with the declaration, not the history
    assert (await _name(deps, leaver_login)) in lead.last


async def _name(deps: Deps, login: str) -> str:
    async with deps.sessionmaker() as s:
        return (await s.scalar(select(Staff.name).where(Staff.login == login))) or ""
