"""Words that are understood: what people type instead of a command, in both languages, is
answered as the command would be, with the same figures and the same access rules; near-misses
are not taken for something they are not. Every phrasing listed in docs/intents.md is here."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from handlers.deps import Deps
from handlers.intents.grammar import Intent, chinese_number, parse, period_spec
from storage.models import Case, Deadline, Unit
from tests.schedule.test_figures import make_cases

TODAY = date(2026, 3, 20)
NOW = datetime(2026, 3, 20, 2, 0, tzinfo=UTC)  # Friday 10:00 in Beijing

REPORT = ["你好，我想举报", "我要举报", "我想匿名举报", "我想实名举报", "怎么举报", "我要反映问题", "举报", "检举",
          "I want to report", "I'd like to report", "I would like to make a report", "how do I report",
          "report a problem", "I need to blow the whistle"]
CHECK = ["我要查询回执", "查回执", "查询我的举报", "我的举报进展怎么样", "查一下进度",
         "check my receipt", "I have a receipt", "check on my report", "status of my report"]
FIGURES = [
    ("本月办结了多少件？", Intent("figures", period="month", states=frozenset({"concluded"}))),
    ("本周逾期未签收的有哪些？", Intent("figures", period="week", states=frozenset({"overdue", "unacknowledged"}), listing=True)),
    ("第三联组今年受理多少？", Intent("figures", period="year", group=3, states=frozenset({"accepted"}))),
    ("今天收到多少件", Intent("figures", period="today", states=frozenset({"received"}))),
    ("上个月受理了几件", Intent("figures", period="last_month", states=frozenset({"accepted"}))),
    ("上周办结多少", Intent("figures", period="last_week", states=frozenset({"concluded"}))),
    ("去年办结多少件", Intent("figures", period="last_year", states=frozenset({"concluded"}))),
    ("2026年3月5日受理了几件", Intent("figures", period="2026-03-05", states=frozenset({"accepted"}))),
    ("3月5日受理了几件", Intent("figures", period="2026-03-05", states=frozenset({"accepted"}))),
    ("第3联组本月逾期的有哪些", Intent("figures", period="month", group=3, states=frozenset({"overdue"}), listing=True)),
    ("政法联组今年办结多少", Intent("figures", period="year", group_name="政法联组", states=frozenset({"concluded"}))),
    ("未签收的有哪些", Intent("figures", states=frozenset({"unacknowledged"}), listing=True)),
    ("How many cases were concluded this month?", Intent("figures", period="month", states=frozenset({"concluded"}))),
    ("Which cases are overdue and not yet acknowledged this week?",
     Intent("figures", period="week", states=frozenset({"overdue", "unacknowledged"}), listing=True)),
    ("How many did joint group 3 accept this year?", Intent("figures", period="year", group=3, states=frozenset({"accepted"}))),
    ("How many cases did the third group accept this year?",
     Intent("figures", period="year", group=3, states=frozenset({"accepted"}))),
    ("how many received today", Intent("figures", period="today", states=frozenset({"received"}))),
    ("how many concluded last month", Intent("figures", period="last_month", states=frozenset({"concluded"}))),
    ("list overdue cases", Intent("figures", states=frozenset({"overdue"}), listing=True)),
    ("How many accepted on 2026-03-05?", Intent("figures", period="2026-03-05", states=frozenset({"accepted"}))),
]
SUGGEST = [("我想看统计", "stats"), ("统计报表", "stats"), ("工作概况", "status"), ("怎么切换语言", "lang"),
           ("删除记录", "forget"), ("取消", "cancel"), ("你能做什么功能", "help"),
           ("statistics please", "stats"), ("status overview", "status"), ("switch to English", "lang"),
           ("what can you do", "help"), ("forget me", "forget"),
           ("第三联组的数据", "stats"), ("how many this month", "stats")]
# Near-misses: they mention the words, but do not ask for these things.
NOTHING = ["我不想举报了", "不要举报", "举报人补充", "被举报人是谁我不知道", "今天天气不错", "他已经办结了", "第三联组",
           "谢谢", "好的", "reporter", "I don't want to report anything", "the case was closed", "accepted",
           "hello", "thanks", "本月", "逾期", "group 3", ""]


@pytest.mark.parametrize("text", REPORT)
def test_wanting_to_report_is_understood(text: str) -> None:
    assert parse(text, TODAY) == Intent("report")


@pytest.mark.parametrize("text", CHECK)
def test_wanting_to_check_is_understood(text: str) -> None:
    assert parse(text, TODAY) == Intent("check")


@pytest.mark.parametrize(("text", "intent"), FIGURES)
def test_figure_questions_are_read_with_their_slots(text: str, intent: Intent) -> None:
    assert parse(text, TODAY) == intent


@pytest.mark.parametrize(("text", "command"), SUGGEST)
def test_the_closest_command_is_found(text: str, command: str) -> None:
    assert parse(text, TODAY) == Intent("suggest", command=command)


@pytest.mark.parametrize("text", NOTHING)
def test_near_misses_are_not_taken_for_an_intent(text: str) -> None:
    assert parse(text, TODAY) is None


def test_numbers_and_periods() -> None:
    assert [chinese_number(t) for t in ("三", "十", "十二", "二十", "二十三", "3", "两", "三三", "百")] == [
        3, 10, 12, 20, 23, 3, 2, None, None]
    assert period_spec("last_month", TODAY) == "2026-02" and period_spec("last_year", TODAY) == "2025"
    assert period_spec("last_week", TODAY) == "2026-03-09 2026-03-15"
    assert period_spec("2026-03-05", TODAY) == "2026-03-05 2026-03-05" and period_spec("week", TODAY) == "week"
    assert parse("2026年2月30日受理了几件", TODAY) == Intent("figures", states=frozenset({"accepted"}))


# -- through the chat ---------------------------------------------------------------------

@pytest.mark.parametrize(("lang", "text", "expected"), [
    ("zh", "你好，我想举报", "第1步"), ("en", "I want to report", "Step 1 of 6"),
    ("zh", "举报", "第1步"), ("en", "how do I report", "Step 1 of 6"),
])
async def test_saying_you_want_to_report_starts_the_wizard(chat, lang: str, text: str, expected: str) -> None:
    c = chat()
    await c.send(f"/lang {lang}")
    await c.send(text)
    assert expected in c.last


@pytest.mark.parametrize(("lang", "text"), [("zh", "我要查询回执"), ("en", "check my receipt")])
async def test_asking_for_the_receipt_check_starts_check(chat, lang: str, text: str) -> None:
    typed, said = chat("typed"), chat("said")
    for c in (typed, said):
        await c.send(f"/lang {lang}")
    await typed.send("/check")
    await said.send(text)
    assert said.last == typed.last
    assert said.buttons() == typed.buttons()


async def test_a_near_miss_gets_the_usual_answer_and_starts_nothing(chat) -> None:
    c = chat()
    await c.send("/lang zh")
    await c.send("我不想举报了")
    assert "没有理解您的意思" in c.last and "第1步" not in c.last


async def _march(deps: Deps, clock) -> dict[str, str]:
    """11 cases at the finance department (group 2) in March, 4 concluded; 5 accepted at the
    agriculture department (group 3); three 签收 deadlines on group-2 cases: overdue this week,
    overdue last week, and due tomorrow."""
    clock.set(NOW)
    march = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
    await make_cases(deps, march, 11, conclude=4)
    await make_cases(deps, march, 5, unit_code="u19")
    refs = {}
    async with deps.begin() as uow:
        s = uow.session
        unit = await s.scalar(select(Unit).where(Unit.code == "u09"))
        cases = (await s.scalars(select(Case).where(Case.unit_id == unit.id, Case.concluded_at.is_(None))
                                 .order_by(Case.id))).all()
        for case, due, name in zip(cases, (datetime(2026, 3, 17, 2, tzinfo=UTC), datetime(2026, 3, 12, 2, tzinfo=UTC),
                                           datetime(2026, 3, 21, 2, tzinfo=UTC)), ("this_week", "last_week", "tomorrow"),
                                   strict=False):
            s.add(Deadline(subject="member", case_id=case.id, kind="acknowledge", due_at=due, created_at=march))
            refs[name] = case.reference
    return refs


async def test_a_supervisor_is_answered_from_the_same_figures_as_status(staff_chat, deps: Deps, clock) -> None:
    refs = await _march(deps, clock)
    sup = await staff_chat("sup1")
    await sup.send("/lang zh")
    await sup.send("/status month")
    assert "办结：4" in sup.last and "受理：16" in sup.last
    await sup.send("本月办结了多少件？")
    assert sup.last == "本月办结 4 件。"
    await sup.send("第三联组今年受理多少？")
    assert sup.last == "第三联组（农业资源）今年受理 5 件。"
    await sup.send("本周逾期未签收的有哪些？")
    assert sup.last.splitlines() == ["本周到期的时限：", "逾期未签收：1 件", f"案件：{refs['this_week']}"]
    await sup.send("逾期未签收的有哪些")
    assert refs["this_week"] in sup.last and refs["last_week"] in sup.last and refs["tomorrow"] not in sup.last
    await sup.send("未签收的有哪些")
    assert "未签收：3 件" in sup.last
    await sup.send("上个月受理了几件")
    assert sup.last == "上月受理 0 件。"
    await sup.send("上周办结多少")
    assert sup.last == "上周办结 4 件。"
    await sup.send("3月10日受理了几件")
    assert sup.last == "2026年3月10日受理 16 件。"
    await sup.send("政法联组今年办结多少")
    assert sup.last == "第一联组（政法）今年办结 0 件。"


async def test_an_english_supervisor_is_answered_in_english_with_english_group_names(staff_chat, deps: Deps, clock) -> None:
    refs = await _march(deps, clock)
    sup = await staff_chat("sup2")
    await sup.send("/lang en")
    await sup.send("How many cases were concluded this month?")
    assert sup.last == "Cases concluded this month: 4."
    await sup.send("How many did joint group 3 accept this year?")
    assert sup.last == "Joint Group 3 (Agriculture and Resources), cases accepted this year: 5."
    await sup.send("Which cases are overdue and not yet acknowledged this week?")
    assert sup.last.splitlines() == ["Deadlines falling this week:", "Overdue and not yet acknowledged: 1",
                                     f"Cases: {refs['this_week']}"]
    await sup.send("how many concluded last week")
    assert sup.last == "Cases concluded last week: 4."
    await sup.send("How many accepted on 2026-03-10?")
    assert sup.last == "Cases accepted on 2026-03-10: 16."


async def test_small_counts_are_masked_as_in_stats(staff_chat, deps: Deps, clock) -> None:
    clock.set(NOW)
    await make_cases(deps, datetime(2026, 3, 10, 2, 0, tzinfo=UTC), 2, conclude=2)
    sup = await staff_chat("sup1")
    await sup.send("/lang zh")
    await sup.send("本月办结了多少件？")
    assert sup.last == "本月办结 <3 件。"


@pytest.mark.parametrize("who", ["o02-f1", None])
async def test_a_field_officer_or_a_reporter_asking_gets_no_figures(staff_chat, chat, deps: Deps, clock, who) -> None:
    await _march(deps, clock)
    c = await staff_chat(who) if who else chat()
    await c.send("/lang zh")
    for question in ("本月办结了多少件？", "第三联组今年受理多少？", "本周逾期未签收的有哪些？"):
        await c.send(question)
        assert "没有理解您的意思" in c.last and not any(ch.isdigit() for ch in c.last)


async def test_a_lead_sees_their_own_group_only(staff_chat, deps: Deps, clock) -> None:
    await _march(deps, clock)
    own = await staff_chat("o20-lead")  # group 3
    await own.send("/lang zh")
    await own.send("第三联组今年受理多少？")
    assert own.last == "第三联组（农业资源）今年受理 5 件。"
    other = await staff_chat("o01-lead")  # group 1
    await other.send("/lang zh")
    await other.send("第三联组今年受理多少？")
    assert other.last == "您只能查看本联组的数据，未作任何更改。"
    await other.send("第九联组今年受理多少？")
    assert "没有找到与您输入相符的联组" in other.last


async def test_the_closest_command_is_offered_as_a_button_when_allowed(staff_chat, chat) -> None:
    sup = await staff_chat("sup1")
    await sup.send("/lang zh")
    await sup.send("我想看统计")
    assert "最接近的命令是 /stats" in sup.last and sup.button_values() == ["stats"]
    reporter = chat()
    await reporter.send("/lang zh")
    await reporter.send("我想看统计")  # /stats is not theirs: the usual answer
    assert "没有理解您的意思" in reporter.last and "/stats" not in reporter.last
    await reporter.send("怎么切换语言")
    assert "最接近的命令是 /lang" in reporter.last


async def test_text_inside_a_conversation_is_not_taken_for_an_intent(chat) -> None:
    c = chat()
    await c.send("/lang zh")
    await c.send("/report")
    await c.send("我要查询回执")  # what the unit is called, as far as the wizard knows
    assert "第2步" in c.last  # the wizard took it as what the report is about


async def test_wanting_to_report_with_details_starts_the_wizard_and_stores_nothing_typed(chat, deps: Deps) -> None:
    from storage.models import Tip

    c = chat()
    await c.send("/lang zh")
    await c.send("我要举报某局长受贿")
    assert "第1步" in c.last
    async with deps.sessionmaker() as s:
        assert (await s.scalars(select(Tip))).first() is None
