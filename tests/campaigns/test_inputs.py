"""Numbers typed in campaign conversations are read like everywhere else (handlers/inputs.py):
"²" or a number too long for the database gets a clear answer and changes nothing, full-width
digits from a Chinese input method count; the same for the two-way evaluation's scores."""

from __future__ import annotations

from sqlalchemy import select

from handlers.deps import Deps
from handlers.i18n import gettext_for
from storage.models import CampaignTask, ProgressReport, Staff, Subgroup, SubgroupMember
from tests.campaigns.conftest import create_by_chat

zh = gettext_for("zh_CN")


async def test_progress_numbers_and_scores(deps: Deps, staff_chat) -> None:  # type: ignore[no-untyped-def]
    sup = await staff_chat("sup1")
    c = await create_by_chat(sup, deps)
    await sup.press_value(f"{c.id}.confirm")
    async with deps.sessionmaker() as s:
        m = (await s.scalars(select(SubgroupMember).join(Subgroup).where(
            Subgroup.campaign_id == c.id, SubgroupMember.role == "lead").order_by(SubgroupMember.id))).first()
        assert m is not None
        login = await s.scalar(select(Staff.login).where(Staff.id == m.staff_id))
        task = (await s.scalars(select(CampaignTask).where(CampaignTask.subgroup_id == m.subgroup_id)
                                .order_by(CampaignTask.id))).first()
        assert login and task
        number = await s.scalar(select(Subgroup.number).where(Subgroup.id == m.subgroup_id))
    lead = await staff_chat(login)
    await lead.send(None, button=f"a:cprog:{m.id}")
    await lead.press_value(str(task.id))
    for bad in ("²", "12345678901", "-3", "三"):
        await lead.send(bad)
        assert lead.last == zh("Please type a whole number (0 if none)."), bad
    await lead.send("１２")  # full-width, as typed on a Chinese phone
    await lead.press_value("skip")
    await lead.press_value("no")
    assert lead.last == zh("Recorded. Thank you.")
    async with deps.sessionmaker() as s:
        assert [(r.task_id, r.number) for r in (await s.scalars(select(ProgressReport))).all()] == [(task.id, 12)]

    await sup.send(f"/campaign {c.reference}")
    await sup.press_value(f"{c.id}.end")
    await lead.send(f"/campaign_rate {c.reference} ²")
    assert lead.last == zh("Please send /campaign_rate REFERENCE SUBGROUP, e.g. /campaign_rate ZX2026-001 2.")
    await lead.send(f"/campaign_rate {c.reference} {number}")
    for bad in ("4 5 ²", "4 5 9", "4 5", "4 5 3 2"):
        await lead.send(bad)
        assert lead.last == zh("Please type three whole numbers from 1 to 5, e.g. 4 5 4."), bad
    await lead.send("４ ５　３")  # full-width digits and an ideographic space
    await lead.press_value("skip")
    assert lead.last == zh("Thank you; the rating was recorded.")
