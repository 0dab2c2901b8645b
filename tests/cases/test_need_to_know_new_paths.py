"""Need-to-know on the newer paths (issue 12 items 2 and 3): free-text figure questions, the
charts of /stats and the digest, joint case units (室组地联动) on /list, the card and the history.
A person with a conflict on a case, declared from the chat and still waiting for an
administrator, is never told its reference nor counted it, and is answered byte for byte as if
the case did not exist. A second supervisor with no conflict asks the same, so each silence below
is the rule at work and not an empty database."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import DEMO_ORG
from handlers.clock import ManualClock
from handlers.deps import Deps
from handlers.events import Reply
from handlers.i18n import N_
from handlers.schedule import commands as schedule_commands
from handlers.schedule import digest
from handlers.schedule.chart import Chart
from storage.models import Case, ConflictDeclaration, Staff
from tests.campaigns.test_joint_units import load as load_joint_unit
from tests.cases.conftest import accept_and_confirm_team, press_data, team_of, tip_case
from tests.fakes import Chat

JOINT = "东州片区室组地联动"
ChatMaker = Callable[..., Chat]
StaffChat = Callable[..., Awaitable[Chat]]


def made_up(ref: str) -> str:
    """A reference of the same shape as ``ref`` that no case has."""
    m = re.search(r"(\d+)$", ref)
    assert m, ref
    return ref[:m.start()] + "9" * len(m[1])


def counts(text: str) -> list[str]:
    return re.findall(r"\d+", re.sub(r"LZ\d{4}-\d+", "", text))


def same(a: list[Reply], b: list[Reply], typed: tuple[str, str] | None = None) -> bool:
    """Byte-identical answers; ``typed`` (real, made up): the reference each question typed, which
    the answer may echo back."""
    dumps = [[r.model_dump_json() for r in x] for x in (a, b)]
    if typed is not None:
        dumps[0] = [d.replace(typed[0], typed[1]) for d in dumps[0]]
    return dumps[0] == dumps[1]


async def declare_unit_in_chat(c: Chat, unit_part: str) -> None:
    """/conflict with a unit, as on a phone; the declaration stays pending (nobody decides it)."""
    await c.send("/conflict")
    await c.press(N_("A unit"))
    await c.send(unit_part)
    await c.press_value(c.button_values()[0])
    await c.press(N_("a close relative (近亲属)"))
    await c.send("近亲属在该单位任职。")


async def step_aside_in_chat(c: Chat, case: Case) -> None:
    await c.send(f"/case {case.reference}")
    await c.press(N_("I need to step aside (我需要回避)"))
    await c.send("与被反映人系同学关系。")


async def pending(deps: Deps, login: str) -> list[ConflictDeclaration]:
    async with deps.sessionmaker() as s:
        rows = list((await s.scalars(select(ConflictDeclaration).join(Staff, Staff.id == ConflictDeclaration.staff_id)
                                     .where(Staff.login == login))).all())
    assert rows and all(d.status == "pending" for d in rows), rows
    return rows


async def two_overdue_cases(chat: ChatMaker, deps: Deps, clock: ManualClock) -> tuple[Case, Case]:
    """A case about 省司法厅 (a unit in 东州市) and one about the traffic police, both overdue."""
    deps.config.small_count_threshold = 1  # exact counts, to see what each person's figures include
    dz = await tip_case(chat, deps, unit="司法厅", people=None)
    other = await tip_case(chat, deps, unit="交通警察", people=None)
    clock.advance(days=10)
    return dz, other


FIGURE_QUESTIONS = ("东州市有哪些逾期案件", "逾期的有哪些？", "list overdue cases", "how many cases are overdue",
                    "本月收到多少件？", "how many received this month", "今年新增了几件")


async def test_figure_questions_in_words_leave_out_a_case_under_a_pending_unit_conflict(
        chat: ChatMaker, staff_chat: StaffChat, deps: Deps, clock: ManualClock) -> None:
    dz, other = await two_overdue_cases(chat, deps, clock)
    sup1, sup2 = await staff_chat("sup1"), await staff_chat("sup2")
    before = {q: sup1.text(await sup1.send(q)) for q in FIGURE_QUESTIONS}
    await declare_unit_in_chat(sup1, "司法厅")
    await pending(deps, "sup1")
    for q in FIGURE_QUESTIONS:
        seen, unseen = sup2.text(await sup2.send(q)), sup1.text(await sup1.send(q))
        assert seen == before[q], q  # the same question and figures, but for the declaration
        assert unseen != seen, (q, unseen)
        assert dz.reference not in unseen, (q, unseen)
        if "逾期" in q or "overdue" in q:
            assert dz.reference in seen and other.reference in seen and other.reference in unseen, (q, seen, unseen)
        # Counted 2, then 1 (the references taken out, the digits left are the counts).
        assert counts(seen) == ["2"] and counts(unseen) == ["1"], (q, seen, unseen)


REFERENCE_QUESTIONS = ("show case {ref}", "案件{ref}逾期了吗", "{ref}有哪些逾期", "how many overdue cases like {ref}",
                       "{ref}", "查一下{ref}")


async def test_a_hidden_reference_and_a_made_up_one_get_the_same_answer_in_words(
        chat: ChatMaker, staff_chat: StaffChat, deps: Deps, clock: ManualClock) -> None:
    dz, _other = await two_overdue_cases(chat, deps, clock)
    sup1 = await staff_chat("sup1")
    await declare_unit_in_chat(sup1, "司法厅")
    fake = made_up(dz.reference)
    for q in REFERENCE_QUESTIONS:
        real_answer = await sup1.send(q.format(ref=dz.reference))
        assert same(real_answer, await sup1.send(q.format(ref=fake)), (dz.reference, fake)), q
    assert same(await sup1.send(f"/case {dz.reference}"), await sup1.send(f"/case {fake}"), (dz.reference, fake))


class Drawn:
    """The charts handed to the renderer, by the person they were drawn for."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.charts: dict[str, list[Chart]] = {}
        self.who = ""
        for module in (digest, schedule_commands):
            monkeypatch.setattr(module, "render", self.render)
        original = digest.digest_for

        async def digest_for(uow: Any, staff: Staff, *args: Any) -> Reply | None:
            self.who = staff.login
            return await original(uow, staff, *args)

        monkeypatch.setattr(digest, "digest_for", digest_for)

    async def render(self, chart: Chart) -> bytes:
        self.charts.setdefault(self.who, []).append(chart)
        return b"\x89PNG"


