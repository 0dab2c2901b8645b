"""Supervisors' and leads' lists, filtered from the chat, through the access policy."""

from __future__ import annotations

from sqlalchemy import select

from handlers.deps import Deps
from handlers.i18n import N_
from storage.models import ConflictDeclaration, Staff
from tests.cases.conftest import tip_case
from tests.reporter.conftest import file_anonymous_tip


async def test_lists_filter_and_never_show_a_conflicted_case(chat, staff_chat, deps: Deps, clock) -> None:
    case = await tip_case(chat, deps)
    sup, conflicted = await staff_chat("sup1"), await staff_chat("sup2")
    async with deps.sessionmaker() as s, s.begin():
        sup2 = await s.scalar(select(Staff).where(Staff.login == "sup2"))
        s.add(ConflictDeclaration(staff_id=sup2.id, unit_id=case.unit_id, kind="relative", reason="近亲属"))
    await sup.send("/list")
    assert case.reference in sup.last and "交通警察总队" in sup.last  # what it is about, not a bare reference
    await sup.send("/list overdue")
    assert case.reference not in sup.last
    clock.advance(days=10)  # past the 5-working-day acceptance limit
    await sup.press(N_("Overdue"))
    assert case.reference in sup.last
    await sup.send("/list group:jg1 state:received")
    assert case.reference in sup.last
    await sup.send("/list group:jg2")
    assert case.reference not in sup.last
    await sup.send("/list bogus")
    assert "bogus" in sup.last
    for args in ("", "overdue", "group:jg1", "state:received"):
        await conflicted.send(f"/list {args}")
        assert case.reference not in conflicted.last
    lead, local = await staff_chat("o02-lead"), await staff_chat("o01-lead")
    await lead.send("/list overdue")
    assert case.reference in lead.last
    await local.send("/list")
    assert case.reference not in local.last


async def test_supervisors_my_and_intake_say_what_each_case_is_about(chat, staff_chat, deps: Deps) -> None:
    sup = await staff_chat("sup1")
    await sup.send("/my")
    assert "/list" in sup.last  # never an empty answer for a supervisor
    await file_anonymous_tip(chat("r2"), unit_search="某县自来水公司")
    await sup.send("/intake")
    assert "某县自来水公司" in sup.last
