"""Finding the unit by what people call it, in the tip wizard and for staff: the official name,
an alias from the organisation file, pinyin and its initials, the English name, small typos."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from handlers.deps import Deps
from handlers.i18n import N_
from handlers.search import find_units
from storage.models import Unit
from storage.orgfile import OrgFileError, dump_org, export_org, import_org, parse_org

TRAFFIC = "省公安厅交通警察总队"


@pytest.mark.parametrize("query", ["交警", "交警总队", "交通警察", "交通井察", "jjzd", "jiaojing", "ＪＪＺＤ",
                                   "traffic police", "Traffic Police Corps", "trafic polise"])
async def test_abbreviations_aliases_pinyin_english_and_typos_find_the_traffic_police(deps: Deps, query: str) -> None:
    async with deps.sessionmaker() as s:
        found = [u.name for u in await find_units(s, query)]
    assert found and found[0] == TRAFFIC


@pytest.mark.parametrize(("query", "unit"), [
    ("发改委", "省发展和改革委员会"),
    ("fgw", "省发展和改革委员会"),   # pinyin initials of the alias
    ("国资委", "省国有资产监督管理委员会"),
    ("卫健委", "省卫生健康委员会"),
    ("省妇联", "省妇女联合会"),
    ("团省委", "共青团省委"),
    ("tax", "省税务局"),
    ("taxation", "省税务局"),
    ("high court", "省高级人民法院"),
    ("procuratorate", "省人民检察院"),
    ("Women's Federation", "省妇女联合会"),
    ("veterans", "省退役军人事务厅"),
])
async def test_what_people_call_a_unit_finds_it_first(deps: Deps, query: str, unit: str) -> None:
    async with deps.sessionmaker() as s:
        found = [u.name for u in await find_units(s, query)]
    assert found and found[0] == unit, found


@pytest.mark.parametrize("query", ["zzqqxx", "of the", "xyzzy plugh", "a"])
async def test_nonsense_finds_nothing(deps: Deps, query: str) -> None:
    async with deps.sessionmaker() as s:
        assert await find_units(s, query) == []


async def test_the_wizard_offers_the_unit_for_an_abbreviation(chat) -> None:
    c = chat()
    await c.send("/report")
    await c.send("交警")
    assert c.buttons()[0] == TRAFFIC


@pytest.mark.parametrize(("typed", "shown"), [
    ("tax", "Provincial Taxation Bureau"),
    ("traffic police", "Provincial Traffic Police Corps"),
    ("交警", "Provincial Traffic Police Corps"),
])
async def test_in_english_the_wizard_finds_and_shows_english_names(chat, typed: str, shown: str) -> None:
    c = chat()
    await c.send("/lang en")
    await c.send("/report")
    await c.send(typed)
    assert c.buttons()[0] == shown
    await c.press_label(shown)
    await c.send("Mr Li")
    await c.send("He took money.")
    await c.press(N_("Done"))
    await c.press(N_("Skip"))
    await c.press(N_("Anonymous"))
    # The summary the reporter checks names the unit in English too.
    assert "Please check your report" in c.last and f"About: {shown}" in c.last


async def test_a_numbered_menu_chat_picks_the_english_name_by_number(chat) -> None:
    c = chat(numbered_menus=True)
    await c.send("/lang en")
    await c.send("/report")
    await c.send("tax")
    assert c.buttons()[0] == "Provincial Taxation Bureau"
    await c.send("1")
    assert "Provincial Taxation Bureau" not in c.buttons()


async def test_in_chinese_the_wizard_shows_the_official_name(chat) -> None:
    c = chat()
    await c.send("/lang zh")
    await c.send("/report")
    await c.send("tax")
    assert c.buttons()[0] == "省税务局"


ORG = """
units:
  - code: u1
    name: 省公安厅交通警察总队
    name_en: Provincial Traffic Police Corps
    aliases: [交警总队, 交警]
joint_groups:
  - {code: g1, name: 第一联组, name_en: Joint Group 1, aliases: [一组]}
offices:
  - {code: o1, name: 驻省公安厅交通警察总队纪检监察组, name_en: Office at the Traffic Police, joint_group: g1, units: [u1]}
"""


async def test_aliases_and_english_names_are_stored_exported_and_reimported_unchanged(db_url: str) -> None:
    from storage.db import make_engine, make_sessionmaker

    engine = make_engine(db_url)
    sm = make_sessionmaker(engine)
    async with sm() as s, s.begin():
        await import_org(s, parse_org(ORG))
    async with sm() as s:
        unit = await s.scalar(select(Unit))
        assert unit is not None and unit.aliases == ["交警总队", "交警"] and unit.name_en == "Provincial Traffic Police Corps"
        assert unit.name_for("en") == "Provincial Traffic Police Corps" and unit.name_for("zh_CN") == unit.name
        exported = await export_org(s)
    assert exported["units"][0]["aliases"] == ["交警总队", "交警"]
    assert exported["joint_groups"][0] == {"code": "g1", "name": "第一联组", "name_en": "Joint Group 1", "aliases": ["一组"]}
    assert exported["offices"][0]["name_en"] == "Office at the Traffic Police"
    async with sm() as s, s.begin():
        assert await import_org(s, parse_org(dump_org(exported))) == {"added": 0, "changed": 0}
    # Dropping an alias from the file drops it from search.
    async with sm() as s, s.begin():
        stats = await import_org(s, parse_org(ORG.replace("[交警总队, 交警]", "[交警总队]")))
    assert stats["changed"] == 1
    async with sm() as s:
        assert [u.name for u in await find_units(s, "交警总队")] == ["省公安厅交通警察总队"]
        unit = await s.scalar(select(Unit))
        assert unit is not None and unit.aliases == ["交警总队"]
    await engine.dispose()


@pytest.mark.parametrize(("text", "expected"), [
    ("units:\n  - code: u1\n    name: U\n    aliases: 交警\n", ["line 4", "aliases", "list"]),
    ("units:\n  - code: u1\n    name: U\n    aliases: ['']\n", ["line 4", "aliases.0"]),
    ("units:\n  - code: u1\n    name: U\n    name_en: ''\n", ["line 4", "name_en"]),
    ("units:\n  - code: u1\n    name: U\n    alias: [x]\n", ["line 4", "alias", "Extra"]),
])
def test_a_bad_alias_or_english_name_is_rejected_with_line_and_field(text: str, expected: list[str]) -> None:
    with pytest.raises(OrgFileError) as err:
        parse_org(text)
    for part in expected:
        assert part in str(err.value)