def bar_totals(chart: Chart) -> dict[str, int]:
    """What each series of a chart adds up to (exact here: the threshold is 1)."""
    assert not chart.masked
    return {s.label: sum(int(b.label) for b in s.bars) for s in chart.series}


def flow_received(chart: Chart) -> int:
    """The flow chart's first bar: received in the period."""
    assert not chart.masked
    return int(chart.series[0].bars[0].label)


async def test_charts_of_stats_and_the_digest_leave_out_a_case_under_a_pending_unit_conflict(
        chat: ChatMaker, staff_chat: StaffChat, deps: Deps, clock: ManualClock, monkeypatch: pytest.MonkeyPatch) -> None:
    drawn = Drawn(monkeypatch)
    await two_overdue_cases(chat, deps, clock)
    sup1, sup2 = await staff_chat("sup1"), await staff_chat("sup2")
    await declare_unit_in_chat(sup1, "司法厅")
    for c in (sup1, sup2):
        drawn.who = c.external_id
        await c.send("/stats month chart")
    [flow1], [flow2] = drawn.charts.pop("staff-sup1"), drawn.charts.pop("staff-sup2")
    assert flow_received(flow2) == 2 and flow_received(flow1) == 1
    async with deps.begin() as uow:
        await digest.send_digests(uow)
    (intake1, dflow1), (intake2, dflow2) = drawn.charts["sup1"], drawn.charts["sup2"]
    received = intake1.series[0].label
    assert bar_totals(intake2)[received] == 2 and bar_totals(intake1)[received] == 1
    assert flow_received(dflow2) == 2 and flow_received(dflow1) == 1


