"""Every notice about a case passes the one access policy: a person who has (or later declares) a
conflict on the case is never told its reference, whatever the notice is — a reporter's answer or
added material, a member's 签收, a step aside, a hand up or down, an extension request or its
decision, a re-sent assignment, a campaign notice."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from handlers.cases import binding
from handlers.deps import Deps
from handlers.i18n import N_
from storage.models import Case, ConflictDeclaration, Outbox, Region, Staff, Subgroup, SubgroupMember, Unit
from tests.cases.conftest import accept_and_confirm_team, bind_group, outbox_to, press_data, tip_case
from tests.cases.test_extensions_transfers import _team, acknowledged_case
from tests.reporter.conftest import file_anonymous_tip


async def declare(deps: Deps, login: str, *, unit_id: int | None = None, person: str | None = None) -> None:
    async with deps.sessionmaker() as s, s.begin():
        staff = await s.scalar(select(Staff).where(Staff.login == login))
        s.add(ConflictDeclaration(staff_id=staff.id, unit_id=unit_id, person_name=person, kind="relative",
                                  reason="近亲属"))


async def told(deps: Deps, login: str, kind: str, ref: str) -> list[Outbox]:
    return [n for n in await outbox_to(deps, login) if n.kind == kind and ref in str(n.payload)]


async def test_a_member_who_declares_a_person_conflict_hears_no_answer_and_no_material(chat, staff_chat,
                                                                                        deps: Deps) -> None:
    await bind_group(deps, "jg1")
    reporter = chat("rep")
    receipt = await file_anonymous_tip(reporter)  # names 张某
    async with deps.sessionmaker() as s:
        case = (await s.scalars(select(Case))).one()
    lead = await accept_and_confirm_team(staff_chat, case)
    team = await _team(deps, case.id)
    conflicted, clear = [login for login, role, _m in team if role == "member"][:2]
    await declare(deps, conflicted, person="张某")  # checked against the tip's people text
    await lead.send(f"/case {case.reference}")
    await press_data(lead, f"a:case:{case.id}.ask")
    await lead.send("具体金额是多少？")
    await reporter.send(f"/check {receipt}")
    await reporter.press(N_("Answer question {n}"), n=1)
    await reporter.send("五万元。")
    await reporter.send(f"/check {receipt}")
    await reporter.press(N_("Add information"))
    await reporter.send("还有一本账。")
    for kind in ("reporter_answer", "reporter_material"):
        assert await told(deps, clear, kind, case.reference), kind
        assert await told(deps, conflicted, kind, case.reference) == [], kind


async def test_a_lead_who_declares_a_conflict_hears_of_no_acknowledgement(chat, staff_chat, deps: Deps) -> None:
    await bind_group(deps, "jg1")
    case = await tip_case(chat, deps)
    await accept_and_confirm_team(staff_chat, case)
    team = await _team(deps, case.id)
    lead_login = next(login for login, role, _m in team if role == "lead")
    await declare(deps, lead_login, person="张某")
    for login, role, mid in team:
        if role == "member":
            await press_data(await staff_chat(login), f"a:ack:{mid}")
    assert await told(deps, lead_login, "acknowledged", case.reference) == []


async def test_a_lead_who_declares_a_conflict_is_not_asked_to_replace_a_leaver(chat, staff_chat, deps: Deps) -> None:
    await bind_group(deps, "jg1")
    case = await tip_case(chat, deps)
    await accept_and_confirm_team(staff_chat, case)
    team = await _team(deps, case.id)
    lead_login = next(login for login, role, _m in team if role == "lead")
    await declare(deps, lead_login, unit_id=case.unit_id)
    leaver = await staff_chat(next(login for login, role, _m in team if role == "member"))
    await leaver.send(f"/case {case.reference}")
    await leaver.press(N_("I need to step aside (我需要回避)"))
    await leaver.send("与被反映人系同学关系")
    assert await told(deps, lead_login, "recused", case.reference) == []


async def test_a_conflicted_lead_of_the_receiving_group_is_not_told_of_a_hand_down(chat, staff_chat, deps: Deps) -> None:
    await bind_group(deps, "jg1")
    await bind_group(deps, "jg2")
    case = await tip_case(chat, deps)
    sup = await staff_chat("sup1")
    await staff_chat("sup2")
    await declare(deps, "sup2", person="张某")
    await declare(deps, "o09-lead", unit_id=case.unit_id)
    lead = await staff_chat("o02-lead")
    await lead.send(f"/case {case.reference}")
    await lead.press(N_("Hand up (提级)"))
    await lead.send("涉及多个联组，需上级统筹")
    assert await told(deps, "sup1", "transfer", case.reference)
    assert await told(deps, "sup2", "transfer", case.reference) == []
    await sup.send(f"/case {case.reference}")
    await sup.press(N_("Hand down (下转)"))
    await sup.press_label("第二联组（经济）")
    await sup.send("指定第二联组办理")
    assert await told(deps, "o10-lead", "transfer", case.reference)
    assert await told(deps, "o09-lead", "transfer", case.reference) == []


async def test_a_requester_who_declares_a_conflict_hears_no_decision(chat, staff_chat, deps: Deps) -> None:
    case, lead = await acknowledged_case(chat, staff_chat, deps)
    lead_login = lead.external_id.removeprefix("staff-")
    sup = await staff_chat("sup1")
    await staff_chat("sup2")
    await declare(deps, "sup2", person="张某")
    await lead.send(f"/case {case.reference}")
    await lead.press(N_("Ask for more time (延期)"))
    await lead.send("10")
    await lead.send("需要调取银行流水")
    assert await told(deps, "sup1", "case_request", case.reference)
    assert await told(deps, "sup2", "case_request", case.reference) == []
    await declare(deps, lead_login, person="张某")
    await sup.send(f"/case {case.reference}")
    await sup.press(N_("✔ Approve"))
    assert await told(deps, lead_login, "case_request_decided", case.reference) == []


async def test_a_new_chat_of_a_conflicted_member_gets_no_pending_assignment(chat, staff_chat, deps: Deps) -> None:
    case = await tip_case(chat, deps)
    await accept_and_confirm_team(staff_chat, case)
    team = await _team(deps, case.id)
    member = next(login for login, role, _m in team if role == "member")
    await declare(deps, member, person="张某")
    async with deps.sessionmaker() as s, s.begin():
        code = await binding.invite(s, member, now=deps.clock.now(), ttl=timedelta(hours=72), salt=deps.config.salt)
    phone = chat("new-phone")
    await phone.send(f"/bind {code}")
    assert "已绑定到" in phone.last or "linked" in phone.last
    assert await told(deps, member, "assignment", case.reference) == []


async def test_campaign_notices_skip_a_person_with_a_conflict_on_the_subgroups_targets(deps: Deps, staff_chat) -> None:
    from tests.campaigns.conftest import create_by_chat

    sup = await staff_chat("sup1")
    c = await create_by_chat(sup, deps)
    async with deps.sessionmaker() as s, s.begin():
        sg = await s.scalar(select(Subgroup).where(Subgroup.campaign_id == c.id, Subgroup.number == 1))
        members = (await s.scalars(select(SubgroupMember).where(SubgroupMember.subgroup_id == sg.id))).all()
        lead_m = next(m for m in members if m.role == "lead")
        plain = [m for m in members if m.role == "member"]
        moved_m, other_m = plain[0], plain[1]
        from storage.models import CampaignTarget

        target_region = await s.scalar(select(CampaignTarget.region_id).where(CampaignTarget.subgroup_id == sg.id))
        assert await s.get(Region, target_region) is not None
        logins = {m.id: (await s.get(Staff, m.staff_id)).login for m in (lead_m, moved_m, other_m)}
    for m in (lead_m, moved_m, other_m):
        await staff_chat(logins[m.id])
    # After placement, one member moves house into a target's region: their conflict is new.
    async with deps.sessionmaker() as s, s.begin():
        (await s.get(Staff, moved_m.staff_id)).home_region_id = target_region
    await sup.press_value(f"{c.id}.confirm")
    assert await told(deps, logins[other_m.id], "campaign", c.reference)
    assert await told(deps, logins[moved_m.id], "campaign", c.reference) == []
    # The subgroup lead now has one too: no "acknowledged" and no request to rate the host.
    async with deps.sessionmaker() as s, s.begin():
        (await s.get(Staff, lead_m.staff_id)).home_region_id = target_region
    other = await staff_chat(logins[other_m.id])
    await other.send(None, button=f"a:cack:{other_m.id}")
    await sup.send(f"/campaign {c.reference}")
    await sup.press_value(f"{c.id}.end")
    assert await told(deps, logins[lead_m.id], "acknowledged", c.reference) == []
    assert [n for n in await told(deps, logins[lead_m.id], "campaign", c.reference)
            if (n.dedupe_key or "").startswith("cend:")] == []


async def test_a_conflict_on_another_unit_silences_nothing(chat, staff_chat, deps: Deps) -> None:
    """The gate is the conflict rule, not a blanket: an unrelated declaration changes no notice."""
    await bind_group(deps, "jg1")
    case = await tip_case(chat, deps)
    await accept_and_confirm_team(staff_chat, case)
    team = await _team(deps, case.id)
    lead_login = next(login for login, role, _m in team if role == "lead")
    async with deps.sessionmaker() as s:
        other_unit = await s.scalar(select(Unit.id).where(Unit.id != case.unit_id).order_by(Unit.id))
    await declare(deps, lead_login, unit_id=other_unit)  # unrelated: the lead still hears
    member = next((login, mid) for login, role, mid in team if role == "member")
    await press_data(await staff_chat(member[0]), f"a:ack:{member[1]}")
    assert await told(deps, lead_login, "acknowledged", case.reference)
