"""双向评估, the subgroup → host direction, from the chat: when the campaign ends each subgroup lead
is asked to rate the host; the lead rates (three scores, a note); bad scores and people who may not
rate change nothing; the ratings are in the report for supervisors only — text, CSV and XLSX —
and never for the subgroup leads."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook
from sqlalchemy import select

from handlers.deps import Deps
from handlers.i18n import gettext_for
from storage.models import Campaign, Evaluation, Staff, Subgroup, SubgroupMember
from tests.campaigns.conftest import create_by_chat
from tests.cases.conftest import outbox_to
from tests.fakes import Chat

zh = gettext_for("zh_CN")
NOTE = "东道方配合积极，资料提供及时"


async def _people(deps: Deps, c: Campaign) -> tuple[str, str, str]:
    """Subgroup 1's lead and one of its members, and subgroup 2's lead (a lead of the organising group)."""
    async with deps.sessionmaker() as s:
        rows = (await s.execute(select(Staff.login, SubgroupMember.role, Subgroup.number).join(
            SubgroupMember, SubgroupMember.staff_id == Staff.id).join(Subgroup, Subgroup.id == SubgroupMember.subgroup_id)
            .where(Subgroup.campaign_id == c.id).order_by(SubgroupMember.id))).all()
    lead = next(login for login, role, n in rows if role == "lead" and n == 1)
    member = next(login for login, role, n in rows if role == "member" and n == 1)
    other_lead = next(login for login, role, n in rows if role == "lead" and n == 2)
    return lead, member, other_lead


async def _evaluations(deps: Deps) -> list[tuple[str, int, int, int]]:
    async with deps.sessionmaker() as s:
        return [(e.direction, e.quality, e.ability, e.conduct) for e in (await s.scalars(select(Evaluation))).all()]


async def _report(chat: Chat, c: Campaign) -> tuple[str, list[list[str]], list[list[object]]]:
    await chat.send(None, button=f"a:crep:{c.id}.text")
    text = chat.last
    csv_reply = (await chat.send(None, button=f"a:crep:{c.id}.csv"))[-1]
    rows = list(csv.reader(io.StringIO(csv_reply.files[0].data.decode("utf-8-sig"))))
    xlsx_reply = (await chat.send(None, button=f"a:crep:{c.id}.xlsx"))[-1]
    sheet = load_workbook(io.BytesIO(xlsx_reply.files[0].data)).active
    assert sheet is not None
    cells = [[v for v in r if v is not None] for r in sheet.iter_rows(values_only=True)]
    return text, rows, cells


async def test_a_subgroup_lead_rates_the_host_and_only_supervisors_see_it(deps: Deps, staff_chat) -> None:  # type: ignore[no-untyped-def]
    sup = await staff_chat("sup1")
    c = await create_by_chat(sup, deps)
    lead_login, member_login, overseer_login = await _people(deps, c)
    lead, member, overseer = (await staff_chat(lead_login), await staff_chat(member_login),
                              await staff_chat(overseer_login))
    await sup.press_value(f"{c.id}.confirm")
    # Before the end: no rating.
    await lead.send(f"/campaign_rate {c.reference} 1")
    await lead.send("4 5 3")
    await lead.press_value("skip")
    assert lead.last == zh("Ratings are given once the campaign has ended.")
    assert await _evaluations(deps) == []

    await sup.send(f"/campaign {c.reference}")
    await sup.press_value(f"{c.id}.end")
    asked = zh("Campaign {ref} has ended. As lead of subgroup {n}, please rate the host: /campaign_rate {ref} {n}")
    assert any(o.payload["text"] == asked.format(ref=c.reference, n=1) for o in await outbox_to(deps, lead_login))

    # A member who is not the lead may not rate the host: the answer of a campaign they cannot see.
    await member.send(f"/campaign_rate {c.reference} 1")
    assert member.last == zh("No campaign {ref} that you can see. Send /campaigns for yours.").format(ref=c.reference)
    # The lead may not rate for another subgroup either.
    await lead.send(f"/campaign_rate {c.reference} 2")
    assert lead.last == zh("No campaign {ref} that you can see. Send /campaigns for yours.").format(ref=c.reference)

    await lead.send(f"/campaign_rate {c.reference} 1")
    await lead.send("6 5 3")  # out of range: asked again, nothing stored
    assert lead.last == zh("Please type three whole numbers from 1 to 5, e.g. 4 5 4.")
    await lead.send("4 5")
    assert lead.last == zh("Please type three whole numbers from 1 to 5, e.g. 4 5 4.")
    await lead.send("4 5 3")
    await lead.send(NOTE)
    assert lead.last == zh("Thank you; the rating was recorded.")
    assert await _evaluations(deps) == [("subgroup_to_host", 4, 5, 3)]
    async with deps.sessionmaker() as s:
        e = (await s.scalars(select(Evaluation))).one()
        assert e.note_enc is not None and NOTE.encode() not in e.note_enc  # sealed

    # Supervisors: the rating, with its note, in the text, CSV and XLSX report.
    text, rows, cells = await _report(sup, c)
    direction = zh("subgroup rates host")
    assert f"1 | {direction} | 4 | 5 | 3 | {NOTE}" in text
    assert ["1", direction, "4", "5", "3", NOTE] in rows
    assert [1, direction, 4, 5, 3, NOTE] in cells
    # The lead who rated, and another subgroup's lead: the figures, not the ratings.
    for chat in (lead, overseer):
        text, rows, cells = await _report(chat, c)
        assert zh("clues handed over") in text
        assert direction not in text and NOTE not in text
        assert not any(direction in r for r in rows) and not any(direction in r for r in cells)
