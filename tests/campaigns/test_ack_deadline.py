"""签收 of a campaign notice has a time limit from the policy (kind campaign_ack): the clock's
minute job reminds the members who have not acknowledged, before the deadline and with the
one-tap button, escalates to the subgroup's lead once it has passed (a lead's own late 签收 goes
to the supervisors), and ending the campaign cancels what is left. Campaign task reminders name
the campaign, the subgroup, the target and the task, never a case."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.scheduler import ClockJobs
from handlers.campaigns.service import TASK_WORDS
from handlers.deps import Deps
from handlers.i18n import gettext_for
from handlers.schedule.ticker import reminder_time
from storage.models import Campaign, CampaignTarget, Deadline, Outbox, Staff, Subgroup, SubgroupMember
from tests.campaigns.conftest import create_by_chat
from tests.cases.conftest import outbox_to

zh = gettext_for("zh_CN")


async def members(deps: Deps, c: Campaign) -> list[tuple[SubgroupMember, str, str, int]]:
    """(member, login, name, subgroup number) of every member."""
    async with deps.sessionmaker() as s:
        rows = (await s.execute(select(SubgroupMember, Staff.login, Staff.name, Subgroup.number)
                                .join(Subgroup, Subgroup.id == SubgroupMember.subgroup_id)
                                .join(Staff, Staff.id == SubgroupMember.staff_id)
                                .where(Subgroup.campaign_id == c.id).order_by(SubgroupMember.id))).tuples().all()
        return [(m, login, name, n) for m, login, name, n in rows]


async def test_unacknowledged_members_are_reminded_then_escalated_to_their_lead(deps: Deps, staff_chat, clock) -> None:  # type: ignore[no-untyped-def]
    clock.advance(hours=5)  # confirmed in the afternoon
    sup = await staff_chat("sup1")
    c = await create_by_chat(sup, deps)
    people = await members(deps, c)
    chats = {login: await staff_chat(login) for _m, login, _n, _g in people}
    await sup.press_value(f"{c.id}.confirm")
    people = await members(deps, c)
    async with deps.sessionmaker() as s:
        ds = {d.id: d for d in (await s.scalars(select(Deadline).where(Deadline.subject == "campaign_member"))).all()}
    assert {d.kind for d in ds.values()} == {"campaign_ack"} and len(ds) == len(people)
    assert all(m.deadline_id in ds for m, *_rest in people)
    due = min(d.due_at for d in ds.values())
    when = due.astimezone(deps.policy.tz).strftime("%Y-%m-%d %H:%M")
    # The notice says by when.
    first, login1, _name1, _g1 = next(p for p in people if p[0].role == "member")
    notice = (await outbox_to(deps, login1))[-1].payload["text"]
    assert zh("Acknowledge by: {ack}").format(ack=when) in notice
    # One member acknowledges in one tap: their deadline is met, nobody reminds them.
    await chats[login1].send(None, button=f"a:cack:{first.id}")  # the notice's button
    async with deps.sessionmaker() as s:
        assert (await s.get(Deadline, first.deadline_id)).met_at is not None  # type: ignore[union-attr]
    before = {login: len(await outbox_to(deps, login)) for login in chats}
    # Before the deadline: the others are reminded, with the button.
    clock.set(due - timedelta(hours=1))
    assert reminder_time(due, 0, _Uow(deps)) <= clock.now()  # type: ignore[arg-type]
    await ClockJobs(deps).minute()
    for m, login, _name, n in people:
        new = (await outbox_to(deps, login))[before[login]:]
        reminders = [o for o in new if o.kind == "reminder"]
        if login == login1:
            assert not reminders
            continue
        assert len(reminders) == 1, login
        assert reminders[0].payload["text"] == zh(
            "Reminder: campaign {ref}, subgroup {n}: please acknowledge your place (签收) by {when}.").format(
            ref=c.reference, n=n, when=when)
        assert f"a:cack:{m.id}" in str(reminders[0].payload)
    # A second minute sends nothing new.
    await ClockJobs(deps).minute()
    async with deps.sessionmaker() as s:
        n_reminders = len((await s.scalars(select(Outbox).where(Outbox.kind == "reminder"))).all())
    assert n_reminders == len(people) - 1
    # After it: each late member's subgroup lead is told, naming them; a late lead goes to the supervisors.
    clock.set(due + timedelta(hours=1))
    await ClockJobs(deps).minute()
    leads = {n: login for m, login, _name, n in people if m.role == "lead"}
    for m, login, name, n in people:
        if login == login1:
            continue
        text = zh("Overdue (督办): {name} has not acknowledged (签收) campaign {ref}, subgroup {n}; it was due "
                  "{when}. Open it with /campaign {ref}.").format(name=name, ref=c.reference, n=n, when=when)
        to = "sup1" if m.role == "lead" else leads[n]
        assert any(o.payload["text"] == text for o in await outbox_to(deps, to)), (login, to)
    assert not any(login1 in str(o.payload) for o in await outbox_to(deps, leads[_g1]) if o.kind == "escalation")
    # Ending the campaign cancels the 签收 deadlines still open.
    await sup.send(f"/campaign {c.reference}")
    await sup.press_value(f"{c.id}.end")
    async with deps.sessionmaker() as s:
        left = (await s.scalars(select(Deadline).where(Deadline.subject == "campaign_member",
                                                       Deadline.met_at.is_(None)))).all()
        assert left and all(d.cancelled_at is not None for d in left)


class _Uow:
    """What :func:`reminder_time` reads: the policy."""

    def __init__(self, deps: Deps) -> None:
        self.policy = deps.policy


async def test_task_reminders_name_the_campaign_subgroup_target_and_task(deps: Deps, staff_chat, clock) -> None:  # type: ignore[no-untyped-def]
    sup = await staff_chat("sup1")
    c = await create_by_chat(sup, deps)
    people = await members(deps, c)
    for _m, login, _n, _g in people:
        await staff_chat(login)
    await sup.press_value(f"{c.id}.confirm")
    async with deps.sessionmaker() as s:
        due = min(d.due_at for d in (await s.scalars(select(Deadline).where(Deadline.subject == "task"))).all())
        sg = (await s.scalars(select(Subgroup).where(Subgroup.campaign_id == c.id).order_by(Subgroup.number))).first()
        assert sg is not None
        target = (await s.scalars(select(CampaignTarget).where(CampaignTarget.subgroup_id == sg.id)
                                  .order_by(CampaignTarget.id))).first()
        assert target is not None
    lead = next(login for m, login, _n, g in people if g == sg.number and m.role == "lead")
    when = due.astimezone(deps.policy.tz).strftime("%Y-%m-%d %H:%M")
    clock.set(due - timedelta(hours=1))
    await ClockJobs(deps).minute()
    texts = [o.payload["text"] for o in await outbox_to(deps, lead) if o.kind == "reminder"]
    for kind, words in TASK_WORDS.items():
        assert zh("Reminder: campaign {ref}, subgroup {n}, {target}: finish the task \"{task}\" by {when}.").format(
            ref=c.reference, n=sg.number, target=target.name, task=zh(words), when=when) in texts, kind
    assert not any("案件" in t for t in texts)
    clock.set(due + timedelta(hours=1))
    await ClockJobs(deps).minute()
    overdue = [o.payload["text"] for o in await outbox_to(deps, lead) if o.kind == "escalation"]
    assert zh("Overdue (督办): campaign {ref}, subgroup {n}, {target}: the task \"{task}\" was due {when}. Open it "
              "with /campaign {ref}.").format(ref=c.reference, n=sg.number, target=target.name,
                                              task=zh(TASK_WORDS["talks_held"]), when=when) in overdue
    assert not any("案件" in t for t in overdue)
