"""Numbered menus on WeCom, over the simulator: words and odd digits people type."""

from __future__ import annotations

from tests.wecom.conftest import WeCom

USER = "wecom-menu-user"


async def test_typed_words_and_digits_act_on_the_menu(wecom: WeCom) -> None:
    await wecom.say(USER, "/report")
    t = await wecom.say(USER, "不确定")
    assert "第2步" in t[-1]
    await wecom.say(USER, "张某")
    t = await wecom.say(USER, "９")  # full-width nine, against a menu of three
    assert "没有第 9 项" in t[-1] and "1. 完成" in t[-1]
    await wecom.say(USER, "他收受好处费。")
    t = await wecom.say(USER, "完成")
    assert "第4步" in t[-1]
    t = await wecom.say(USER, "①")  # circled one: Skip
    assert "第5步" in t[-1]
    assert not [x for x in t if "按“" in x]
