"""Deadlines, reminders before them, escalation after them — with the clock moved, not waited for."""

from __future__ import annotations

from datetime import UTC

from sqlalchemy import select

from handlers.deps import Deps
from handlers.i18n import N_, gettext_for
from handlers.schedule.ticker import tick
from storage.models import Deadline, Escalation, Outbox
from tests.cases.conftest import accept_and_confirm_team, bind_group, outbox_to, tip_case


async def run_tick(deps: Deps) -> tuple[int, int]:
    async with deps.begin() as uow:
        r = await tick(uow)
    return r.reminders, r.escalations


async def test_a_new_case_must_be_accepted_within_five_working_days(chat, deps: Deps) -> None:
    case = await tip_case(chat, deps)
    async with deps.sessionmaker() as s:
        d = (await s.scalars(select(Deadline).where(Deadline.case_id == case.id))).one()
    assert d.kind == "accept"
    local = d.due_at.astimezone(deps.config.tz)
    # Created Monday 2 March 2026: five working days later is Monday 9 March, end of day.
    assert local.date().isoformat() == "2026-03-09" and local.hour == 23


async def test_reminders_come_before_the_deadline_and_escalations_after_once_per_interval(chat, deps: Deps, clock) -> None:
    await bind_group(deps, "jg1")
    from tests.conftest import bind_staff

    for sup in ("sup1", "sup2"):
        await bind_staff(deps, sup, f"staff-{sup}")
    case = await tip_case(chat, deps)
    assert await run_tick(deps) == (0, 0)  # nothing due yet
    clock.advance(days=3)  # Thursday: two working days before Monday's deadline
    assert await run_tick(deps) == (1, 0)
    assert await run_tick(deps) == (0, 0)  # never twice
    leads = await outbox_to(deps, "o02-lead")
    _ = gettext_for(deps.config.default_language)  # the lead has no language of their own
    assert [o.kind for o in leads] == ["reminder"]
    assert leads[-1].payload["text"] == _("Reminder: case {ref} — {what} by {when}.").format(
        ref=case.reference, what=_("accept or forward"), when="2026-03-09 23:59")  # Monday's deadline, end of day
    assert not await outbox_to(deps, "o01-lead")  # the conflicted lead is not reminded
    clock.advance(days=1)  # Friday: one working day before
    assert await run_tick(deps) == (1, 0)
    clock.advance(days=4)  # Tuesday after the deadline
    reminders_before = [o for o in await outbox_to(deps, "o02-lead") if o.kind == "reminder"]
    assert await run_tick(deps) == (0, 1)
    after = [o for o in await outbox_to(deps, "o02-lead") if o.kind == "reminder"]
    assert len(after) == len(reminders_before) == 2  # no reminder after the deadline
    assert await run_tick(deps) == (0, 0)  # once per interval
    esc = (await outbox_to(deps, "o03-lead"))[-1].payload["text"]
    assert case.reference in esc and "督办" in esc
    clock.advance(days=1)
    assert await run_tick(deps) == (0, 1)  # the next working day: up to the supervisors
    assert any("督办" in o.payload["text"] for o in await outbox_to(deps, "sup1"))
    async with deps.sessionmaker() as s:
        assert len((await s.scalars(select(Escalation))).all()) == 2


async def test_acceptance_meets_the_deadline_and_stops_everything(chat, staff_chat, deps: Deps, clock) -> None:
    case = await tip_case(chat, deps)
    lead = await staff_chat("o02-lead")
    await lead.send(f"/case {case.reference}")
    await lead.press(N_("Accept (受理)"))
    clock.advance(days=10)
    assert await run_tick(deps) == (0, 0)
    async with deps.sessionmaker() as s:
        d = (await s.scalars(select(Deadline).where(Deadline.kind == "accept"))).one()
        assert d.met_at is not None


async def test_acknowledgement_deadline_reminds_the_member_and_stops_on_签收(chat, staff_chat, deps: Deps, clock) -> None:
    await bind_group(deps, "jg1")
    case = await tip_case(chat, deps)
    lead = await accept_and_confirm_team(staff_chat, case)
    async with deps.sessionmaker() as s:
        acks = (await s.scalars(select(Deadline).where(Deadline.kind == "acknowledge"))).all()
    assert len(acks) == 3
    assert len([d for d in acks if d.met_at is None]) == 2  # the lead who confirmed signed by confirming
    clock.advance(hours=2)
    assert await run_tick(deps) == (0, 0)  # due by the end of tomorrow: nothing yet
    clock.advance(hours=22)
    reminders, _esc = await run_tick(deps)
    assert reminders == 2  # "0 working days before": 09:00 on the day it is due
    async with deps.sessionmaker() as s:
        row = (await s.scalars(select(Outbox).where(Outbox.kind == "reminder"))).first()
    ack_button = row.payload["buttons"][0][0]["data"]
    assert ack_button.startswith("a:ack:")
    # The member acknowledges from the reminder itself: their deadline is met, the others remain.
    from storage.models import ChatIdentity

    async with deps.sessionmaker() as s:
        ident = await s.get(ChatIdentity, row.identity_id)
    from tests.fakes import Chat

    member = Chat(dispatcher=lead.dispatcher, external_id=ident.external_id)
    assert "签收" in (await member.send(None, button=ack_button))[0].text
    clock.advance(days=3)
    _rem, esc = await run_tick(deps)
    assert esc == 1  # only the one who did not acknowledge is overdue


async def test_deadlines_count_the_national_day_holiday(chat, deps: Deps, clock) -> None:
    from datetime import datetime

    clock.set(datetime(2026, 9, 30, 2, 0, tzinfo=UTC))
    case = await tip_case(chat, deps)
    async with deps.sessionmaker() as s:
        d = (await s.scalars(select(Deadline).where(Deadline.case_id == case.id))).one()
    # 1–7 October off; 8, 9, Saturday 10 (a make-up working day), 12 and 13 October count.
    assert d.due_at.astimezone(deps.config.tz).date().isoformat() == "2026-10-13"
