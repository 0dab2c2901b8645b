"""English readers read English unit, office and joint-group names (``name_en``) wherever a
campaign, a joint unit's proposal or a transfer names them: one test per path, each through the
chat or the notices it leaves, with every staff member's language set to English."""

from __future__ import annotations

from sqlalchemy import select, update

from handlers.campaigns.reminders import task_target
from handlers.deps import Deps
from handlers.i18n import N_, gettext_for
from storage.models import Campaign, CampaignTask, Deadline, JointGroup, Outbox, Staff, Subgroup, SubgroupMember
from tests.campaigns.test_joint_units import load
from tests.cases.conftest import tip_case
from tests.fakes import Chat

en = gettext_for("en")
JUSTICE, STATISTICS = "Provincial Department of Justice", "Provincial Bureau of Statistics"
JG1 = "Joint Group 1 (Politics and Law)"


async def english(deps: Deps) -> None:
    async with deps.sessionmaker() as s, s.begin():
        await s.execute(update(Staff).values(language="en"))


async def campaign_on_units(sup: Chat, deps: Deps) -> Campaign:
    """/campaign_new in English with two unit targets (省司法厅 u05, 省统计局 u11)."""
    async with deps.sessionmaker() as s:
        jg1 = await s.scalar(select(JointGroup.id).where(JointGroup.code == "jg1"))
    await sup.send("/campaign_new")
    await sup.send("2026 special inspection")
    await sup.press_value("special_inspection")
    assert JG1 in sup.buttons() and "第一联组（政法）" not in sup.buttons()
    await sup.press_value(f"g:{jg1}")
    await sup.send("u05, u11")
    await sup.send("2026-12-01 2026-12-14")
    await sup.send("2")
    await sup.press_value("20")
    async with deps.sessionmaker() as s:
        c = await s.scalar(select(Campaign).order_by(Campaign.id.desc()).limit(1))
        assert c is not None
        return c


async def test_a_campaign_reads_in_english_from_proposal_to_report(deps: Deps, staff_chat) -> None:  # type: ignore[no-untyped-def]
    await english(deps)
    sup = await staff_chat("sup1")
    c = await campaign_on_units(sup, deps)
    proposal = sup.text()
    assert en("Subgroup {n}: {targets}").format(n=1, targets=JUSTICE) in proposal, proposal
    assert en("Subgroup {n}: {targets}").format(n=2, targets=STATISTICS) in proposal
    assert "省司法厅" not in proposal and "省统计局" not in proposal
    # The notices members (with a linked chat) get on confirmation name the targets in English.
    async with deps.sessionmaker() as s:
        logins = (await s.scalars(select(Staff.login).join(SubgroupMember, SubgroupMember.staff_id == Staff.id)
                                  .join(Subgroup, Subgroup.id == SubgroupMember.subgroup_id)
                                  .where(Subgroup.campaign_id == c.id))).all()
    for login in logins:
        await staff_chat(login)
    await sup.press_value(f"{c.id}.edit")
    await sup.press_value("confirm")
    async with deps.sessionmaker() as s:
        notices = [o.payload["text"] for o in (await s.scalars(select(Outbox).where(Outbox.kind == "campaign"))).all()]
    assert notices and all(JUSTICE in t or STATISTICS in t for t in notices), notices
    assert not any("省司法厅" in t or "省统计局" in t for t in notices)
    # The campaign view: the organising group and the targets.
    view = (await sup.send(f"/campaign {c.reference}"))[-1].text
    assert JG1 in view and JUSTICE in view and STATISTICS in view and "省" not in view, view
    # The report.
    await sup.press(N_("Campaign report"))
    assert JUSTICE in sup.last and "省司法厅" not in sup.last
    # A member's progress buttons.
    member = await staff_chat(logins[0])
    await member.send(f"/campaign {c.reference}")
    await member.press(N_("Report progress"))
    assert any(JUSTICE in b or STATISTICS in b for b in member.buttons()), member.buttons()
    assert not any("省" in b for b in member.buttons())


async def test_a_campaign_task_reminder_names_the_target_in_english(deps: Deps, staff_chat) -> None:  # type: ignore[no-untyped-def]
    await english(deps)
    sup = await staff_chat("sup1")
    c = await campaign_on_units(sup, deps)
    await sup.press_value(f"{c.id}.edit")
    await sup.press_value("confirm")
    async with deps.begin() as uow:
        d = await uow.session.scalar(select(Deadline).join(CampaignTask, CampaignTask.deadline_id == Deadline.id)
                                     .order_by(Deadline.id).limit(1))
        assert d is not None
        target = await task_target(uow.session, d)
        assert target is not None
        for overdue in (False, True):
            text = target.words(en, "", "2026-12-14 18:00", overdue).text
            assert JUSTICE in text or STATISTICS in text, text
            assert "省司法厅" not in text and "省统计局" not in text
            zh_text = target.words(gettext_for("zh_CN"), "", "2026-12-14 18:00", overdue).text
            assert "省司法厅" in zh_text or "省统计局" in zh_text  # Chinese readers keep the Chinese names


async def test_the_joint_units_bodies_and_the_team_read_in_english(deps: Deps, chat, staff_chat) -> None:  # type: ignore[no-untyped-def]
    await load(deps)
    await english(deps)
    case = await tip_case(chat, deps, unit="司法厅", people=None)
    lead = await staff_chat("o02-lead")
    await lead.send(f"/case {case.reference}")
    await lead.press(N_("Accept (受理)"))
    proposal = (await lead.press(N_("Propose a team")))[-1].text
    room = "Third Supervision and Inspection Office of the Provincial Commission"
    assert en("{name} ({kind}, leading)").format(name=room, kind=en("commission office (室)")) in proposal, proposal
    assert "Dongzhou Municipal Commission for Discipline Inspection and Supervision" in proposal
    assert "纪检监察组" not in proposal and "纪委监委" not in proposal  # office names, body or team line


async def test_hand_down_offers_the_joint_groups_in_english(deps: Deps, chat, staff_chat) -> None:  # type: ignore[no-untyped-def]
    await english(deps)
    case = await tip_case(chat, deps, people=None)
    lead = await staff_chat("o02-lead")  # o01 is stationed at the traffic police: it sees nothing
    await lead.send(f"/case {case.reference}")
    await lead.press(N_("Hand up (提级)"))
    await lead.send("Needs the supervisors")
    sup = await staff_chat("sup1")
    await sup.send(f"/case {case.reference}")
    await sup.press(N_("Hand down (下转)"))
    assert "Joint Group 2 (Economy)" in sup.buttons() and not any("联组" in b for b in sup.buttons())
    await sup.press_label("Joint Group 2 (Economy)")
    await sup.send("Better placed there")
    assert en("Case {ref} handed down to {group} (下转).").format(ref=case.reference, group="Joint Group 2 (Economy)") \
        == sup.last
