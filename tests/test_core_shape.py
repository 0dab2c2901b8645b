"""The reshaped core: conversations declared as step tables with current diagrams, a deadline
policy that is validated when it loads and is the only source of due dates, and a unit of work
whose missing dependencies fail at construction."""

from __future__ import annotations

from datetime import UTC, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.settings import SettingsError, load_settings
from handlers.app import make_routers
from handlers.bus import Bus, UnknownEvent
from handlers.deps import Deps
from handlers.policy import DEFAULT_POLICY, PolicyError, load_policy
from handlers.router import diagram
from handlers.schedule.ticker import tick
from handlers.uow import MissingDependency, UnitOfWork
from storage.models import AssignmentMember, Case, Deadline, Escalation, Outbox, Staff
from tests.cases.conftest import bind_group, tip_case

DOCS = Path(__file__).resolve().parent.parent / "docs" / "conversations"


def conversations():  # type: ignore[no-untyped-def]
    return [c for r in make_routers() for c in r.conversations.values()]


def test_every_step_has_one_table_entry_and_every_target_exists() -> None:
    convs = conversations()
    assert {c.name for c in convs} >= {"report", "check", "caseinput", "team", "newcase", "intake"}
    for conv in convs:
        members = set(conv.Steps)
        assert set(conv.steps) == members, conv.name
        assert set(conv.entries()) <= members
        for step, spec in conv.steps.items():
            targets = set(spec.goes) | ({spec.back} if spec.back else set())
            assert targets <= members, (conv.name, step)
        # Every step can be reached from where the conversation starts.
        seen, todo = set(conv.entries()), list(conv.entries())
        while todo:
            spec = conv.steps[todo.pop()]
            for t in spec.goes:
                if t not in seen:
                    seen.add(t)
                    todo.append(t)
        assert seen == members, (conv.name, members - seen)


def test_each_state_diagram_is_generated_from_its_table() -> None:
    for conv in conversations():
        path = DOCS / f"{conv.name}.mmd"
        assert path.exists(), f"{path.name} missing: run scripts/diagrams.py"
        assert path.read_text(encoding="utf-8") == diagram(conv), f"{path.name} is stale: run scripts/diagrams.py"


def _policy(tmp_path: Path, old: str, new: str) -> Path:
    text = DEFAULT_POLICY.read_text(encoding="utf-8")
    assert old in text
    p = tmp_path / "policy.toml"
    p.write_text(text.replace(old, new, 1), encoding="utf-8")
    return p


@pytest.mark.parametrize(("old", "new", "named"), [
    ('escalate_to = ["group_lead", "supervisor"]', 'escalate_to = ["group_lead", "superviser"]', "superviser"),
    ('starts = "case:received"', 'starts = "case:recieved"', "case:recieved"),
    ('met_by = ["member:acknowledged"]', 'met_by = ["member:acknowleged"]', "member:acknowleged"),
    ('subject = "member"', 'subject = "membre"', "membre"),
    ('for_roles = ["lead", "member"]', 'for_roles = ["lead", "memebr"]', "memebr"),
    ('until = "accept"', 'until = "acept"', "acept"),
    ('remind = "member"', 'remind = "everyone"', "everyone"),
    ('[kinds.accept]', '[kinds.accept]\nworkng_days = 3', "workng_days"),
])
def test_a_bad_policy_stops_start_up_naming_the_key(tmp_path: Path, old: str, new: str, named: str) -> None:
    path = _policy(tmp_path, old, new)
    with pytest.raises(PolicyError, match=named):
        load_policy(path, load_settings().tz)
    with pytest.raises(SettingsError, match="LIANZU_POLICY_FILE") as err:
        load_settings(policy_file=path)
    assert named in str(err.value)


def test_the_policy_is_the_one_source_of_due_dates(tmp_path: Path) -> None:
    tz = load_settings().tz
    policy = load_policy(_policy(tmp_path, "working_days = 5\n", "working_days = 7\n"), tz)
    from datetime import datetime

    from handlers.workdays import add_working_days, working_days_between
    start = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    assert policy.due("accept", start) == add_working_days(start, 7, tz)
    assert working_days_between(start, policy.due("accept", start), tz) == 7


