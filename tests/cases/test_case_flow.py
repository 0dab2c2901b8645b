"""A tip becomes a case and goes through its life with the people a real body would have."""

from __future__ import annotations

from sqlalchemy import func, select

from handlers.deps import Deps
from handlers.i18n import N_, gettext_for
from storage.models import (
    Assignment,
    AssignmentMember,
    AuditEntry,
    Case,
    CaseTransition,
    Staff,
    TipQuestion,
    office_units,
)
from tests.cases.conftest import accept_and_confirm_team, bind_group, outbox_to, press_data, tip_case
from tests.reporter.conftest import file_anonymous_tip, to_files_step


async def test_routing_proposal_and_acknowledgement_end_to_end(chat, staff_chat, deps: Deps) -> None:
    await bind_group(deps, "jg1")
    case = await tip_case(chat, deps)
    assert case.joint_group_id is not None  # routed to the group holding the traffic police office
    local = await staff_chat("o01-lead")   # stationed at the traffic police: must see nothing
    assert "No case" in (await local.send(f"/case {case.reference}"))[0].text or "没有" in local.last
    lead = await staff_chat("o02-lead")
    await lead.send("/my")
    assert case.reference in lead.last
    await lead.press_label(case.reference)
    assert "收受好处费" in lead.text() and "匿名" in lead.text()
    await lead.press(N_("Accept (受理)"))
    await lead.press(N_("Propose a team"))
    proposal = lead.last
    assert "o01-lead" in proposal and "o01-f1" in proposal  # exclusions are listed with their reason
    await lead.press(N_("✔ Confirm"))
    async with deps.sessionmaker() as s:
        a = (await s.scalars(select(Assignment).where(Assignment.status == "confirmed"))).one()
        members = (await s.scalars(select(AssignmentMember).where(AssignmentMember.assignment_id == a.id))).all()
        offices = set()
        local_office = await s.scalar(select(office_units.c.office_id).where(office_units.c.unit_id == case.unit_id))
        for m in members:
            st = await s.get(Staff, m.staff_id)
            offices.add(st.office_id)
            assert st.office_id != local_office
        assert len(offices) >= 2  # mixed across offices
        member_logins = [(await s.get(Staff, m.staff_id)).login for m in members if m.role == "member"]
        assert (await s.get(Case, case.id)).state == "assigned"
    # Each member got a notice with reference, unit, role, deadline and the 签收 button.
    m_login = member_logins[0]
    notices = await outbox_to(deps, m_login)
    assert notices, "no notice queued (the member has no bound chat?)"
    text = notices[-1].payload["text"]
    assert case.reference in text and "交通警察总队" in text and "签收" in str(notices[-1].payload["buttons"])
    assert "收受好处费" not in str(notices[-1].payload)  # never tip content
    member = await staff_chat(m_login)
    ack_data = notices[-1].payload["buttons"][0][0]["data"]
    assert "已签收" in (await press_data(member, ack_data))[0].text or "Acknowledged" in member.last
    assert "already" in (await press_data(member, ack_data))[0].text or "已经签收" in member.last
    outsider = await staff_chat("o20-f1")
    assert "不是发给您" in (await press_data(outsider, ack_data))[0].text or "not addressed" in outsider.last
    lead_notices = await outbox_to(deps, "o02-lead")
    async with deps.sessionmaker() as s:
        m_name = await s.scalar(select(Staff.name).where(Staff.login == m_login))
    _ = gettext_for(deps.config.default_language)  # the lead has no language of their own
    assert [n.payload["text"] for n in lead_notices if n.kind == "acknowledged"] == [
        _("{name} acknowledged case {ref}.").format(name=m_name, ref=case.reference)]  # once, not on the repeat


