"""A small grammar of what people type instead of a command: intents and their slots.

Pure functions, no database: ``parse(text)`` returns an :class:`Intent` or None. The phrasings it
understands are listed in docs/intents.md, and tests/test_intents.py tries every one of them and
near-misses that must not trigger."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta

# States a supervisor asks about, as the body says them.
STATES_ZH = (
    ("overdue", r"逾期|超期|超时|过期"),
    ("unacknowledged", r"未签收|没签收|没有签收|尚未签收|未签"),
    ("concluded", r"办结|结案"),
    ("accepted", r"受理"),
    ("received", r"收到|新收|新增"),
)
STATES_EN = (
    ("overdue", r"\b(overdue|late)\b"),
    ("unacknowledged", r"\b(unacknowledged|not\s+(yet\s+)?acknowledged|not\s+(yet\s+)?signed\s+for)\b"),
    ("concluded", r"\b(conclude[ds]?|closed?)\b"),
    ("accepted", r"\baccept(ed|s)?\b"),
    ("received", r"\b(receive[ds]?|new)\b"),
)
QUESTION_ZH = re.compile(r"多少|几件|几个|几起|数量|件数|有哪些|哪些|哪几|列出|清单|名单")
LISTING_ZH = re.compile(r"有哪些|哪些|哪几|列出|清单|名单")
QUESTION_EN = re.compile(r"\b(how\s+many|which|list|what\s+are|show\s+me|number\s+of)\b")
LISTING_EN = re.compile(r"\b(which|list|what\s+are|show\s+me)\b")

PERIODS_ZH = (
    ("today", r"今天|今日"),
    ("last_week", r"上周|上个?星期|上礼拜"),
    ("week", r"本周|这周|这一周|这个?星期|本星期"),
    ("last_month", r"上个?月"),
    ("month", r"本月|这个?月"),
    ("last_year", r"去年|上一?年"),
    ("year", r"今年|本年|年初以来"),
)
PERIODS_EN = (
    ("today", r"\btoday\b"),
    ("last_week", r"\blast\s+week\b"),
    ("week", r"\bthis\s+week\b"),
    ("last_month", r"\blast\s+month\b"),
    ("month", r"\bthis\s+month\b"),
    ("last_year", r"\blast\s+year\b"),
    ("year", r"\bthis\s+year\b"),
)
ISO_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?")
MONTH_DAY_ZH = re.compile(r"(\d{1,2})月(\d{1,2})[日号]")

CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
EN_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
              "ten": 10, "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6}
GROUP_NUMBER_ZH = re.compile(r"第\s*([一二两三四五六七八九十\d]{1,3})\s*(?:联组|组)|联组\s*([一二两三四五六七八九十\d]{1,3})")
GROUP_NAME_ZH = re.compile(r"([\u4e00-\u9fff]{2,6}联组)")
GROUP_EN = re.compile(r"\b(?:joint\s+)?group\s+(\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten)\b"
                      r"|\b(first|second|third|fourth|fifth|sixth)\s+(?:joint\s+)?group\b")

# Wanting to report; a negation ("不想举报", "don't want to report") is not.
REPORT_ZH = re.compile(r"(想|要|希望|准备|需要|打算|怎么|如何|怎样|我来|我)(实名|匿名)?(举报|检举|控告|揭发|反映(问题|情况))"
                       r"|^(举报|检举|我要举报|匿名举报|实名举报)$")
NOT_REPORT_ZH = re.compile(r"(不|别|没)(想|要|用|必|打算|准备|需要)?(实名|匿名)?(举报|检举|控告|揭发|反映)")
REPORT_EN = re.compile(r"\b(want|would\s+like|'d\s+like|wish|need)\s+to\s+(make\s+a\s+|file\s+a\s+)?"
                       r"(report|tip[\s-]?off|blow\s+the\s+whistle)\b"
                       r"|\bhow\s+(do|can)\s+i\s+(make\s+a\s+|file\s+a\s+)?report\b"
                       r"|^(report|make a report|report a problem|file a report)$")
NOT_REPORT_EN = re.compile(r"\b(don't|do\s+not|dont|never|no\s+longer)\s+(want|wish|need|like)\b")
CHECK_ZH = re.compile(r"回执|(查询|查看|查一下|查|看看|了解)(一下)?(我的)?(举报|进度|进展|处理结果|处理情况)"
                      r"|举报(的)?(进度|进展|处理结果|处理情况)")
CHECK_EN = re.compile(r"\breceipt\b|\b(check|look\s+up|follow\s+up\s+on|status\s+of)\s+(on\s+)?(my|a)\s+(report|tip)\b")

# Words that point at a command when nothing else was understood, in order of preference.
SUGGEST = (
    ("stats", r"统计|报表|同比|环比|\bstatistics\b|\bstats\b|\bfigures\b"),
    ("status", r"概况|情况如何|\bstatus\b|\boverview\b"),
    ("forget", r"清除|删除记录|删掉|\bforget\b|\bdelete\b|\berase\b"),
    ("lang", r"语言|英文|中文|\blanguage\b|\benglish\b|\bchinese\b"),
    ("cancel", r"取消|\bcancel\b"),
    ("help", r"帮助|怎么用|功能|\bhelp\b|\bwhat\s+can\s+you\s+do\b"),
)
# A figures question about nothing in particular still points at /stats or /status.
FIGURES_WORDS = re.compile(r"多少|数据|\bhow\s+many\b|\bnumbers?\b")


@dataclass(frozen=True)
class Intent:
    kind: str  # report | check | figures | suggest
    period: str | None = None  # today | week | month | year | last_week | last_month | last_year | YYYY-MM-DD
    group: int | None = None  # a joint group by number (第三联组, group 3)
    group_name: str | None = None  # ... or by name (政法联组)
    states: frozenset[str] = field(default_factory=frozenset)
    listing: bool = False  # "which are they", not "how many"
    command: str | None = None  # for suggest: the closest command


def normalise(text: str) -> str:
    """Full-width to half-width, lower case, one space between words, no trailing punctuation."""
    t = unicodedata.normalize("NFKC", text).casefold()
    t = t.replace("’", "'")
    return re.sub(r"\s+", " ", t).strip(" ,.;:!?，。；：！？、~～…")


def chinese_number(text: str) -> int | None:
    """3, 三, 十二, 二十 → the number; None when it is not one."""
    if text.isdigit():
        return int(text)
    if not text or any(ch not in CN_DIGITS and ch != "十" for ch in text):
        return None
    if "十" in text:
        tens, _sep, ones = text.partition("十")
        if "十" in ones:
            return None
        t = CN_DIGITS.get(tens, -1) if tens else 1
        o = CN_DIGITS.get(ones, -1) if ones else 0
        return None if t < 0 or o < 0 else t * 10 + o
    return CN_DIGITS[text] if len(text) == 1 else None


def _first(table: tuple[tuple[str, str], ...], text: str) -> str | None:
    for name, pattern in table:
        if re.search(pattern, text):
            return name
    return None


def _period(t: str, today: date) -> str | None:
    if m := ISO_DATE.search(t):
        try:
            return date(int(m[1]), int(m[2]), int(m[3])).isoformat()
        except ValueError:
            return None
    if m := MONTH_DAY_ZH.search(t):
        try:
            return date(today.year, int(m[1]), int(m[2])).isoformat()
        except ValueError:
            return None
    return _first(PERIODS_ZH, t) or _first(PERIODS_EN, t)


def _group(t: str) -> tuple[int | None, str | None]:
    if m := GROUP_NUMBER_ZH.search(t):
        return chinese_number(m[1] or m[2]), None
    if m := GROUP_EN.search(t):
        word = m[1] or m[2]
        return (int(word) if word.isdigit() else EN_NUMBERS[word]), None
    if m := GROUP_NAME_ZH.search(t):
        return None, m[1]
    return None, None


def parse(text: str, today: date) -> Intent | None:
    """What ``text`` asks for, or None. ``today`` dates a day given without its year."""
    t = normalise(text)
    if not t or t.startswith("/") or len(t) > 200:
        return None
    if CHECK_ZH.search(t) or CHECK_EN.search(t):
        return Intent("check")
    negated = NOT_REPORT_ZH.search(t) or NOT_REPORT_EN.search(t)
    if not negated and (REPORT_ZH.search(t) or REPORT_EN.search(t)):
        return Intent("report")
    states = frozenset(name for name, p in (*STATES_ZH, *STATES_EN) if re.search(p, t))
    if "unacknowledged" in states and re.search(r"\bnot\s+(yet\s+)?acknowledged\b", t):
        states = states - {"received"}
    period = _period(t, today)
    group, group_name = _group(t)
    question = QUESTION_ZH.search(t) or QUESTION_EN.search(t)
    if states and question:
        listing = bool(LISTING_ZH.search(t) or LISTING_EN.search(t))
        return Intent("figures", period=period, group=group, group_name=group_name, states=states, listing=listing)
    for name, pattern in SUGGEST:
        if re.search(pattern, t):
            return Intent("suggest", command=name)
    if (period or group or group_name or states) and (question or FIGURES_WORDS.search(t)):
        return Intent("suggest", command="stats")
    return None


def period_spec(period: str, today: date) -> str:
    """The period in the form /status and /stats take (``handlers.schedule.figures.parse_period``)."""
    if period in ("today", "week", "month", "year"):
        return period
    if period == "last_week":
        start = today - timedelta(days=today.weekday() + 7)
        return f"{start.isoformat()} {(start + timedelta(days=6)).isoformat()}"
    if period == "last_month":
        last = today.replace(day=1) - timedelta(days=1)
        return f"{last.year}-{last.month:02d}"
    if period == "last_year":
        return str(today.year - 1)
    return f"{period} {period}"  # one day