def test_the_bus_refuses_an_unknown_event_at_registration() -> None:
    async def listener(uow, **kw):  # type: ignore[no-untyped-def]
        pass

    with pytest.raises(UnknownEvent, match="case.transitoin"):
        Bus().listen("case.transitoin", listener)


async def test_a_unit_of_work_without_a_dependency_fails_at_construction(deps: Deps) -> None:
    async with deps.sessionmaker() as s:
        with pytest.raises(MissingDependency, match="config"):
            UnitOfWork(session=s, config=None, sealer=deps.sealer, clock=deps.clock, bus=deps.bus,  # type: ignore[arg-type]
                       policy=deps.policy)
    with pytest.raises(MissingDependency, match="policy"):
        Deps(config=deps.config, sessionmaker=deps.sessionmaker, clock=deps.clock, sealer=deps.sealer,
             bus=deps.bus, policy=None)  # type: ignore[arg-type]


async def test_a_liaison_owes_no_acknowledgement_so_nobody_is_chased_for_it(chat, staff_chat, deps: Deps) -> None:
    """A local liaison's 签收 is not required: no deadline, no reminder, no 督办 to the lead."""
    from handlers.cases import routing, service

    await bind_group(deps, "jg1")
    case = await tip_case(chat, deps)
    async with deps.begin() as uow:
        case = await uow.session.get(Case, case.id)
        sup = await uow.session.scalar(select(Staff).where(Staff.login == "sup1"))
        liaison = await uow.session.scalar(select(Staff).where(Staff.login == "o01-f2"))
        await service.accept(uow, sup, case)
        p = await routing.propose(uow, case)
        await service.confirm_team(uow, sup, case, lead_id=p.lead_id, member_ids=p.member_ids,
                                   liaison_ids=[liaison.id], reason="本地联络员")
    async with deps.sessionmaker() as s:
        members = {m.staff_id: m for m in (await s.scalars(select(AssignmentMember))).all()}
        acks = (await s.scalars(select(Deadline).where(Deadline.kind == "acknowledge"))).all()
        assert {d.member_id for d in acks} == {m.id for sid, m in members.items() if sid != liaison.id}
        assert all(d.subject == "member" for d in acks)
        liaison_notice = (await s.scalars(select(Outbox).where(Outbox.kind == "assignment",
                                                               Outbox.dedupe_key.like(f"assign:%:{members[liaison.id].id}:%")))).one()
    assert not liaison_notice.payload["buttons"]  # nothing to press
    assert "无需签收" in liaison_notice.payload["text"]
    # Everyone else acknowledges; days later nothing about 签收 is overdue or escalated.
    for sid, m in members.items():
        if sid == liaison.id:
            continue
        async with deps.sessionmaker() as s:
            login = (await s.get(Staff, sid)).login
        await (await staff_chat(login)).send(None, button=f"a:ack:{m.id}")
    deps.clock.advance(timedelta(days=10))  # type: ignore[attr-defined]
    async with deps.begin() as uow:
        await tick(uow)
    async with deps.sessionmaker() as s:
        assert (await s.get(Case, case.id)).state == "acknowledged"
        kinds = {e.reason for e in (await s.scalars(select(Escalation))).all()}
    assert not any(k.startswith("acknowledge") for k in kinds)


async def test_the_assignment_notice_shows_the_stored_acknowledgement_deadline(chat, staff_chat, deps: Deps) -> None:
    from tests.cases.conftest import accept_and_confirm_team

    await bind_group(deps, "jg1")
    case = await tip_case(chat, deps)
    await accept_and_confirm_team(staff_chat, case)
    async with deps.sessionmaker() as s:
        notices = (await s.scalars(select(Outbox).where(Outbox.kind == "assignment"))).all()
        assert notices
        for n in notices:
            member_id = int(n.dedupe_key.split(":")[2])
            due = (await s.scalars(select(Deadline).where(Deadline.member_id == member_id,
                                                          Deadline.kind == "acknowledge"))).one().due_at
            local = due.astimezone(deps.config.tz).strftime("%Y-%m-%d %H:%M")
            assert f"签收期限：{local}" in n.payload["text"]
            assert "全组签收后 30 个工作日内" in n.payload["text"]  # the work clock starts at 签收
        assert not (await s.scalars(select(Deadline).where(Deadline.kind == "dispose"))).all()
