"""Finding the unit by what people call it, in the tip wizard and for staff."""

from __future__ import annotations

import pytest

from handlers.deps import Deps
from handlers.search import find_units

TRAFFIC = "省公安厅交通警察总队"


@pytest.mark.parametrize("query", ["交警", "交通警察", "交通井察", "jjzd", "jiaojing", "ＪＪＺＤ"])
async def test_abbreviations_pinyin_and_typos_find_the_traffic_police(deps: Deps, query: str) -> None:
    async with deps.sessionmaker() as s:
        found = [u.name for u in await find_units(s, query)]
    assert found and found[0] == TRAFFIC


async def test_nonsense_finds_nothing(deps: Deps) -> None:
    async with deps.sessionmaker() as s:
        assert await find_units(s, "zzqqxx") == []


async def test_the_wizard_offers_the_unit_for_an_abbreviation(chat) -> None:
    c = chat()
    await c.send("/report")
    await c.send("交警")
    assert c.buttons()[0] == TRAFFIC
