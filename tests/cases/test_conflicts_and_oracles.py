"""A hostile insider cannot route round a conflict, and nobody can tell from an answer whether a
case, an assignment or an intake entry they may not see exists."""

from __future__ import annotations

from sqlalchemy import select

from handlers.deps import Deps
from handlers.i18n import N_
from storage.models import AuditEntry, Case, ConflictDeclaration, Staff, Unit
from tests.cases.conftest import accept_and_confirm_team, press_data, tip_case
from tests.reporter.conftest import to_files_step


async def declare(deps: Deps, login: str, *, unit_code: str | None = None, person: str | None = None) -> None:
    async with deps.sessionmaker() as s, s.begin():
        staff = await s.scalar(select(Staff).where(Staff.login == login))
        unit_id = await s.scalar(select(Unit.id).where(Unit.code == unit_code)) if unit_code else None
        s.add(ConflictDeclaration(staff_id=staff.id, unit_id=unit_id, person_name=person, kind="relative",
                                  reason="test"))


async def unit_code_of(deps: Deps, case_id: int) -> str | None:
    async with deps.sessionmaker() as s:
        case = await s.get(Case, case_id)
        return await s.scalar(select(Unit.code).where(Unit.id == case.unit_id)) if case.unit_id else None


async def intake_case(chat, deps: Deps) -> Case:  # type: ignore[no-untyped-def]
    c = chat("intake-reporter")
    await to_files_step(c, "某个单位的问题")
    await c.press(N_("Skip"))
    await c.press(N_("Anonymous"))
    await c.press(N_("✔ Submit"))
    async with deps.sessionmaker() as s:
        return (await s.scalars(select(Case).order_by(Case.id.desc()))).first()


async def test_a_conflicted_supervisor_cannot_reroute_an_assigned_case_by_forged_intake(chat, staff_chat, deps: Deps) -> None:
    case = await tip_case(chat, deps)  # about u01, the traffic police
    await accept_and_confirm_team(staff_chat, case)
    await declare(deps, "sup1", unit_code="u01")
    sup = await staff_chat("sup1")
    missing = (await press_data(sup, "a:intake:999999"))[0].text
    forged = (await press_data(sup, f"a:intake:{case.id}"))[0].text
    assert forged == missing  # nothing tells the case exists
    # Even if the conversation were somehow open, text typed next starts nothing.
    await sup.send("财政")
    assert "省财政厅" not in sup.buttons()
    assert await unit_code_of(deps, case.id) == "u01"
    assert "状态" not in (await sup.send(f"/case {case.reference}"))[0].text  # the not-found answer


async def test_a_case_not_in_intake_cannot_be_rerouted_from_there(chat, staff_chat, deps: Deps) -> None:
    case = await tip_case(chat, deps)
    sup = await staff_chat("sup2")  # no conflict at all
    answer = (await press_data(sup, f"a:intake:{case.id}"))[0].text
    assert answer == (await press_data(sup, "a:intake:999999"))[0].text
    await sup.send("财政")
    assert "省财政厅" not in sup.buttons()
    assert await unit_code_of(deps, case.id) == "u01"


async def test_intake_refuses_a_supervisor_with_a_person_conflict_and_lists_nothing_to_them(chat, staff_chat, deps: Deps) -> None:
    c = chat("intake-person")
    await c.send("/report")
    await c.press(N_("Not sure"))
    await c.send("王五，处长")
    await c.send("情况说明")
    await c.press(N_("Done"))
    await c.press(N_("Skip"))
    await c.press(N_("Anonymous"))
    await c.press(N_("✔ Submit"))
    async with deps.sessionmaker() as s:
        case = (await s.scalars(select(Case).order_by(Case.id.desc()))).first()
    await declare(deps, "sup1", person="王五")
    sup1 = await staff_chat("sup1")
    assert case.reference not in (await sup1.send("/intake"))[0].text
    assert case.reference not in sup1.buttons()
    assert (await press_data(sup1, f"a:intake:{case.id}"))[0].text == (await press_data(sup1, "a:intake:999999"))[0].text
    assert await unit_code_of(deps, case.id) is None
    sup2 = await staff_chat("sup2")
    await sup2.send("/intake")
    assert case.reference in sup2.buttons()


async def test_intake_refuses_a_unit_the_supervisor_is_conflicted_on(chat, staff_chat, deps: Deps) -> None:
    case = await intake_case(chat, deps)
    await declare(deps, "sup1", unit_code="u09")
    sup = await staff_chat("sup1")
    await sup.send("/intake")
    await sup.press_label(case.reference)
    await sup.send("财政")
    await sup.press_label("省财政厅")
    assert "省财政厅" not in sup.last
    assert await unit_code_of(deps, case.id) is None