async def test_notices_reach_members_who_bound_later(chat, staff_chat, deps: Deps, clock) -> None:
    """A member with no bound chat when the team is confirmed gets the assignment notice, with its
    签收 button, as soon as they link a chat; once acknowledged, a chat linked later gets nothing."""
    from datetime import timedelta

    from handlers.cases import binding
    from storage.models import ChatIdentity

    case = await tip_case(chat, deps)
    await accept_and_confirm_team(staff_chat, case)
    async with deps.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(CaseTransition).where(CaseTransition.case_id == case.id)) == 3
        a = (await s.scalars(select(Assignment).where(Assignment.status == "confirmed"))).one()
        member = (await s.scalars(select(AssignmentMember).where(AssignmentMember.assignment_id == a.id,
                                                                  AssignmentMember.role == "member")
                                  .order_by(AssignmentMember.id))).first()
        login = (await s.get(Staff, member.staff_id)).login
    assert await outbox_to(deps, login) == []  # no chat to send it to yet

    async def bind(external_id: str):  # type: ignore[no-untyped-def]
        async with deps.sessionmaker() as s, s.begin():
            code = await binding.invite(s, login, now=deps.clock.now(), ttl=timedelta(hours=1), salt=deps.config.salt)
        phone = chat(external_id)
        await phone.send(f"/bind {code}")
        async with deps.sessionmaker() as s:
            ident = await s.scalar(select(ChatIdentity).where(ChatIdentity.external_id == external_id))
        assert ident is not None and ident.staff_id == member.staff_id
        return phone, ident

    clock.advance(days=1)  # the next morning, the 签收 deadline still open
    phone, ident = await bind(f"later-{login}")
    notices = await outbox_to(deps, login)
    assert [(n.kind, n.identity_id) for n in notices] == [("assignment", ident.id)]
    text = notices[0].payload["text"]
    assert case.reference in text and "交通警察总队" in text and "组员" in text  # reference, unit, role
    assert "签收期限：2026-03-03 23:59" in text  # the deadline set at confirmation, not one from today
    assert "收受好处费" not in str(notices[0].payload)  # never tip content
    assert notices[0].payload["buttons"][0][0]["data"] == f"a:ack:{member.id}"
    _tablet, second = await bind(f"tablet-{login}")  # a second chat: it gets the notice, the first not again
    assert [(n.kind, n.identity_id) for n in await outbox_to(deps, login)] == [("assignment", ident.id),
                                                                              ("assignment", second.id)]
    await press_data(phone, f"a:ack:{member.id}")
    async with deps.sessionmaker() as s:
        assert (await s.get(AssignmentMember, member.id)).acknowledged_at is not None
    await bind(f"laptop-{login}")  # acknowledged: a chat linked now gets no assignment notice
    assert [n.kind for n in await outbox_to(deps, login)] == ["assignment", "assignment"]


async def test_illegal_transition_says_what_is_allowed(chat, staff_chat, deps: Deps) -> None:
    case = await tip_case(chat, deps)
    sup = await staff_chat("sup1")
    await sup.send(f"/case {case.reference}")
    await press_data(sup, f"a:case:{case.id}.disp_shelved")
    assert "无法进行这一步" in sup.last and "待受理" in sup.last and "已受理" in sup.last and "已转办" in sup.last


async def test_conflicted_person_cannot_be_added_and_the_reason_is_named(chat, staff_chat, deps: Deps) -> None:
    case = await tip_case(chat, deps)
    lead = await staff_chat("o02-lead")
    await lead.send(f"/case {case.reference}")
    await lead.press(N_("Accept (受理)"))
    await lead.press(N_("Propose a team"))
    await lead.press(N_("Change the team"))
    await lead.send("+o01-f2")
    assert "o01" not in lead.last.split("\n")[0]
    text = lead.text(lead.history[-2:])
    assert "stationed" in text or "派驻" in text
    await lead.send("liaison o01-f2")  # local staff may join as liaison
    await lead.press(N_("Confirm this team"))
    await lead.send("需要本地联络员")
    async with deps.sessionmaker() as s:
        a = (await s.scalars(select(Assignment).where(Assignment.status == "confirmed"))).one()
        assert a.change_reason == "需要本地联络员"
        roles = {(await s.get(Staff, m.staff_id)).login: m.role for m in
                 (await s.scalars(select(AssignmentMember).where(AssignmentMember.assignment_id == a.id))).all()}
    assert roles["o01-f2"] == "liaison"
    liaison = await staff_chat("o01-f2")
    view = (await liaison.send(f"/case {case.reference}"))[0].text
    assert "状态：" in view and "涉及单位：" in view and "最近期限：" in view  # the liaison's narrow view…
    assert "收受好处费" not in view and "张某" not in view and "办理组：" not in view  # …without content


