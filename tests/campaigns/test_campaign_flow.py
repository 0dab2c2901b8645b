"""A whole campaign through the memory chat: create, propose, change (a conflict refused,
named), confirm, notices, 签收, progress, a clue becoming a case, progress view, end, two-way
evaluation, the report — and a person with a conflict seeing nothing of the target."""

from __future__ import annotations

from sqlalchemy import select

from handlers.campaigns.service import REASON_WORDS
from handlers.deps import Deps
from handlers.i18n import gettext_for
from storage.models import (
    AuditEntry,
    Campaign,
    CampaignTarget,
    CampaignTask,
    Case,
    Office,
    Outbox,
    Region,
    Staff,
    Subgroup,
    SubgroupMember,
)
from tests.campaigns.conftest import create_by_chat

zh = gettext_for("zh_CN")


async def _layout(deps: Deps, c: Campaign) -> dict[int, tuple[list[CampaignTarget], list[SubgroupMember]]]:
    async with deps.sessionmaker() as s:
        out = {}
        for sg in (await s.scalars(select(Subgroup).where(Subgroup.campaign_id == c.id))).all():
            targets = (await s.scalars(select(CampaignTarget).where(CampaignTarget.subgroup_id == sg.id))).all()
            members = (await s.scalars(select(SubgroupMember).where(SubgroupMember.subgroup_id == sg.id))).all()
            out[sg.number] = (list(targets), list(members))
        return out


async def test_a_campaign_end_to_end_on_the_memory_chat(deps: Deps, staff_chat) -> None:
    sup = await staff_chat("sup1")
    c = await create_by_chat(sup, deps)
    assert c.reference == "ZX2026-001" and c.state == "proposed"
    assert "ZX2026-001" in sup.text() and zh("subgroup lead") in sup.text()
    layout = await _layout(deps, c)
    assert sorted(layout) == [1, 2]
    async with deps.sessionmaker() as s:
        staff = {st.id: st for st in (await s.scalars(select(Staff))).all()}
        # Nobody works a target in their own home region, except a marked local liaison.
        for targets, members in layout.values():
            regions = {t.region_id for t in targets}
            assert len({staff[m.staff_id].office_id for m in members}) >= 3  # mixed across offices
            for m in members:
                assert (staff[m.staff_id].home_region_id in regions) == (m.role == "liaison")
        # A change that creates a conflict is refused with the conflict named.
        dongzhou = await s.scalar(select(Region.id).where(Region.code == "dongzhou"))
        n = next(k for k, (ts, _m) in layout.items() if any(t.region_id == dongzhou for t in ts))
        group_offices = set((await s.scalars(select(Office.id).where(Office.joint_group_id == c.joint_group_id))).all())
        local = next(st for st in staff.values() if st.home_region_id == dongzhou and st.office_id in group_offices)
    await sup.press_value(f"{c.id}.edit")
    refused = await sup.send(f"{n} +{local.login}")
    assert refused[0].text == zh("{login} cannot be in subgroup {n}: {why}.").format(
        login=local.login, n=n, why=zh(REASON_WORDS["home_region"]))
    other = staff[[m for m in layout[n][1] if m.role == "member"][-1].staff_id]
    await sup.send(f"{n} -{other.login}")
    async with deps.sessionmaker() as s:
        changes = (await s.scalars(select(AuditEntry).where(AuditEntry.action == "campaign:change"))).all()
        assert [e.detail["login"] for e in changes] == [other.login], sup.text(sup.history[-4:])
        placed = await s.scalar(select(Subgroup.number).join(SubgroupMember).where(SubgroupMember.staff_id == local.id))
        assert placed != n  # the refused change changed nothing
    # A member with a bound chat is told at confirmation: campaign, subgroup, targets, dates, role.
    member = next(m for m in layout[n][1] if m.role == "member" and m.staff_id != other.id)
    login = staff[member.staff_id].login
    phone = await staff_chat(login)
    await sup.press_value("confirm")
    async with deps.sessionmaker() as s:
        c2 = await s.get(Campaign, c.id)
        assert c2 is not None and c2.state == "running"
        members = (await s.scalars(select(SubgroupMember).join(Subgroup).where(Subgroup.campaign_id == c.id))).all()
        notices = (await s.scalars(select(Outbox).where(Outbox.kind == "campaign"))).all()
        tasks = (await s.scalars(select(CampaignTask))).all()
        assert len(tasks) == 4 * 4 and all(t.deadline_id for t in tasks)
    assert len(notices) == 1  # only the bound chat has an address
    text = notices[0].payload["text"]
    assert c.reference in text and "东州市" in text and "2026-12-01" in text and zh("subgroup member") in text
    assert [b["data"] for row in notices[0].payload["buttons"] for b in row][0] == f"a:cack:{member.id}"
    await phone.send(None, button=f"a:cack:{member.id}")
    assert phone.last == zh("Acknowledged (已签收) campaign {ref}. Your subgroup lead has been told.").format(
        ref=c.reference)
    assert len(members) == 29

    # The member reports a clue handed over, which becomes a case.
    await phone.send(f"/campaign {c.reference}")
    assert zh("Report progress") in phone.buttons()
    await phone.press_value(str(member.id))  # Report progress (cprog)
    clue_task = next(t for t in tasks if t.subgroup_id == member.subgroup_id and t.kind == "clues_handed_over")
    await phone.press_value(str(clue_task.id))
    await phone.send("1")
    await phone.send("某项目负责人涉嫌围标串标")
    await phone.press_value("yes")
    assert "LZ" in phone.last
    async with deps.sessionmaker() as s:
        case = await s.scalar(select(Case).where(Case.source == "inspection_handover"))
        assert case is not None
    await sup.send(f"/campaign {c.reference}")
    async with deps.sessionmaker() as s:
        clue_target = await s.get(CampaignTarget, clue_task.target_id)
    assert clue_target is not None
    line = zh("Subgroup {n} · {target}: done {done}, due {due}, overdue {overdue}")
    assert line.format(n=n, target=clue_target.name, done=1, due=3, overdue=0) in sup.last.splitlines()

    # End, rate, report with the evaluation (supervisors only).
    await sup.press_value(f"{c.id}.end")
    await sup.send(f"/campaign_rate {c.reference} 1")
    await sup.send("4 5 4")
    await sup.press_value("skip")
    assert zh("Thank you; the rating was recorded.") in sup.last
    await sup.send(f"/campaign {c.reference}")
    await sup.press_value(f"{c.id}.text")
    assert zh("host rates subgroup") in sup.last and zh("clues handed over") in sup.last
    await phone.send(f"/campaign {c.reference}")
    await phone.press_value(f"{c.id}.text")
    assert zh("host rates subgroup") not in phone.last  # evaluations: supervisors only
    assert "南江市" not in phone.last  # a member sees only their own subgroup's targets


