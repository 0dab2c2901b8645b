"""Campaign task deadlines come from the policy: the clock reminds the subgroup lead before,
escalates once overdue; the digest counts running campaigns' tasks; ending cancels them."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from handlers.deps import Deps
from handlers.i18n import gettext_for
from handlers.schedule.digest import digest_for
from handlers.schedule.ticker import tick
from storage.models import Deadline, Escalation, Outbox, Staff, Subgroup, SubgroupMember
from tests.campaigns.conftest import create_by_chat

zh = gettext_for("zh_CN")


async def test_task_deadlines_remind_the_subgroup_lead_and_escalate(deps: Deps, staff_chat, clock) -> None:  # type: ignore[no-untyped-def]
    sup = await staff_chat("sup1")
    c = await create_by_chat(sup, deps)
    async with deps.sessionmaker() as s:
        lead_ids = set((await s.scalars(select(SubgroupMember.staff_id).join(Subgroup).where(
            Subgroup.campaign_id == c.id, SubgroupMember.role == "lead"))).all())
    for sid in lead_ids:  # the leads need a chat to be pushed anything
        async with deps.sessionmaker() as s:
            login = await s.scalar(select(Staff.login).where(Staff.id == sid))
        await staff_chat(login)
    await sup.press_value(f"{c.id}.confirm")
    async with deps.sessionmaker() as s:
        deadlines = (await s.scalars(select(Deadline).where(Deadline.subject == "task"))).all()
        assert len(deadlines) == 16 and {d.kind for d in deadlines} == {"campaign_task"}
        due = min(d.due_at for d in deadlines)
        sup_staff = await s.scalar(select(Staff).where(Staff.login == "sup1"))
        assert sup_staff is not None
    async with deps.begin() as uow:
        text = (await digest_for(uow, sup_staff, zh)).text  # type: ignore[union-attr]
    assert zh("Campaign {ref}: {done} of {n} tasks done, {overdue} overdue").format(
        ref=c.reference, done=0, n=16, overdue=0) in text
    clock.set(due - timedelta(hours=1))
    async with deps.begin() as uow:
        assert (await tick(uow)).reminders == 16
    async with deps.sessionmaker() as s:
        reminders = (await s.scalars(select(Outbox).where(Outbox.kind == "reminder"))).all()
        assert reminders and all(c.reference in r.payload["text"] for r in reminders)
        assert len(reminders) == 16  # one lead per task, each with a bound chat
    clock.set(due + timedelta(hours=1))
    async with deps.begin() as uow:
        await tick(uow)
    async with deps.sessionmaker() as s:
        # Nobody acknowledged their notice either: those escalations are test_ack_deadline's.
        assert len((await s.scalars(select(Escalation).join(Deadline, Deadline.id == Escalation.deadline_id)
                                    .where(Deadline.subject == "task"))).all()) == 16
    await sup.send(f"/campaign {c.reference}")
    await sup.press_value(f"{c.id}.end")
    async with deps.sessionmaker() as s:
        assert all(d.cancelled_at is not None for d in (await s.scalars(select(Deadline))).all())