async def test_changing_the_unit_is_its_own_recorded_action_and_keeps_old_conflicts(chat, staff_chat, deps: Deps) -> None:
    case = await tip_case(chat, deps)  # u01
    await declare(deps, "sup1", unit_code="u01")
    await declare(deps, "sup3", unit_code="u09")
    # sup3 (conflicted on the new unit) may not move it there.
    sup3 = await staff_chat("sup3")
    await sup3.send(f"/case {case.reference}")
    await sup3.press(N_("Change the unit"))
    await sup3.send("财政")
    await sup3.press_label("省财政厅")
    assert await unit_code_of(deps, case.id) == "u01"
    # sup2 has no conflict on either and may.
    sup2 = await staff_chat("sup2")
    await sup2.send(f"/case {case.reference}")
    await sup2.press(N_("Change the unit"))
    await sup2.send("财政")
    await sup2.press_label("省财政厅")
    assert "省财政厅" in sup2.last
    assert await unit_code_of(deps, case.id) == "u09"
    async with deps.sessionmaker() as s:
        entry = await s.scalar(select(AuditEntry).where(AuditEntry.action == "change_unit"))
        assert entry is not None and entry.detail["from"] == "u01" and entry.detail["to"] == "u09"
    # The old conflict still holds: sup1 and the traffic police's own office see nothing.
    sup1 = await staff_chat("sup1")
    assert (await sup1.send(f"/case {case.reference}"))[0].text == (await sup1.send("/case LZ2099-99999"))[0].text.replace(
        "LZ2099-99999", case.reference)
    local = await staff_chat("o01-lead")
    assert case.reference not in (await local.send("/status week"))[0].text
    assert "状态" not in (await local.send(f"/case {case.reference}"))[0].text
    # A conflicted supervisor gets no "Change the unit" button, and forging it changes nothing.
    await press_data(sup3, f"a:case:{case.id}.unit")
    await sup3.send("公安")
    assert await unit_code_of(deps, case.id) == "u09"


async def test_case_answers_are_identical_for_real_and_made_up_references(chat, staff_chat, deps: Deps) -> None:
    case = await tip_case(chat, deps)
    await tip_case(chat, deps)
    outsider = await staff_chat("o20-lead")  # another joint group: no access
    real_ref = case.reference
    fake_ref = real_ref[:-1] + ("9" if real_ref[-1] != "9" else "8")
    for typed_real, typed_fake in ((real_ref.lower(), fake_ref.lower()), (real_ref, fake_ref), (f" {real_ref} ", f" {fake_ref} ")):
        a = (await outsider.send(f"/case {typed_real}"))[0].text
        b = (await outsider.send(f"/case {typed_fake}"))[0].text
        assert a == b.replace(fake_ref.lower(), real_ref.lower()).replace(fake_ref, real_ref)
    # Case buttons: a real case id and a made-up one answer the same, for every verb.
    for verb in ("view", "accept", "team", "team_ok", "note", "unit", "nonsense"):
        assert (await press_data(outsider, f"a:case:{case.id}.{verb}"))[0].text == \
            (await press_data(outsider, f"a:case:999999.{verb}"))[0].text


async def test_ack_answers_are_identical_for_someone_elses_and_made_up_assignments(chat, staff_chat, deps: Deps) -> None:
    case = await tip_case(chat, deps)
    await accept_and_confirm_team(staff_chat, case)
    from storage.models import AssignmentMember

    async with deps.sessionmaker() as s:
        member_id = (await s.scalars(select(AssignmentMember.id))).first()
    stranger = await staff_chat("o30-f1")
    assert (await press_data(stranger, f"a:ack:{member_id}"))[0].text == (await press_data(stranger, "a:ack:999999"))[0].text
    outsider = chat("not-staff")
    assert (await press_data(outsider, f"a:ack:{member_id}"))[0].text == (await press_data(outsider, "a:ack:999999"))[0].text


async def test_intake_buttons_answer_the_same_for_real_and_made_up_cases(chat, staff_chat, deps: Deps) -> None:
    case = await intake_case(chat, deps)
    for login in ("o02-lead", "o07-f1"):
        who = await staff_chat(login)
        assert (await press_data(who, f"a:intake:{case.id}"))[0].text == (await press_data(who, "a:intake:999999"))[0].text
    outsider = chat("not-staff-2")
    assert (await press_data(outsider, f"a:intake:{case.id}"))[0].text == (await press_data(outsider, "a:intake:999999"))[0].text
