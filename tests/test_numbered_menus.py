"""Channels that show buttons as numbered text (console, WeCom without cards): a number, a
full-width or circled digit, or a label typed as text chooses; a number outside the menu is
refused with the menu shown again; prompts never ask to press what cannot be pressed."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from handlers.deps import Deps
from handlers.dispatcher import Dispatcher, label_key, menu_number
from handlers.i18n import N_, gettext_for
from storage.models import ConversationState
from tests.fakes import Chat
from tests.test_bad_input import generic


def numbered(dispatcher: Dispatcher, **kw: object) -> Chat:
    return Chat(dispatcher, numbered_menus=True, **kw)  # type: ignore[arg-type]


async def draft_details(deps: Deps) -> list[str]:
    async with deps.sessionmaker() as s:
        row = (await s.scalars(select(ConversationState))).one()
        return list(json.loads(deps.sealer.open(row.key_id, row.sealed))["details"])


async def to_details(c: Chat) -> None:
    await c.send("/report")
    await c.send(str(c.buttons().index(gettext_for("zh_CN")("Not sure")) + 1))
    assert "第2步" in c.last
    await c.send("张某")
    assert "第3步" in c.last


@pytest.mark.parametrize("typed", ["完成", "Done", "完成。", " 完成 "])
async def test_typing_the_label_done_finishes_the_description(dispatcher: Dispatcher, deps: Deps, typed: str) -> None:
    c = numbered(dispatcher)
    await to_details(c)
    await c.send("他收受好处费。")
    await c.send(typed)
    assert "第4步" in c.last
    assert await draft_details(deps) == ["他收受好处费。"]  # the word was not stored as a line


@pytest.mark.parametrize("typed", ["不确定", "Not sure", "not sure"])
async def test_typing_not_sure_acts_as_the_button(dispatcher: Dispatcher, typed: str) -> None:
    c = numbered(dispatcher)
    await c.send("/report")
    await c.send(typed)
    assert "第2步" in c.last


@pytest.mark.parametrize("typed", ["９", "⑨", "❾", "9"])
async def test_a_number_outside_the_menu_is_refused_and_the_menu_shown_again(
        dispatcher: Dispatcher, deps: Deps, typed: str) -> None:
    c = numbered(dispatcher)
    await to_details(c)
    menu = c.buttons()
    assert len(menu) == 3
    replies = await c.send(typed)
    assert "没有第 9 项" in replies[-1].text and "1 到 3" in replies[-1].text
    assert c.buttons() == menu  # shown again, still numbered the same
    await c.send("他收受好处费。")
    assert await draft_details(deps) == ["他收受好处费。"]
    await c.send("①")  # circled one: the first button, Done
    assert "第4步" in c.last


async def test_long_numbers_are_answers_not_choices(dispatcher: Dispatcher, deps: Deps) -> None:
    c = numbered(dispatcher)
    await to_details(c)
    await c.send("13800138000")
    assert await draft_details(deps) == ["13800138000"]


async def test_no_prompt_asks_to_press_a_button_on_a_numbered_channel(dispatcher: Dispatcher) -> None:
    c = numbered(dispatcher)
    await to_details(c)
    await c.send("他收受好处费。")
    await c.send("完成")
    assert "跳过" in c.last and "完成" not in c.last  # no file yet: only Skip is offered
    await c.send("跳过")
    assert "按钮" not in c.text()
    await c.send(gettext_for("zh_CN")("Anonymous"))
    assert "第6步" in c.last
    assert not [r.text for r in c.history if "按“" in r.text or "点击" in r.text]
    await c.send("提交")
    assert "回执" in c.last


def test_menu_numbers_and_labels_are_read_as_people_type_them() -> None:
    assert [menu_number(t) for t in ("3", "３", "③", "❸", "⑶", "3.", "3。", "12", "123", "三", "a")] == \
        [3, 3, 3, 3, 3, 3, 3, 12, None, None, None]
    assert label_key("◀ 返回") == label_key("返回") == "返回"
    assert label_key("ＤＯＮＥ!") == "done"
    assert N_("Done")  # the label pressed by word exists in the catalog


def test_odd_numbers_are_read_as_their_digit_or_as_text() -> None:
    # Superscript, subscript, parenthesised, dingbat and other scripts' digits stand for their
    # digit; signs, keycaps, several numbers and huge numbers are no menu number (ordinary text).
    assert [menu_number(t) for t in ("²", "₂", "⑴", "➊", "٣", "-1", "+1", "1\u20e3", "1 2", "1,2", "9" * 40,
                                     "１" * 25, "1.5", "")] == [2, 2, 1, 1, 3] + [None] * 9


@pytest.mark.parametrize("typed", ["-1", "0", "99", "9" * 40, "１" * 25, "1 2", "1\n2", "1\u20e3", "٣" * 12, "#1"])
async def test_hostile_numbers_in_a_numbered_menu_get_a_clear_answer(dispatcher: Dispatcher, typed: str) -> None:
    c = numbered(dispatcher)
    await to_details(c)
    menu = c.buttons()
    replies = await c.send(typed)
    assert replies and not any(generic(r.text) for r in replies)
    assert "第3步" in c.text() and c.buttons() == menu  # still describing, the same menu
