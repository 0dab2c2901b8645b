"""Chinese reads as a native speaker writes it: full-width punctuation, the right measure words,
one format for lists, no command syntax on buttons, no raw English period names."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.pofile import read_po

from handlers.deps import Deps
from tests.cases.conftest import accept_and_confirm_team, tip_case
from tests.schedule.test_figures import make_cases

LOCALE = Path(__file__).resolve().parent.parent / "handlers" / "locale" / "zh_CN" / "LC_MESSAGES"
HAN = r"[\u4e00-\u9fff\u3000-\u303f\uff00-\uffef“”]"
# Half-width , : ; ? ! ( ) next to Chinese text or a placeholder inside Chinese text.
HALF_WIDTH = re.compile(rf"({HAN}|\}})[ ]?[,:;?!()]|[,:;?!()][ ]?({HAN}|\{{)|{HAN}\.(?!\.)")
PEOPLE = re.compile(r"\b(people|persons?|staff|members?|supervisors?|leads?|officers?|reporters?)\b", re.I)


def zh_entries() -> list[tuple[str, str, str]]:
    out = []
    for po in sorted(LOCALE.glob("*.po")):
        with po.open("rb") as f:
            for m in read_po(f):
                if not m.id:
                    continue
                ids = m.id if isinstance(m.id, tuple) else (m.id,)
                for s in m.string if isinstance(m.string, tuple) else (m.string,):
                    out.append((po.stem, ids[-1], s or ""))
    return out


def test_chinese_catalog_entries_use_full_width_punctuation() -> None:
    bad = [(d, i, s) for d, i, s in zh_entries() if re.search(HAN, s) and HALF_WIDTH.search(s)]
    assert bad == []


def test_the_checks_catch_what_they_look_for() -> None:
    assert HALF_WIDTH.search("举报人补充: 内容") and HALF_WIDTH.search("组长, 驻省") and HALF_WIDTH.search("{ref}: 已收到")
    assert not HALF_WIDTH.search("举报人补充：内容") and not HALF_WIDTH.search("10:00 前")


def test_counts_of_people_are_not_counted_in_cases() -> None:
    """A placeholder counted with 件 in Chinese must not count people in English, and 人 only people."""
    bad = []
    for d, msgid, s in zh_entries():
        for m in re.finditer(r"\{(\w+)\} ?([件人])", s):
            # What the placeholder counts is said in its own clause of the msgid.
            clause = next((c for c in re.split(r"[;.]", msgid) if "{" + m[1] + "}" in c), msgid)
            if (m[2] == "件") == bool(PEOPLE.search(clause)):
                bad.append((d, msgid, s))
    assert bad == []


async def test_stats_counts_people_in_people_and_names_the_period(staff_chat, deps: Deps, clock) -> None:
    march = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
    await make_cases(deps, march, 3, conclude=2, disciplined=2)
    clock.set(datetime(2026, 3, 20, 2, 0, tzinfo=UTC))
    sup = await staff_chat("sup1")
    text = (await sup.send("/stats month"))[0].text
    assert text.startswith("统计（本月）")
    assert "处分人数 4 人" in text
    assert (await sup.send("/stats 2026-Q1"))[0].text.startswith("统计（2026年第1季度）")
    assert (await sup.send("/status"))[0].text.startswith("工作概况（今天）")
    await sup.send("/lang en")
    assert (await sup.send("/stats month"))[0].text.startswith("Statistics (this month)")


async def test_start_buttons_show_no_command_syntax_and_help_is_full_width(staff_chat) -> None:
    sup = await staff_chat("sup1")
    await sup.send("/start")
    assert sup.buttons() and not [b for b in sup.buttons() if "/" in b or "[" in b]
    assert "工作概况" in sup.buttons()
    help_text = sup.text((await sup.send("/help"))[:1])
    assert "/status [今天|本周|本月|日期]：工作概况" in help_text
    assert not [line for line in help_text.splitlines()[1:] if not re.match(r"^/\S.*：", line)]


async def test_lists_of_cases_share_one_format(chat, staff_chat, deps: Deps) -> None:
    case = await tip_case(chat, deps)
    lead = await staff_chat("o02-lead")
    text = (await lead.send("/my"))[0].text
    assert f"{case.reference}：" in text and f"{case.reference}:" not in text
    await accept_and_confirm_team(staff_chat, case)
    member_text = ""
    for login in ("o03-f1", "o04-f1", "o05-f1", "o06-f1", "o07-f1", "o08-f1"):
        member_text = (await (await staff_chat(login)).send("/my"))[0].text
        if case.reference in member_text:
            break
    assert f"{case.reference}：" in member_text


async def test_team_proposal_lines_are_full_width(chat, staff_chat, deps: Deps) -> None:
    from handlers.i18n import N_

    case = await tip_case(chat, deps)
    lead = await staff_chat("o02-lead")
    await lead.send(f"/case {case.reference}")
    await lead.press(N_("Accept (受理)"))
    text = lead.text(await lead.press(N_("Propose a team")))
    team = [line for line in text.splitlines() if line.startswith("  • ")]
    assert team and not [line for line in team if HALF_WIDTH.search(line) or " — " in line]