async def test_a_team_lead_who_steps_aside_is_no_longer_told_of_the_case_anywhere(
        chat: ChatMaker, staff_chat: StaffChat, deps: Deps, clock: ManualClock, monkeypatch: pytest.MonkeyPatch) -> None:
    """"我需要回避" on a case is a pending declaration about that case alone: the group lead who
    made it keeps the group's figures, lists and charts, without the case."""
    drawn = Drawn(monkeypatch)
    deps.config.small_count_threshold = 1
    case = await tip_case(chat, deps, people=None)  # about the traffic police: supervisors see it
    await accept_and_confirm_team(staff_chat, case)
    lead_login = next(login for login, m in (await team_of(deps, case)).items() if m.role == "lead")
    lead, control = await staff_chat(lead_login), await staff_chat("sup2")
    clock.advance(days=10)  # the members' 签收 is overdue
    questions = ("/status month", "/list", "/list overdue", "逾期的有哪些？", "未签收的有哪些", "本月收到多少件？")
    before = {q: lead.text(await lead.send(q)) for q in questions}
    assert all(case.reference in t for q, t in before.items() if "多少" not in q), before
    await step_aside_in_chat(lead, case)
    [decl] = await pending(deps, lead_login)
    assert decl.case_id == case.id
    for q in questions:
        seen, unseen = control.text(await control.send(q)), lead.text(await lead.send(q))
        if "多少" in q:
            assert counts(before[q]) == counts(seen) == ["1"] and counts(unseen) == ["0"], (q, seen, unseen)
        else:
            assert case.reference in seen and case.reference not in unseen, (q, seen, unseen)
    fake = made_up(case.reference)
    assert same(await lead.send(f"/case {case.reference}"), await lead.send(f"/case {fake}"), (case.reference, fake))
    for c in (lead, control):
        drawn.who = c.external_id
        await c.send("/stats month chart")
    [mine], [theirs] = drawn.charts[lead.external_id], drawn.charts[control.external_id]
    assert flow_received(theirs) == 1 and flow_received(mine) == 0
    async with deps.begin() as uow:
        await digest.send_digests(uow)
    intake = drawn.charts[lead_login][0]
    assert bar_totals(intake)[intake.series[0].label] == 0
    assert bar_totals(drawn.charts["sup2"][0])[intake.series[0].label] == 1


async def given_to_the_joint_unit(chat: ChatMaker, staff_chat: StaffChat, deps: Deps) -> tuple[Case, Case]:
    await load_joint_unit(deps)
    given = await tip_case(chat, deps, unit="司法厅", people=None)
    other = await tip_case(chat, deps, unit="交通警察", people=None)
    for case in (given, other):
        await accept_and_confirm_team(staff_chat, case)
    return given, other


async def hears_nothing_of(c: Chat, case: Case) -> None:
    """/list joint:CODE, /list, the card and the history say nothing of the case, exactly as
    for a joint unit or a case that does not exist."""
    assert same(await c.send("/list joint:ju-dz"), await c.send("/list joint:NOSUCH"))
    everything = c.text(await c.send("/list"))
    assert case.reference not in everything and JOINT not in everything
    assert case.reference not in c.text(await c.send("/my"))
    fake = made_up(case.reference)
    assert same(await c.send(f"/case {case.reference}"), await c.send(f"/case {fake}"), (case.reference, fake))
    assert same(await press_data(c, f"a:case:{case.id}.history"), await press_data(c, "a:case:999999.history"))
    assert same(await press_data(c, f"a:case:{case.id}.view"), await press_data(c, "a:case:999999.view"))


async def test_joint_unit_cases_are_hidden_from_a_supervisor_with_a_pending_unit_conflict(
        chat: ChatMaker, staff_chat: StaffChat, deps: Deps) -> None:
    given, other = await given_to_the_joint_unit(chat, staff_chat, deps)
    sup1, sup2 = await staff_chat("sup1"), await staff_chat("sup2")
    listed = sup2.text(await sup2.send("/list joint:ju-dz"))
    assert given.reference in listed and other.reference not in listed  # what may be seen of it
    assert JOINT in sup2.text(await sup2.send(f"/case {given.reference}"))
    assert sup1.text(await sup1.send("/list joint:ju-dz")) == listed
    await declare_unit_in_chat(sup1, "司法厅")
    await pending(deps, "sup1")
    await hears_nothing_of(sup1, given)
    assert other.reference in sup1.text(await sup1.send("/list"))


async def test_joint_unit_cases_are_hidden_from_a_member_body_lead_who_steps_aside(
        chat: ChatMaker, staff_chat: StaffChat, deps: Deps) -> None:
    """The lead drawn from the leading body (the commission office, 室) steps aside: the joint
    unit's case leaves their lists, card and history."""
    given, _other = await given_to_the_joint_unit(chat, staff_chat, deps)
    room = await staff_chat("s3-lead")
    assert given.reference in room.text(await room.send(f"/case {given.reference}"))
    await step_aside_in_chat(room, given)
    [decl] = await pending(deps, "s3-lead")
    assert decl.case_id == given.id
    await hears_nothing_of(room, given)


async def test_a_lead_who_moved_out_of_the_office_stationed_at_the_unit_is_not_told_of_its_cases(
        chat: ChatMaker, staff_chat: StaffChat, deps: Deps, clock: ManualClock) -> None:
    """Having sat inside the unit is a conflict after an office transfer (as on /case): the lead
    of the office at the traffic police moves to another office of the same joint group, and its
    figures, lists and words still leave the traffic police's cases out."""
    from storage.orgfile import import_org, load_org_file

    org = load_org_file(DEMO_ORG)
    next(s for s in org.staff if s.login == "o01-lead").office = "o02"
    async with deps.sessionmaker() as s, s.begin():
        await import_org(s, org, now=clock.now())
    case = await tip_case(chat, deps, people=None)  # about the traffic police (u01), joint group 1
    clock.advance(days=10)
    mover, control = await staff_chat("o01-lead"), await staff_chat("o03-lead")
    fake = made_up(case.reference)
    assert same(await mover.send(f"/case {case.reference}"), await mover.send(f"/case {fake}"), (case.reference, fake))
    for q in ("/status month", "/list", "逾期的有哪些？", "list overdue cases"):
        seen, unseen = control.text(await control.send(q)), mover.text(await mover.send(q))
        assert case.reference in seen and case.reference not in unseen, (q, seen, unseen)