async def test_declared_relationship_with_a_named_person_excludes(chat, staff_chat, deps: Deps) -> None:
    # Demo staff #11 (o03-f2) declared a relationship with 王某某.
    async with deps.sessionmaker() as s:
        declarer = (await s.scalars(select(Staff).order_by(Staff.id).offset(10).limit(1))).one()
    case = await tip_case(chat, deps, people="王某某，处长")
    lead = await staff_chat("o02-lead")
    await lead.send(f"/case {case.reference}")
    await lead.press(N_("Accept (受理)"))
    await lead.press(N_("Propose a team"))
    assert declarer.login in lead.last


async def test_unknown_unit_goes_to_intake_for_supervisors(chat, staff_chat, deps: Deps) -> None:
    c = chat()
    await to_files_step(c, "某个单位的问题")
    await c.press(N_("Skip"))
    await c.press(N_("Anonymous"))
    await c.press(N_("✔ Submit"))
    sup = await staff_chat("sup1")
    await sup.send("/intake")
    ref = sup.buttons()[0]
    await sup.press_label(ref)
    await sup.send("财政")
    await sup.press_label("省财政厅")
    assert "省财政厅" in sup.last
    async with deps.sessionmaker() as s:
        case = (await s.scalars(select(Case))).one()
        assert case.joint_group_id is not None
    field = await staff_chat("o07-f1")
    assert "/intake" not in (await field.send("/help"))[0].text
    assert "/frobnicate" not in (await field.send("/intake"))[0].text  # hidden: answered like unknown


async def test_question_to_the_reporter_and_the_answer_notifies_the_team(chat, staff_chat, deps: Deps) -> None:
    await bind_group(deps, "jg1")
    reporter = chat("rep")
    receipt = await file_anonymous_tip(reporter)
    async with deps.sessionmaker() as s:
        case = (await s.scalars(select(Case))).one()
    lead = await accept_and_confirm_team(staff_chat, case)
    await lead.send(f"/case {case.reference}")
    await press_data(lead, f"a:case:{case.id}.ask")
    await lead.send("具体金额是多少？")
    async with deps.sessionmaker() as s:
        assert (await s.scalars(select(TipQuestion))).one().case_id == case.id
    await reporter.send(f"/check {receipt}")
    assert "具体金额是多少？" in reporter.last
    await reporter.press(N_("Answer question {n}"), n=1)
    await reporter.send("五万元。")
    notices = await outbox_to(deps, "o02-lead")
    assert any(case.reference in n.payload["text"] and "五万元" not in n.payload["text"] for n in notices[-2:])
    await lead.send(f"/case {case.reference}")
    assert "五万元。" in lead.last


async def test_every_read_and_change_is_audited_and_the_chain_verifies(chat, staff_chat, deps: Deps) -> None:
    from storage.audit import verify

    case = await tip_case(chat, deps)
    lead = await staff_chat("o02-lead")
    await lead.send(f"/case {case.reference}")
    await lead.press(N_("Accept (受理)"))
    async with deps.sessionmaker() as s:
        actions = [e.action for e in (await s.scalars(select(AuditEntry).order_by(AuditEntry.id))).all()]
        assert "view" in actions and "transition:accepted" in actions
        assert (await verify(s, key=deps.config.audit_mac_key)).ok
