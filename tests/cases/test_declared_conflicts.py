"""A staff member declares a conflict (回避) from the chat with /conflict: it counts at once, the
administrators confirm or refuse it from their notice, and a refused one stops counting. "我需要
回避" on a case goes through the same declaration."""

from __future__ import annotations

import re

from sqlalchemy import select

from handlers.deps import Deps
from handlers.i18n import N_
from storage.models import AuditEntry, ConflictDeclaration, Staff
from tests.cases.conftest import accept_and_confirm_team, outbox_to, press_data, team_of, tip_case
from tests.fakes import Chat


async def _declare_unit(c: Chat, unit_part: str = "交通警察", kind: str = N_("a close relative (近亲属)")) -> str:
    await c.send("/conflict")
    await c.press(N_("A unit"))
    await c.send(unit_part)
    await c.press_value(c.button_values()[0])
    await c.press(kind)
    return c.text(await c.send("我妻子在该总队任职。"))


async def _decision_buttons(deps: Deps, login: str) -> dict[str, str]:
    notes = [n for n in await outbox_to(deps, login) if n.kind == "conflict_declared"]
    assert notes, "no notice to the administrators"
    return {b["label"]: b["data"] for row in notes[-1].payload["buttons"] for b in row}


async def _sees(c: Chat, ref: str) -> bool:
    text = c.text(await c.send(f"/case {ref}"))
    return ref in text and "没有您可查看" not in text


async def _declarations(deps: Deps, login: str) -> list[ConflictDeclaration]:
    async with deps.sessionmaker() as s:
        return list((await s.scalars(select(ConflictDeclaration).join(Staff, Staff.id == ConflictDeclaration.staff_id)
                                     .where(Staff.login == login).order_by(ConflictDeclaration.id))).all())


async def test_a_declared_unit_conflict_counts_at_once_and_stands_when_confirmed(chat, staff_chat, deps: Deps) -> None:
    case = await tip_case(chat, deps)
    admin = await staff_chat("admin")
    lead = await staff_chat("o02-lead")
    assert await _sees(lead, case.reference)

    answer = await _declare_unit(lead)
    assert "交通警察" in answer and "管理员" in answer
    [decl] = await _declarations(deps, "o02-lead")
    assert (decl.status, decl.kind, decl.case_id) == ("pending", "relative", None)
    # Pending already counts: the lead hears nothing more of the case.
    assert not await _sees(lead, case.reference)

    buttons = await _decision_buttons(deps, "admin")
    notice = [n for n in await outbox_to(deps, "admin") if n.kind == "conflict_declared"][-1].payload["text"]
    assert "交通警察" in notice and "近亲属" in notice and "我妻子在该总队任职" in notice
    # Only an administrator decides; a forged press by the declarer changes nothing.
    assert "未作任何更改" in lead.text(await press_data(lead, buttons["✔ 确认"]))
    assert (await _declarations(deps, "o02-lead"))[0].status == "pending"

    assert "确认" in admin.text(await press_data(admin, buttons["✔ 确认"]))
    [decl] = await _declarations(deps, "o02-lead")
    assert decl.status == "confirmed" and decl.decided_by_staff_id is not None
    assert not await _sees(lead, case.reference)
    # Pressed twice: already decided, nothing changes.
    assert "已有处理结果" in admin.text(await press_data(admin, buttons["✖ 不批准"]))
    assert (await _declarations(deps, "o02-lead"))[0].status == "confirmed"
    told = [n for n in await outbox_to(deps, "o02-lead") if n.kind == "conflict_decided"]
    assert len(told) == 1 and "已获确认" in told[0].payload["text"]
    async with deps.sessionmaker() as s:
        actions = set((await s.scalars(select(AuditEntry.action).where(AuditEntry.action.like("conflict:%")))).all())
    assert actions == {"conflict:declared", "conflict:confirmed"}
    # /conflict lists what the person has declared, with its status.
    assert "已确认" in lead.text(await lead.send("/conflict"))


async def test_a_refused_declaration_stops_counting_in_routing_and_access(chat, staff_chat, deps: Deps) -> None:
    case = await tip_case(chat, deps)
    admin = await staff_chat("admin")
    lead = await staff_chat("o02-lead")
    await lead.send(f"/case {case.reference}")
    await lead.press(N_("Accept (受理)"))
    proposal = lead.text(await lead.press(N_("Propose a team")))
    first = re.findall(r"（(o\d+-[a-z0-9]+)）", proposal.split("未列入")[0])[1]  # the first member after the lead
    member = await staff_chat(first)
    await _declare_unit(member, kind=N_("myself (本人)"))
    again = lead.text(await press_data(lead, f"a:case:{case.id}.team"))
    proposed, excluded = again.split("未列入")
    assert f"（{first}）" not in proposed
    assert any(f"（{first}）" in line and "申报" in line for line in excluded.splitlines())

    buttons = await _decision_buttons(deps, "admin")
    assert "为何不成立" in admin.text(await press_data(admin, buttons["✖ 不批准"]))
    assert (await _declarations(deps, first))[0].status == "pending"  # nothing until the reason is given
    assert "理由" in admin.text(await admin.send(" "))  # nothing typed: asked again
    assert "不再生效" in admin.text(await admin.send("该单位与其无任职或亲属关系，经核实不成立。"))
    assert (await _declarations(deps, first))[0].status == "refused"
    told = [n for n in await outbox_to(deps, first) if n.kind == "conflict_decided"]
    assert "未获管理员认可" in told[-1].payload["text"] and "经核实不成立" in told[-1].payload["text"]
    third = lead.text(await press_data(lead, f"a:case:{case.id}.team"))
    assert f"（{first}）" in third.split("未列入")[0]


