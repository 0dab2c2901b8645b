"""Summaries supervisors can put in a report, the digest, and one scheduler owner."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from PIL import Image
from sqlalchemy import select

from bot.scheduler import Scheduler, take_lease
from handlers.deps import Deps
from handlers.lifecycle import open_case, record_transition
from handlers.schedule.digest import send_digests
from handlers.schedule.figures import parse_period, ratio
from storage.models import CaseSource, CaseState, SchedulerLease, Unit
from tests.cases.conftest import outbox_to
from tests.conftest import bind_staff
from tests.fakes import tiny_pdf


async def make_cases(deps: Deps, when: datetime, n: int, *, source=CaseSource.public_report, conclude: int = 0,
                     disciplined: int = 0, unit_code: str = "u09") -> None:
    from handlers.cases.routing import route

    async with deps.begin() as uow:
        s = uow.session
        unit = await s.scalar(select(Unit).where(Unit.code == unit_code))
        for i in range(n):
            c = await open_case(uow, source=source, now=when, unit_id=unit.id)
            await route(uow, c)
            await record_transition(uow, c, CaseState.accepted, now=when, actor_staff_id=None)
            if i < conclude:
                await record_transition(uow, c, CaseState.assigned, now=when, actor_staff_id=None)
                await record_transition(uow, c, CaseState.acknowledged, now=when, actor_staff_id=None)
                c.disposal = "preliminary_verification"
                await record_transition(uow, c, CaseState.disposed, now=when, actor_staff_id=None)
                await record_transition(uow, c, CaseState.filed, now=when, actor_staff_id=None)
                c.people_disciplined = disciplined
                await record_transition(uow, c, CaseState.concluded, now=when, actor_staff_id=None)


def test_period_words_and_ratios() -> None:
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("Asia/Shanghai")
    now = datetime(2026, 3, 18, 2, 0, tzinfo=UTC)
    q = parse_period("2026-Q1", now, tz)
    assert q.start.astimezone(tz).date().isoformat() == "2026-01-01" and q.end.astimezone(tz).date().isoformat() == "2026-04-01"
    m = parse_period("month", now, tz)
    assert m.shift(years=-1).start.astimezone(tz).date().isoformat() == "2025-03-01"
    assert m.shift(back=True).end == m.start
    assert parse_period("2026-13", now, tz) is None and parse_period("soon", now, tz) is None
    assert ratio(163, 74) == "×2.2" and ratio(5, 0) == "—"


async def test_stats_in_the_bodys_reporting_form_with_yoy_and_mom(staff_chat, deps: Deps, clock) -> None:
    march = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
    await make_cases(deps, march, 11, conclude=4, disciplined=2)
    await make_cases(deps, march, 2, source=CaseSource.audit_handover)
    await make_cases(deps, datetime(2025, 3, 10, 2, 0, tzinfo=UTC), 5, conclude=2, disciplined=1)
    await make_cases(deps, datetime(2026, 2, 10, 2, 0, tzinfo=UTC), 13, conclude=1, disciplined=1)
    clock.set(datetime(2026, 3, 20, 2, 0, tzinfo=UTC))
    deps.config.small_count_threshold = 1  # the arithmetic, with nothing masked (masking: test_need_to_know)
    sup = await staff_chat("sup1")
    text = (await sup.send("/stats month"))[0].text
    assert "受理问题线索 13 件，同比 ×2.6，环比 ×1.0" in text
    assert "信访举报 11 件" in text and "审计移交 2 件" in text
    assert "办结案件 4 件，同比 ×2.0，环比 ×4.0" in text
    assert "处分人数 8 人，同比 ×4.0，环比 ×8.0" in text.splitlines()  # the whole line: 8, not 80
    assert "立案 4 件" in text
    bad = (await sup.send("/stats someday"))[0].text
    assert "无法识别" in bad


async def test_status_lists_overdue_references_and_is_scoped(chat, staff_chat, deps: Deps, clock) -> None:
    from tests.cases.conftest import tip_case

    case = await tip_case(chat, deps)
    clock.advance(days=9)
    sup = await staff_chat("sup1")
    text = (await sup.send("/status week"))[0].text
    assert "当前超期：<3" in text and case.reference in text  # the count masked, the work list shown
    other_group_lead = await staff_chat("o20-lead")
    assert case.reference not in (await other_group_lead.send("/status week"))[0].text
    local_lead = await staff_chat("o01-lead")  # stationed at the unit concerned: not counted for them
    assert "当前超期：0" in (await local_lead.send("/status week"))[0].text
    field = await staff_chat("o02-f1")
    assert "不认识命令" in (await field.send("/status"))[0].text


async def test_daily_digest_has_counts_references_and_a_chart_but_no_content(chat, deps: Deps, clock) -> None:
    from tests.cases.conftest import tip_case

    await bind_staff(deps, "sup1", "staff-sup1")
    await bind_staff(deps, "o02-lead", "staff-o02-lead")
    case = await tip_case(chat, deps)
    clock.advance(days=9)
    async with deps.begin() as uow:
        assert await send_digests(uow) == 2
        assert await send_digests(uow) == 0  # once a day
    row = (await outbox_to(deps, "sup1"))[-1]
    assert row.kind == "digest" and case.reference in row.payload["text"]
    assert "收受好处费" not in str(row.payload["text"])
    from handlers.events import Reply

    png = Reply.model_validate(row.payload).files[0].data
    img = Image.open(io.BytesIO(png))
    assert img.format == "PNG" and img.size[0] >= 600


async def test_only_one_scheduler_owner_and_takeover_when_it_dies(deps: Deps, clock) -> None:
    sm = deps.sessionmaker
    now = clock.now()
    assert await take_lease(sm, "a", now, 30)
    assert not await take_lease(sm, "b", now, 30)
    assert await take_lease(sm, "a", now + timedelta(seconds=20), 30)  # renewed
    assert not await take_lease(sm, "b", now + timedelta(seconds=40), 30)
    # "a" dies: it stops renewing; after the lease period "b" takes over.
    assert await take_lease(sm, "b", now + timedelta(seconds=51), 30)
    async with sm() as s:
        assert (await s.get(SchedulerLease, "scheduler")).owner == "b"


async def test_a_real_apscheduler_runs_the_minute_job(deps: Deps, clock, chat) -> None:
    import asyncio

    from tests.cases.conftest import tip_case

    await bind_staff(deps, "o02-lead", "staff-o02-lead")
    await tip_case(chat, deps)
    clock.advance(days=3)  # a reminder is due
    sched = Scheduler(deps, owner="t", renew_seconds=0.05,
                      minute_seconds=0.1)
    other = Scheduler(deps, owner="u", renew_seconds=0.05, minute_seconds=0.1)
    await sched.start()
    for _ in range(100):  # bounded: at most ~5 s
        await asyncio.sleep(0.05)
        if await outbox_to(deps, "o02-lead"):
            break
    await other.campaign_once()
    assert sched.is_owner and not other.is_owner
    await sched.stop()
    await other.stop()
    rows = await outbox_to(deps, "o02-lead")
    assert rows and rows[-1].kind == "reminder"


async def test_report_command_writes_csv_and_xlsx(deps: Deps, tmp_path) -> None:
    import csv as csvmod
    import os
    import subprocess
    import sys

    from openpyxl import load_workbook

    await make_cases(deps, datetime(2026, 3, 10, 2, 0, tzinfo=UTC), 3, conclude=1, disciplined=2)
    env = {**os.environ, "LIANZU_DATABASE_URL": deps.config.database_url}
    out = subprocess.run([sys.executable, "-m", "bot", "report", "--from", "2026-03-01", "--to", "2026-03-31",
                          "--format", "csv"], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    rows = list(csvmod.reader(out.stdout.splitlines()))
    by = {r[0].strip(): r for r in rows}
    assert by["受理问题线索 Clues received"][1] == "3" and by["处分人数 People disciplined"][1] == "<3"
    xlsx = tmp_path / "r.xlsx"
    out = subprocess.run([sys.executable, "-m", "bot", "report", "--from", "2026-03-01", "--to", "2026-03-31",
                          "--format", "xlsx", "--out", str(xlsx)], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    ws = load_workbook(xlsx).active
    assert ws["A2"].value.startswith("受理问题线索") and ws["B2"].value == 3
    bad = subprocess.run([sys.executable, "-m", "bot", "report", "--from", "March", "--to", "2026-03-31"],
                         capture_output=True, text=True, env=env, timeout=60)
    assert bad.returncode == 2 and "--from" in bad.stderr


async def test_minute_job_deletes_expired_drafts_and_their_files(chat, deps: Deps, clock) -> None:
    from bot.scheduler import ClockJobs
    from storage.models import Attachment, ConversationState
    from tests.fakes import make_file
    from tests.reporter.conftest import to_files_step

    c = chat()
    await to_files_step(c, "草稿")
    await c.attach(make_file(tiny_pdf(), filename="d.pdf"))
    jobs = ClockJobs(deps)
    await jobs.minute()
    async with deps.sessionmaker() as s:
        assert len((await s.scalars(select(Attachment))).all()) == 1  # a live draft keeps its file
    clock.advance(hours=deps.config.draft_ttl_hours + 1)
    await jobs.minute()
    async with deps.sessionmaker() as s:
        assert (await s.scalars(select(ConversationState))).all() == []
    # A draft's file is dated to its day only (an exact time could be joined to the tip), so it
    # goes within a day after its draft.
    clock.advance(hours=24)
    await jobs.minute()
    async with deps.sessionmaker() as s:
        assert (await s.scalars(select(Attachment))).all() == []
