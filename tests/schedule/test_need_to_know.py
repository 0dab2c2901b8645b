"""Conflicted people hear nothing of the case: not in reminders, escalations, digests, /status,
/stats, /intake, /my or exports; and no figure shows a count small enough to point at someone."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.scheduler import ClockJobs
from handlers.deps import Deps
from handlers.schedule.digest import send_digests
from handlers.schedule.figures import masked, shown
from storage.models import Case, CaseSource, JointGroup, Office, Outbox, Staff, StaffRole, office_units
from tests.cases.conftest import accept_and_confirm_team, bind_group, outbox_to, tip_case
from tests.cases.test_conflicts_and_oracles import declare
from tests.conftest import bind_staff
from tests.schedule.test_figures import make_cases


async def group_leads(deps: Deps, group: str) -> list[str]:
    async with deps.sessionmaker() as s:
        return sorted(set((await s.scalars(select(Staff.login).join(Office, Office.id == Staff.office_id)
                                           .join(JointGroup, JointGroup.id == Office.joint_group_id)
                                           .join(StaffRole, StaffRole.staff_id == Staff.id)
                                           .where(JointGroup.code == group, StaffRole.role == "lead"))).all()))


def texts(rows: list[Outbox]) -> list[str]:
    return [str(r.payload.get("text", "")) + str(r.payload.get("buttons", "")) for r in rows]


async def test_fifteen_days_with_declared_conflicts_tell_nobody_anything(chat, staff_chat, deps: Deps, clock) -> None:
    deps.config.small_count_threshold = 1  # exact counts here, to see what each person's figures include
    await bind_group(deps, "jg1")
    for login in ("sup1", "sup2", "sup3", "sup4", "admin"):
        await bind_staff(deps, login, f"staff-{login}")
    case_a = await tip_case(chat, deps, people="张某，副总队长")  # the traffic police (u01), jg1
    case_b = await tip_case(chat, deps, people="李四，科长")
    leads = await group_leads(deps, "jg1")
    await declare(deps, "sup1", unit_code="u01")      # a unit conflict: both cases
    await declare(deps, "sup2", person="张某")         # a person conflict: case A only
    for login in leads:                                # every lead of the group: case A only
        await declare(deps, login, person="张某")
    await accept_and_confirm_team(staff_chat, case_b)  # B gets a team that never acknowledges
    hidden = {"sup1": {case_a.reference, case_b.reference}, "sup2": {case_a.reference},
              **{login: {case_a.reference} for login in leads}}
    jobs = ClockJobs(deps)
    start = clock.now()
    while clock.now() < start + timedelta(days=15):
        clock.advance(hours=2)
        await jobs.minute()
        if clock.now().astimezone(deps.config.tz).hour == 9:  # once a day, after the digest time
            await jobs.daily_digest()
    for login, refs in hidden.items():
        for text in texts(await outbox_to(deps, login)):
            assert not any(ref in text for ref in refs), (login, text)
    # What the others hear, so the silence above is the rules and not an empty simulation.
    sup3 = texts(await outbox_to(deps, "sup3"))
    assert any(case_a.reference in t and "督办" in t for t in sup3)  # past the conflicted leads, to the supervisors
    assert any(case_b.reference in t for t in sup3)
    assert any(case_b.reference in t and "督办" in t for t in texts(await outbox_to(deps, "sup2")))
    assert any(case_b.reference in t for t in texts(await outbox_to(deps, "o02-lead")))
    admin_rows = await outbox_to(deps, "admin")
    moved = [r for r in admin_rows if r.kind == "escalation_moved"]
    assert moved and case_a.reference in moved[0].payload["text"] and "联组组长" in moved[0].payload["text"]
    digests = [r.payload["text"] for r in await outbox_to(deps, "sup1") if r.kind == "digest"]
    assert len(digests) >= 8 and all("当前超期：0" in t for t in digests)
    assert "当前超期：2" in [r.payload["text"] for r in await outbox_to(deps, "sup3") if r.kind == "digest"][-1]
    # Asked directly, over the period that holds both cases.
    sup1, sup2, sup3c, lead = [await staff_chat(x) for x in ("sup1", "sup2", "sup3", "o02-lead")]
    for who, n in ((sup1, 0), (sup2, 1), (sup3c, 2), (lead, 1)):
        status = (await who.send("/status month"))[0].text
        stats = (await who.send("/stats month"))[0].text
        assert f"新收：{n}" in status and f"受理问题线索 {n} 件" in stats, (who.external_id, status, stats)
    assert case_a.reference not in (await sup1.send("/status month"))[0].text
    assert case_a.reference not in (await lead.send("/status month"))[0].text
    assert case_a.reference in (await sup3c.send("/status month"))[0].text
    assert case_a.reference not in (await lead.send("/my"))[0].text
    # The export made for a conflicted person leaves the case out too.
    env = {**os.environ, "LIANZU_DATABASE_URL": deps.config.database_url, "LIANZU_SMALL_COUNT_THRESHOLD": "1",
           "LIANZU_ENCRYPTION_KEYS": deps.config.encryption_keys.get_secret_value()}
    day = start.astimezone(deps.config.tz).date()
    for login, n in (("sup1", "0"), ("sup2", "1"), ("sup3", "2")):
        out = subprocess.run([sys.executable, "-m", "bot", "report", "--from", f"{day:%Y-%m-01}", "--to", f"{day}",
                              "--for", login], capture_output=True, text=True, env=env, timeout=60)
        assert out.returncode == 0, out.stderr
        row = next(line for line in out.stdout.splitlines() if line.startswith("受理问题线索"))
        assert row.split(",")[1] == n, (login, row)


async def test_a_case_whose_whole_ladder_is_conflicted_still_reaches_someone(chat, staff_chat, deps: Deps, clock) -> None:
    await bind_group(deps, "jg1")
    for login in ("sup1", "sup2", "sup3", "sup4", "admin"):
        await bind_staff(deps, login, f"staff-{login}")
        await declare(deps, login, unit_code="u01") if login != "admin" else None
    for login in await group_leads(deps, "jg1"):
        await declare(deps, login, unit_code="u01")
    case = await tip_case(chat, deps)
    clock.advance(days=10)
    await ClockJobs(deps).minute()
    rows = await outbox_to(deps, "admin")
    assert any(r.kind == "escalation" and case.reference in r.payload["text"] for r in rows)
    moved = [r.payload["text"] for r in rows if r.kind == "escalation_moved"]
    assert moved and "联组组长" in moved[0] and "分管领导" in moved[0]
    for login in ("sup1", "sup2", "sup3", "sup4"):
        assert not any(case.reference in t for t in texts(await outbox_to(deps, login)))


def test_masking_keeps_totals_from_giving_a_small_part_away() -> None:
    assert [shown(n, 3) for n in (0, 1, 2, 3, 40)] == ["0", "<3", "<3", "3", "40"]
    # One small part: the smallest other part is masked too, or total − rest would give it.
    assert masked(13, {"a": 11, "b": 2}, 3) == ("13", {"a": "≥3", "b": "<3"})
    assert masked(20, {"a": 11, "b": 2, "c": 7}, 3) == ("20", {"a": "11", "b": "<3", "c": "≥3"})
    assert masked(4, {"a": 2, "b": 2}, 3) == ("4", {"a": "<3", "b": "<3"})  # two unknowns: neither can be had
    assert masked(2, {"a": 2}, 3) == ("<3", {"a": "<3"})
    assert masked(9, {"a": 9}, 3) == ("9", {"a": "9"})


async def test_every_figure_path_masks_small_counts(chat, staff_chat, deps: Deps, clock) -> None:
    march = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
    await make_cases(deps, march, 11, conclude=4, disciplined=2)
    await make_cases(deps, march, 2, source=CaseSource.audit_handover, conclude=1, disciplined=1)
    await make_cases(deps, datetime(2025, 3, 10, 2, 0, tzinfo=UTC), 5, conclude=2, disciplined=1)
    clock.set(datetime(2026, 3, 10, 8, 0, tzinfo=UTC))
    sup = await staff_chat("sup1")
    stats = (await sup.send("/stats month"))[0].text
    assert "受理问题线索 13 件" in stats
    assert "审计移交 <3 件，同比 —，环比 —" in stats
    assert "信访举报 ≥3 件，同比 —，环比 —" in stats  # else 13 − 11 gives the audit handovers away
    assert "办结案件 5 件，同比 —" in stats  # last year's 2 is too small to compare with
    status = (await sup.send("/status 2026-03"))[0].text
    assert "新收：13" in status and "办结：5" in status
    # Small figures in a digest: one case yesterday.
    await make_cases(deps, datetime(2026, 3, 11, 9, 0, tzinfo=UTC), 1)
    clock.set(datetime(2026, 3, 12, 0, 30, tzinfo=UTC))
    await bind_staff(deps, "sup2", "staff-sup2")
    async with deps.begin() as uow:
        await send_digests(uow)
    digest = (await outbox_to(deps, "sup2"))[-1].payload["text"]
    assert "昨日以来新收：<3" in digest and "昨日以来新收：1" not in digest
    status = (await sup.send("/status 2026-03-11 2026-03-11"))[0].text
    assert "新收：<3" in status and "新收：1" not in status
    # The export.
    env = {**os.environ, "LIANZU_DATABASE_URL": deps.config.database_url}
    out = subprocess.run([sys.executable, "-m", "bot", "report", "--from", "2026-03-01", "--to", "2026-03-31"],
                         capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    by = {r.split(",")[0].strip(): r.split(",") for r in out.stdout.splitlines()}
    assert by["审计移交 Audit handovers"][1] == "<3" and by["审计移交 Audit handovers"][3] == "—"
    assert by["信访举报 Public reports"][1] == "≥3"
    assert by["受理问题线索 Clues received"][1] == "14"


async def test_figures_of_a_lead_leave_out_cases_on_a_unit_they_declared(staff_chat, deps: Deps, clock) -> None:
    deps.config.small_count_threshold = 1
    await make_cases(deps, datetime(2026, 3, 10, 2, 0, tzinfo=UTC), 4, unit_code="u09")
    clock.set(datetime(2026, 3, 20, 2, 0, tzinfo=UTC))
    async with deps.sessionmaker() as s:
        case = (await s.scalars(select(Case))).first()
        local = select(office_units.c.office_id).where(office_units.c.unit_id == case.unit_id)
        lead_login = await s.scalar(select(Staff.login).join(Office, Office.id == Staff.office_id)
                                    .join(StaffRole, StaffRole.staff_id == Staff.id)
                                    .where(Office.joint_group_id == case.joint_group_id, StaffRole.role == "lead",
                                           Office.id.not_in(local)).order_by(Staff.login))
    lead = await staff_chat(lead_login)
    assert "受理问题线索 4 件" in (await lead.send("/stats month"))[0].text
    await declare(deps, lead_login, unit_code="u09")
    assert "受理问题线索 0 件" in (await lead.send("/stats month"))[0].text
    assert "新收：0" in (await lead.send("/status month"))[0].text