async def declare_person_in_chat(c: Chat, name: str) -> None:
    """/conflict with a person, as on a phone; the declaration stays pending."""
    await c.send("/conflict")
    await c.press(N_("A person"))
    await c.send(name)
    await c.press(N_("a close relative (近亲属)"))
    await c.send("系本人表兄。")


async def test_a_person_conflict_declared_after_the_case_opened_hides_it_until_refused(
        chat: ChatMaker, staff_chat: StaffChat, deps: Deps, clock: ManualClock) -> None:
    """A declared person conflict is matched against the cases once, when it is declared (the
    case here was opened before it), and read by /case, /status, /stats, /list and the reminders
    alike; once an administrator refuses it, the case is back."""
    from tests.cases.conftest import bind_group, outbox_to
    from tests.schedule.test_deadlines import run_tick

    await bind_group(deps, "jg1")
    deps.config.small_count_threshold = 1
    named = await tip_case(chat, deps, people="张某，副总队长")  # about the traffic police
    other = await tip_case(chat, deps, people="李某")
    sup1, control, lead = await staff_chat("sup1"), await staff_chat("sup2"), await staff_chat("o02-lead")
    questions = ("/status month", "/list", "逾期的有哪些？", "/stats month", "本月收到多少件？")
    before = {q: sup1.text(await sup1.send(q)) for q in questions}
    await declare_person_in_chat(sup1, "张某")
    await declare_person_in_chat(lead, "张某")
    [decl] = await pending(deps, "sup1")
    clock.advance(days=10)  # both cases' acceptance is overdue
    after = {q: sup1.text(await sup1.send(q)) for q in questions}
    for q in questions:
        seen, unseen = control.text(await control.send(q)), sup1.text(await sup1.send(q))
        assert named.reference not in unseen, (q, unseen)
        if "多少" in q or "stats" in q:
            assert counts(seen) != counts(unseen), (q, seen, unseen)  # counted without it
        else:
            assert named.reference in seen and other.reference in seen and other.reference in unseen, (q, seen, unseen)
    fake = made_up(named.reference)
    assert same(await sup1.send(f"/case {named.reference}"), await sup1.send(f"/case {fake}"), (named.reference, fake))
    clock.advance(days=-7)  # back before the deadline: reminders go out
    await run_tick(deps)
    reminded = " ".join(o.payload["text"] for o in await outbox_to(deps, "o02-lead") if o.kind == "reminder")
    assert other.reference in reminded and named.reference not in reminded
    admin = await staff_chat("admin")
    await press_data(admin, f"a:conflict:{decl.id}.no")
    await admin.send("与被反映人同名，并非同一人。")
    clock.advance(days=7)
    for q in questions:  # refused: sup1 sees and counts the case again
        assert sup1.text(await sup1.send(q)) == control.text(await control.send(q)), q
    assert before != after


async def test_figures_open_no_tip_for_a_person_with_a_declared_person_conflict(
        chat: ChatMaker, staff_chat: StaffChat, deps: Deps, monkeypatch: pytest.MonkeyPatch) -> None:
    """The declaration is matched once; after that the figures read the matches: a person with a
    declared person conflict opens no more reports for /status, /stats or the digest than one
    without, however many reports there are."""
    for _ in range(3):
        await tip_case(chat, deps, people="张某，副总队长")
    sup1, sup2 = await staff_chat("sup1"), await staff_chat("sup2")
    await declare_person_in_chat(sup1, "张某")
    await sup1.send("/list")  # the first check after the declaration matches it
    opened: list[str] = []
    real = deps.sealer.open_text

    def open_text(key_id: str, blob: bytes) -> str:
        opened.append(key_id)
        return real(key_id, blob)

    monkeypatch.setattr(deps.sealer, "open_text", open_text)
    for q in ("/status month", "/stats month", "逾期的有哪些？"):
        counted = []
        for c in (sup1, sup2):
            opened.clear()
            await c.send(q)
            counted.append(len(opened))
        assert counted[0] <= counted[1], (q, counted)