async def test_a_person_with_a_conflict_on_a_target_sees_nothing_of_it(deps: Deps, staff_chat) -> None:
    sup = await staff_chat("sup1")
    c = await create_by_chat(sup, deps)
    async with deps.sessionmaker() as s:
        dongzhou = await s.scalar(select(Region.id).where(Region.code == "dongzhou"))
        jg1 = set((await s.scalars(select(Office.id).where(Office.joint_group_id == c.joint_group_id))).all())
        leads = [st for st in (await s.scalars(select(Staff))).all() if st.office_id in jg1 and "lead" in st.login]
        local_lead = next(st for st in leads if st.home_region_id == dongzhou)
        regions = await _target_regions(s, c)
        clear_lead = next(st for st in leads if st.home_region_id not in regions)
    await sup.press_value(f"{c.id}.confirm")
    seer = await staff_chat(clear_lead.login)
    await seer.send(f"/campaign {c.reference}")
    assert "东州市" in seer.last and "南江市" in seer.last
    conflicted = await staff_chat(local_lead.login)
    await conflicted.send(f"/campaign {c.reference}")
    assert "东州市" not in conflicted.last and "南江市" in conflicted.last
    outsider = await staff_chat("o10-f1")  # another joint group, not in the campaign
    await outsider.send(f"/campaign {c.reference}")
    assert outsider.last == zh("No campaign {ref} that you can see. Send /campaigns for yours.").format(
        ref=c.reference)


async def _target_regions(s, c: Campaign) -> set[int | None]:  # type: ignore[no-untyped-def]
    return set((await s.scalars(select(CampaignTarget.region_id).where(CampaignTarget.campaign_id == c.id))).all())


async def test_the_proposal_names_every_person_of_each_subgroup(deps: Deps, staff_chat) -> None:
    """The proposal a supervisor confirms lists each subgroup's people by name and login, never a
    place name or a question mark in their stead."""
    sup = await staff_chat("sup1")
    c = await create_by_chat(sup, deps)
    shown = sup.text()
    async with deps.sessionmaker() as s:
        for _targets, members in (await _layout(deps, c)).values():
            for m in members:
                st = await s.get(Staff, m.staff_id)
                assert st is not None and f"{st.name} [{st.login}]" in shown, shown
    assert "?" not in shown.replace("？", "")
