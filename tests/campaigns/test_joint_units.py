"""室组地联动: a joint unit fixed for 东州市 (a commission office, two stationed groups, the city's
commission) in the organisation file; a case about a unit in 东州市 gets its team from every member
body, the lead from the leading one; the group stationed at the unit is left out with the reason.
Driven from the chat (a tip, then accept → propose → confirm) on the console (memory channel),
Telegram and WeCom; with the setting off, the ordinary proposal."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from bot.app import DEMO_ORG
from handlers.cases import binding
from handlers.deps import Deps
from handlers.i18n import N_, gettext_for
from storage.models import Assignment, AssignmentMember, Case, CaseJointUnit, JointUnit, Office, Staff
from storage.orgfile import OrgFileError, dump_org, export_org, import_org, parse_org
from tests.cases.conftest import tip_case
from tests.telegram.conftest import Running
from tests.telegram.test_flows import bind_over_telegram, deliver_outbox
from tests.wecom.conftest import WeCom
from tests.wecom.test_flows import number_of

zh = gettext_for("zh_CN")
ROOM, LOCAL = "省纪委监委第三监督检查室", "东州市纪委监委"


def org_with_joint_unit() -> dict[str, Any]:
    """The demo organisation, which holds the joint unit of 东州市: a commission office and the city's
    commission with their people; the room leads; 驻省司法厅组 (stationed at 省司法厅, a unit in
    东州市) and 驻省公安厅组 are its groups."""
    org: dict[str, Any] = yaml.safe_load(DEMO_ORG.read_text(encoding="utf-8"))
    assert [u["code"] for u in org["joint_units"]] == ["ju-dz"]
    return org


async def load(deps: Deps, org: dict[str, Any] | None = None, *, on: bool = True) -> None:
    async with deps.sessionmaker() as s, s.begin():
        await import_org(s, parse_org(dump_org(org or org_with_joint_unit())))
    deps.config.joint_units = on


async def team(deps: Deps, case: Case) -> dict[str, tuple[str, str]]:
    """login → (role, office code) on the confirmed team."""
    async with deps.sessionmaker() as s:
        rows = (await s.execute(select(Staff.login, AssignmentMember.role, Office.code)
                                .join(AssignmentMember, AssignmentMember.staff_id == Staff.id)
                                .join(Assignment, Assignment.id == AssignmentMember.assignment_id)
                                .join(Office, Office.id == Staff.office_id)
                                .where(Assignment.case_id == case.id, Assignment.status == "confirmed"))).all()
        return {login: (role, code) for login, role, code in rows}


async def given_to(deps: Deps, case: Case) -> str | None:
    async with deps.sessionmaker() as s:
        row = await s.get(CaseJointUnit, case.id)
        return (await s.get(JointUnit, row.joint_unit_id)).code if row else None  # type: ignore[union-attr]


def check_unit_proposal(reply: Any) -> None:
    text = getattr(reply, "text", reply)
    assert zh("Joint unit (室组地联动): {name}").format(name="东州片区室组地联动") in text
    assert zh("{name} ({kind}, leading)").format(name=ROOM, kind=zh("commission office (室)")) in text
    assert zh("{name} ({kind})").format(name=LOCAL, kind=zh("local commission (地)")) in text
    # The group stationed at 省司法厅 is left out, with the reason.
    assert zh("{body}: not drawn from").format(body=zh("{name} ({kind})").format(
        name="驻省司法厅纪检监察组", kind=zh("stationed group (组)"))) in text
    assert zh("their office is stationed at the unit concerned") in text


def check_unit_team(members: dict[str, tuple[str, str]]) -> None:
    assert members["s3-lead"] == ("lead", "s3")  # the lead from the leading body
    offices = {code for _role, code in members.values()}
    assert offices == {"s3", "o06", "dzjw"}, members  # every body that can send someone; never o05


async def test_a_case_in_the_region_goes_to_its_joint_unit_on_the_console(deps: Deps, chat, staff_chat) -> None:  # type: ignore[no-untyped-def]
    await load(deps)
    case = await tip_case(chat, deps, unit="司法厅", people=None)
    lead = await staff_chat("o02-lead")
    await lead.send(f"/case {case.reference}")
    await lead.press(N_("Accept (受理)"))
    texts = await lead.press(N_("Propose a team"))
    check_unit_proposal(texts[-1])
    await lead.press(N_("✔ Confirm"))
    check_unit_team(await team(deps, case))
    assert await given_to(deps, case) == "ju-dz"
    # Members from outside the joint group see the case they were given.
    room = await staff_chat("s3-lead")
    shown = await room.send(f"/case {case.reference}")
    assert case.reference in shown[-1].text and "司法厅" in shown[-1].text


async def test_supervisors_see_the_joint_unit_on_the_card_the_list_and_the_history(deps: Deps, chat, staff_chat) -> None:  # type: ignore[no-untyped-def]
    await load(deps)
    given = await tip_case(chat, deps, unit="司法厅", people=None)
    other = await tip_case(chat, deps, unit="交通警察", people=None)  # 省直: an ordinary team
    lead = await staff_chat("o02-lead")
    for case in (given, other):
        await lead.send(f"/case {case.reference}")
        await lead.press(N_("Accept (受理)"))
        await lead.press(N_("Propose a team"))
        await lead.press(N_("✔ Confirm"))
    unit_line = zh("Joint unit (室组地联动): {name}").format(name="东州片区室组地联动")
    sup = await staff_chat("sup1")
    card = sup.text(await sup.send(f"/case {given.reference}"))
    assert unit_line in card and zh("led by {office}").format(office=ROOM) in card
    assert unit_line not in sup.text(await sup.send(f"/case {other.reference}"))
    await sup.send(f"/case {given.reference}")
    history = sup.text(await sup.press(N_("History")))
    assert zh("Given to the joint unit {name} (室组地联动) with its team").format(name="东州片区室组地联动") in history
    # The list names the unit on the case's line, and filters by it.
    listing = sup.text(await sup.send("/list"))
    line = next(x for x in listing.splitlines() if given.reference in x)
    assert line.endswith(" · 东州片区室组地联动"), line
    assert "东州片区" not in next(x for x in listing.splitlines() if other.reference in x)
    only = sup.text(await sup.send("/list joint:ju-dz"))
    assert given.reference in only and other.reference not in only
    assert other.reference not in sup.text(await sup.send("/list joint:nope"))


async def test_setting_off_gives_the_ordinary_proposal(deps: Deps, chat, staff_chat) -> None:  # type: ignore[no-untyped-def]
    await load(deps, on=False)
    case = await tip_case(chat, deps, unit="司法厅", people=None)
    lead = await staff_chat("o02-lead")
    await lead.send(f"/case {case.reference}")
    await lead.press(N_("Accept (受理)"))
    texts = await lead.press(N_("Propose a team"))
    assert zh("Joint unit (室组地联动): {name}").format(name="东州片区室组地联动") not in texts[-1].text
    await lead.press(N_("✔ Confirm"))
    members = await team(deps, case)
    assert all(code not in ("s3", "dzjw", "o05") for _r, code in members.values()), members
    assert await given_to(deps, case) is None


async def test_a_region_without_a_unit_gets_the_ordinary_proposal(deps: Deps, chat, staff_chat) -> None:  # type: ignore[no-untyped-def]
    await load(deps)
    case = await tip_case(chat, deps, unit="交通警察", people=None)  # 省直, no joint unit
    lead = await staff_chat("o02-lead")
    await lead.send(f"/case {case.reference}")
    await lead.press(N_("Accept (受理)"))
    texts = await lead.press(N_("Propose a team"))
    assert zh("Joint unit (室组地联动): {name}").format(name="东州片区室组地联动") not in texts[-1].text


async def test_when_every_body_but_one_has_a_conflict_the_lead_comes_from_the_next(deps: Deps, chat, staff_chat) -> None:  # type: ignore[no-untyped-def]
    """The leading room's people have declared a relationship with the unit: the room is left out
    with that reason, and the lead comes from the next body that has one."""
    org = org_with_joint_unit()
    for s in org["staff"]:
        if s["login"] in ("s3-lead", "s3-f1"):
            s["conflicts"] = [{"unit": "u05", "kind": "relative", "reason": "近亲属在该单位任职"}]
    await load(deps, org)
    case = await tip_case(chat, deps, unit="司法厅", people=None)
    lead = await staff_chat("o02-lead")
    await lead.send(f"/case {case.reference}")
    await lead.press(N_("Accept (受理)"))
    texts = await lead.press(N_("Propose a team"))
    assert zh("{body}: not drawn from").format(body=zh("{name} ({kind}, leading)").format(
        name=ROOM, kind=zh("commission office (室)"))) in texts[-1].text
    await lead.press(N_("✔ Confirm"))
    members = await team(deps, case)
    assert not {"s3-lead", "s3-f1"} & set(members)
    lead_office = next(code for role, code in members.values() if role == "lead")
    assert lead_office == "o06" and {code for _r, code in members.values()} == {"o06", "dzjw"}


async def test_the_joint_unit_is_confirmed_from_telegram(tg: Running, deps: Deps, chat) -> None:  # type: ignore[no-untyped-def]
    await load(deps)
    case = await tip_case(chat, deps, unit="司法厅", people=None)
    lead, room = tg.phone(7710000001), tg.phone(7710000002)
    await bind_over_telegram(lead, deps, "o02-lead")
    await bind_over_telegram(room, deps, "s3-lead")
    await lead.send(f"/case {case.reference}")
    await lead.press(N_("Accept (受理)"))
    texts = await lead.press(N_("Propose a team"))
    check_unit_proposal(texts[-1])
    await lead.press(N_("✔ Confirm"))
    check_unit_team(await team(deps, case))
    assert await deliver_outbox(tg, deps) >= 1
    notice = next(t for t in room.texts if case.reference in t)
    assert zh("Your role: {role}").format(role=zh("team lead")) in notice


async def test_the_joint_unit_is_confirmed_from_wecom(wecom: WeCom, deps: Deps, chat) -> None:  # type: ignore[no-untyped-def]
    await load(deps)
    case = await tip_case(chat, deps, unit="司法厅", people=None)
    async with deps.sessionmaker() as s, s.begin():
        codes = {login: await binding.invite(s, login, now=deps.clock.now(), ttl=timedelta(hours=1),
                                             salt=deps.config.salt) for login in ("o02-lead", "dz-f1")}
    for login, code in codes.items():
        await wecom.say(f"wc-{login}", f"/bind {code}")
    u = "wc-o02-lead"
    t = await wecom.say(u, f"/case {case.reference}")
    t = await wecom.say(u, number_of(t[-1], await wecom.label(u, N_("Accept (受理)"))))
    t = await wecom.say(u, number_of(t[-1], await wecom.label(u, N_("Propose a team"))))
    check_unit_proposal("\n".join(t))
    t = await wecom.say(u, number_of(t[-1], await wecom.label(u, N_("✔ Confirm"))))
    members = await team(deps, case)
    check_unit_team(members)
    assert await wecom.deliver() >= 1
    if "dz-f1" in members:
        assert any(case.reference in x for x in wecom.api.texts_to("wc-dz-f1"))


def test_the_org_file_checks_joint_units() -> None:
    org = org_with_joint_unit()
    org["joint_units"][0]["groups"] = ["o05", "nope"]
    org["joint_units"][0]["lead"] = "o99"
    org["joint_units"].append({"code": "ju-2", "name": "另一个", "regions": ["dongzhou"], "groups": ["o07"],
                               "lead": "o07"})
    with pytest.raises(OrgFileError) as e:
        parse_org(dump_org(org))
    msg = str(e.value)
    assert "joint_units.0.groups.1: unknown office 'nope'" in msg
    assert "joint_units.0.lead: must be one of" in msg
    assert "joint_units.1.regions.0: region 'dongzhou' already has joint unit 'ju-dz'" in msg


async def test_export_gives_back_the_joint_unit_and_importing_again_changes_nothing(deps: Deps) -> None:
    await load(deps)
    async with deps.sessionmaker() as s:
        exported = await export_org(s)
    assert exported["joint_units"] == org_with_joint_unit()["joint_units"]
    async with deps.sessionmaker() as s, s.begin():
        stats = await import_org(s, parse_org(dump_org(exported)))
    assert stats == {"added": 0, "changed": 0}