async def test_conflict_bad_input_is_answered_and_stores_nothing(staff_chat, deps: Deps) -> None:
    member = await staff_chat("o05-f1")
    await member.send("/conflict")
    assert "选择" in member.text(await member.send("随便写点"))
    await member.press(N_("A person"))
    assert "姓名" in member.text(await member.send(" "))
    await member.send("王某某")
    assert "选择" in member.text(await member.send("亲戚"))
    await member.press(N_("a close relative (近亲属)"))
    await member.send("/cancel")
    assert await _declarations(deps, "o05-f1") == []


async def test_stepping_aside_on_a_case_is_the_same_declaration(chat, staff_chat, deps: Deps) -> None:
    case = await tip_case(chat, deps)
    admin = await staff_chat("admin")
    await accept_and_confirm_team(staff_chat, case)
    team = await team_of(deps, case)
    login = next(k for k, m in team.items() if m.role == "member")
    member = await staff_chat(login)
    await member.send(f"/case {case.reference}")
    await member.press(N_("I need to step aside (我需要回避)"))
    await member.send("与被反映人系同学关系。")
    [decl] = await _declarations(deps, login)
    assert (decl.case_id, decl.status) == (case.id, "pending")
    buttons = await _decision_buttons(deps, "admin")
    notice = [n for n in await outbox_to(deps, "admin") if n.kind == "conflict_declared"][-1].payload["text"]
    assert case.reference in notice
    await press_data(admin, buttons["✔ 确认"])
    assert (await _declarations(deps, login))[0].status == "confirmed"
    assert not await _sees(member, case.reference)


async def test_an_organisation_import_keeps_a_declaration_made_in_the_chat(chat, staff_chat, deps: Deps) -> None:
    """A confirmed /conflict is not the organisation file's to remove: an HR file that does not list
    it (the demo file, imported again) leaves it standing, and importing the exported file (which
    lists it) does not add a second copy."""
    from bot.app import DEMO_ORG
    from storage.orgfile import dump_org, export_org, import_org, load_org_file, parse_org

    case = await tip_case(chat, deps)
    admin = await staff_chat("admin")
    lead = await staff_chat("o02-lead")
    await _declare_unit(lead)
    await press_data(admin, (await _decision_buttons(deps, "admin"))["✔ 确认"])
    assert [d.status for d in await _declarations(deps, "o02-lead")] == ["confirmed"]

    async with deps.sessionmaker() as s:
        await import_org(s, load_org_file(DEMO_ORG))
        await s.commit()
    assert [d.status for d in await _declarations(deps, "o02-lead")] == ["confirmed"]
    assert not await _sees(lead, case.reference)

    async with deps.sessionmaker() as s:
        exported = dump_org(await export_org(s))
    async with deps.sessionmaker() as s:
        await import_org(s, parse_org(exported))
        await s.commit()
    assert len(await _declarations(deps, "o02-lead")) == 1
    assert not await _sees(lead, case.reference)


async def test_a_person_conflict_withdrawn_from_the_organisation_file_no_longer_hides_the_case(
        chat, staff_chat, deps: Deps, clock) -> None:  # type: ignore[no-untyped-def]
    """A standing person conflict from the organisation file hides the case it names from /case
    and /list; taken out of the file (withdrawn), the case is back."""
    from bot.app import DEMO_ORG
    from storage.orgfile import ConflictIn, import_org, load_org_file

    async def load(person: str | None) -> None:
        org = load_org_file(DEMO_ORG)
        sup = next(s for s in org.staff if s.login == "sup1")
        sup.conflicts = [ConflictIn(person=person, kind="relative")] if person else []
        async with deps.sessionmaker() as s, s.begin():
            await import_org(s, org, now=clock.now())

    case = await tip_case(chat, deps, people="张某，副总队长")
    sup1, control = await staff_chat("sup1"), await staff_chat("sup2")
    await load("张某")
    assert await _sees(control, case.reference) and not await _sees(sup1, case.reference)
    assert case.reference in control.text(await control.send("/list"))
    assert case.reference not in sup1.text(await sup1.send("/list"))
    await load(None)
    assert await _sees(sup1, case.reference)
    assert case.reference in sup1.text(await sup1.send("/list"))
