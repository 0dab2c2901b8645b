"""提级 by itself (rules §15): a report about the head of the office that would handle it, or any
lead of that joint group, goes to the supervisors however the report writes the name or the title."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from handlers.cases.transfers import names_office_head, names_person, office_tokens
from handlers.deps import Deps
from storage.models import Case, Staff
from tests.cases.conftest import tip_case

GROUP = [office_tokens("驻省公安厅交通警察总队纪检监察组", ["省公安厅交通警察总队"]),
         office_tokens("驻省高级人民法院纪检监察组", ["省高级人民法院"])]
OTHERS = [office_tokens("驻省财政厅纪检监察组", ["省财政厅"])]


@pytest.mark.parametrize("people", [
    "莫勇艳", "莫勇艳组长", "莫勇艳（组长）", "莫 勇艳", "莫　勇　艳书记", "反映驻交警总队纪检监察组莫勇艳收受礼金",
    "莫组长", "莫副组长", "ＭＯ莫勇艳",
])
def test_the_name_is_found_with_titles_spaces_and_words_around_it(people: str) -> None:
    assert names_person(people, "莫勇艳")


@pytest.mark.parametrize("people", ["莫某", "张勇艳", "勇艳", "莫总队长", "张某，副总队长", ""])
def test_other_people_are_not_the_head(people: str) -> None:
    assert not names_person(people, "莫勇艳")


def test_four_character_names_match_by_compound_surname() -> None:
    assert names_person("欧阳组长", "欧阳明华")


@pytest.mark.parametrize("people", [
    "派驻纪检监察组组长", "纪检组长", "驻该总队纪检组组长", "交通警察总队纪检监察组副组长", "驻省高级人民法院纪检监察组组长",
    "联组组长", "张某，纪检监察组组长",
])
def test_the_head_is_found_by_title(people: str) -> None:
    assert names_office_head(people, GROUP, OTHERS)


@pytest.mark.parametrize("people", ["驻省财政厅纪检监察组组长", "财政厅纪检组长", "张某，副总队长", "专案组组长", ""])
def test_titles_of_other_offices_or_other_groups_do_not_count(people: str) -> None:
    assert not names_office_head(people, GROUP, OTHERS)


async def _level(deps: Deps, case: Case) -> tuple[str, int | None]:
    async with deps.sessionmaker() as s:
        c = await s.get(Case, case.id)
        assert c is not None
        return c.level, c.joint_group_id


async def test_reports_naming_the_head_loosely_go_up(chat, deps: Deps) -> None:
    async with deps.sessionmaker() as s:
        head = await s.scalar(select(Staff.name).where(Staff.login == "o01-lead"))  # heads the traffic police office
    assert head
    spaced = " ".join(head)
    for people in (f"{spaced} 组长", f"{head[0]}组长", "派驻纪检监察组组长"):
        case = await tip_case(chat, deps, people=people)
        assert await _level(deps, case) == ("supervisors", None), people


async def test_reports_naming_someone_else_stay_with_the_group(chat, deps: Deps) -> None:
    for people in ("张某，副总队长", "驻省财政厅纪检监察组组长"):
        case = await tip_case(chat, deps, people=people)
        level, group = await _level(deps, case)
        assert level == "group" and group is not None, people
