"""Named in the report (issue 12 item 2): a staff member whose name is in an anonymous tip's
people is never told of the case, in figures, lists, words, digests, reminders or escalations,
exactly as /case hides it from them; an organisation import that adds or renames someone to a
name in an open case's people hides it from them too. A control supervisor and a control lead
with no conflict are told, so each silence is the rule at work."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy import delete, insert, select

from bot.app import DEMO_ORG
from bot.scheduler import ClockJobs
from handlers.clock import ManualClock
from handlers.deps import Deps
from storage.models import Case, CaseNamedPending, CaseNamedStaff
from storage.orgfile import StaffIn, import_org, load_org_file
from tests.cases.conftest import bind_group, outbox_to, tip_case
from tests.cases.test_need_to_know_new_paths import counts, made_up, same
from tests.conftest import bind_staff
from tests.fakes import Chat
from tests.schedule.test_need_to_know import texts

ChatMaker = Callable[..., Chat]
StaffChat = Callable[..., Awaitable[Chat]]

SUP1 = "方轩"     # sup1 in the demo organisation
LISTS = ("/status month", "/list", "/list overdue", "逾期的有哪些？", "list overdue cases")
COUNTS = ("本月收到多少件？", "how many received this month")


async def hidden_from(named: Chat, control: Chat, case: Case, other: Case) -> None:
    """``named`` is answered everywhere as if ``case`` did not exist; ``control`` is not."""
    for q in LISTS:
        seen, unseen = control.text(await control.send(q)), named.text(await named.send(q))
        assert case.reference in seen and case.reference not in unseen, (q, seen, unseen)
        assert other.reference in seen and other.reference in unseen, (q, seen, unseen)
    for q in COUNTS:
        seen, unseen = control.text(await control.send(q)), named.text(await named.send(q))
        assert counts(seen) == ["2"] and counts(unseen) == ["1"], (q, seen, unseen)
    seen, unseen = control.text(await control.send("/stats month")), named.text(await named.send("/stats month"))
    assert "受理问题线索 2 件" in seen and "受理问题线索 1 件" in unseen, (seen, unseen)
    fake = made_up(case.reference)
    assert same(await named.send(f"/case {case.reference}"), await named.send(f"/case {fake}"), (case.reference, fake))


async def test_staff_named_in_an_anonymous_tip_hear_nothing_of_it_anywhere(
        chat: ChatMaker, staff_chat: StaffChat, deps: Deps, clock: ManualClock) -> None:
    deps.config.small_count_threshold = 1  # exact counts, to see what each person's figures include
    await bind_group(deps, "jg1")
    for login in ("sup1", "sup2", "admin"):
        await bind_staff(deps, login, f"staff-{login}")
    # About the traffic police (jg1); the reporter names a supervisor (naming one of the group's
    # leads would hand the case up to the supervisors, transfers.auto_up: see the next test).
    case = await tip_case(chat, deps, people=f"{SUP1}，总队科员")
    other = await tip_case(chat, deps, people="李四，科长")
    jobs = ClockJobs(deps)
    start = clock.now()
    while clock.now() < start + timedelta(days=10):  # nobody accepts: reminders, then escalations
        clock.advance(hours=2)
        await jobs.minute()
        if clock.now().astimezone(deps.config.tz).hour == 9:
            await jobs.daily_digest()
    heard = texts(await outbox_to(deps, "sup1"))
    assert not any(case.reference in t for t in heard), heard
    assert any(other.reference in t and "督办" in t for t in heard), heard
    sup2, lead2 = texts(await outbox_to(deps, "sup2")), texts(await outbox_to(deps, "o02-lead"))
    assert any(case.reference in t and "督办" in t for t in sup2)  # the escalation, to the control supervisor
    assert any(case.reference in t for t in lead2), (case.reference, lead2)
    digest1 = [r.payload["text"] for r in await outbox_to(deps, "sup1") if r.kind == "digest"]
    digest2 = [r.payload["text"] for r in await outbox_to(deps, "sup2") if r.kind == "digest"]
    assert "当前超期：1" in digest1[-1] and "当前超期：2" in digest2[-1], (digest1[-1], digest2[-1])
    await hidden_from(await staff_chat("sup1"), await staff_chat("sup2"), case, other)


async def import_with(deps: Deps, clock: ManualClock, *people: StaffIn, rename: dict[str, str] | None = None) -> None:
    org = load_org_file(DEMO_ORG)
    for s in org.staff:
        s.name = (rename or {}).get(s.login, s.name)
    org.staff += list(people)
    async with deps.sessionmaker() as s, s.begin():
        await import_org(s, org, now=clock.now())


async def test_an_import_adding_or_renaming_staff_to_a_name_in_an_open_case_hides_it_from_them(
        chat: ChatMaker, staff_chat: StaffChat, deps: Deps, clock: ManualClock) -> None:
    deps.config.small_count_threshold = 1
    case = await tip_case(chat, deps, people="鲁新华，总队政治部主任")
    other = await tip_case(chat, deps, people=None)
    clock.advance(days=10)
    newcomer = StaffIn.model_validate({"login": "sup-new", "name": "鲁新华", "home_region": "prov",
                                       "roles": ["supervisor"]})
    await import_with(deps, clock, newcomer)
    await hidden_from(await staff_chat("sup-new"), await staff_chat("sup2"), case, other)
    # sup3 takes a name in the report (a correction in the file), then gives it up again.
    sup3 = await staff_chat("sup3")
    assert case.reference in sup3.text(await sup3.send("/list"))
    await import_with(deps, clock, newcomer, rename={"sup3": "新华"})
    await hidden_from(sup3, await staff_chat("sup2"), case, other)
    await import_with(deps, clock, newcomer, rename={"sup3": "杜燕"})
    assert case.reference in sup3.text(await sup3.send("/list"))
    assert case.reference in sup3.text(await sup3.send(f"/case {case.reference}"))
    # A lead of the case's joint group renamed to the name: their group's lists and figures
    # leave it out, the other leads' do not.
    await import_with(deps, clock, newcomer, rename={"o03-lead": "鲁新华"})
    await hidden_from(await staff_chat("o03-lead"), await staff_chat("o02-lead"), case, other)


async def test_cases_from_before_the_table_are_matched_by_the_first_check_after_the_upgrade(
        chat: ChatMaker, staff_chat: StaffChat, deps: Deps, clock: ManualClock) -> None:
    """The migration cannot open tips (no keys): it lists every case with people as pending, and
    the first access check matches them. Here the table is emptied as on an upgraded database."""
    deps.config.small_count_threshold = 1
    case = await tip_case(chat, deps, people=f"{SUP1}")
    other = await tip_case(chat, deps, people=None)
    async with deps.sessionmaker() as s, s.begin():
        assert (await s.scalars(select(CaseNamedStaff.case_id))).all() == [case.id]
        await s.execute(delete(CaseNamedStaff))
        await s.execute(insert(CaseNamedPending), [{"case_id": case.id}])
    clock.advance(days=10)
    await hidden_from(await staff_chat("sup1"), await staff_chat("sup2"), case, other)
    async with deps.sessionmaker() as s:
        assert not (await s.scalars(select(CaseNamedPending.case_id))).all()
