"""Two people moving the same case at the same moment (two phones, or two instances on one
PostgreSQL): the case moves once, and the second is told where it now is."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from handlers.deps import Deps
from handlers.i18n import N_
from storage.models import Case, CaseTransition
from tests.cases.conftest import tip_case


async def test_two_people_accepting_the_same_case_at_once_accept_it_once(chat, staff_chat, deps: Deps) -> None:  # type: ignore[no-untyped-def]
    case = await tip_case(chat, deps)
    lead, sup = await staff_chat("o02-lead"), await staff_chat("sup1")
    for person in (lead, sup):
        await person.send(f"/case {case.reference}")
    await asyncio.gather(lead.press(N_("Accept (受理)")), sup.press(N_("Accept (受理)")))
    async with deps.sessionmaker() as s:
        accepted = await s.scalar(select(func.count()).select_from(CaseTransition).where(
            CaseTransition.case_id == case.id, CaseTransition.to_state == "accepted"))
        assert (await s.get(Case, case.id)).state == "accepted"
    assert accepted == 1
    told = sorted([lead.last, sup.last], key=lambda t: "无法" in t)
    assert case.reference in told[0] and "已受理" in told[0]  # the one who was first
    assert "现在无法进行这一步" in told[1] and "已受理" in told[1]  # the other: where the case now is
