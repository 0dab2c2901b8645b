"""The first thing anyone meets: /start, /help, /lang, and polite answers to the unexpected."""

from __future__ import annotations

from sqlalchemy import func, select

from handlers.deps import Deps
from storage.base import Base
from tests.fakes import make_event


async def table_counts(deps: Deps) -> dict[str, int]:
    async with deps.sessionmaker() as s:
        return {t.name: await s.scalar(select(func.count()).select_from(t)) or 0 for t in Base.metadata.sorted_tables}


async def test_start_and_help_answer_in_chinese_by_default(chat) -> None:
    c = chat()
    replies = await c.send("/start")
    assert "您好" in replies[0].text and "回执" in replies[0].text
    assert "/help" in replies[0].text
    replies = await c.send("/help")
    assert "可用命令" in replies[0].text
    assert "/lang" in replies[0].text and "切换语言" in replies[0].text


async def test_lang_en_switches_to_english_and_sticks(chat) -> None:
    c = chat()
    assert "English" in (await c.send("/lang en"))[0].text
    replies = await c.send("/help")
    assert "Commands:" in replies[0].text and "可用命令" not in replies[0].text
    assert "Switch language" in replies[0].text
    await c.send("/lang zh")
    assert "可用命令" in (await c.send("/help"))[0].text


async def test_lang_without_a_choice_explains_and_changes_nothing(chat, deps: Deps) -> None:
    before = await table_counts(deps)
    replies = await chat().send("/lang fr")
    assert "/lang zh" in replies[0].text and "/lang en" in replies[0].text
    assert await table_counts(deps) == before


async def test_platform_language_picks_english_on_first_contact(chat) -> None:
    replies = await chat("en-user", language_code="en-US").send("/start")
    assert replies[0].text.startswith("Hello. I am Lianzu")


async def test_unknown_command_gets_clear_answer_and_stores_nothing(chat, deps: Deps) -> None:
    before = await table_counts(deps)
    replies = await chat().send("/frobnicate now")
    assert len(replies) == 1
    assert "/frobnicate" in replies[0].text and "/help" in replies[0].text
    assert await table_counts(deps) == before


async def test_free_text_outside_a_conversation_is_not_stored(chat, deps: Deps) -> None:
    before = await table_counts(deps)
    # Not "我要举报…": wanting to report starts the wizard (tests/test_intents.py).
    replies = await chat().send("某局长受贿，请核查")
    assert "没有理解" in replies[0].text
    assert await table_counts(deps) == before


async def test_empty_message_and_stale_button_change_nothing(chat, deps: Deps) -> None:
    before = await table_counts(deps)
    c = chat()
    assert "空消息" in (await c.send(None))[0].text
    assert "已失效" in (await c.send(None, button="c:deadbeef:yes"))[0].text
    assert "已失效" in (await c.send(None, button="a:no-such-action:1"))[0].text
    assert await table_counts(deps) == before


async def test_oversized_message_is_refused_politely(chat, deps: Deps) -> None:
    before = await table_counts(deps)
    replies = await chat().send("举" * 100_000)
    assert "太长" in replies[0].text and "100000" in replies[0].text
    assert await table_counts(deps) == before


async def test_group_chat_is_told_to_use_a_private_chat_and_nothing_is_stored(dispatcher, deps: Deps) -> None:
    before = await table_counts(deps)
    replies = await dispatcher.handle(make_event("/start", chat_type="group", external_id="someone"))
    assert "私聊" in replies[0].text
    assert await table_counts(deps) == before


async def test_redelivered_update_is_handled_once(dispatcher) -> None:
    first = await dispatcher.handle(make_event("/lang en", dedupe_key="update-42"))
    again = await dispatcher.handle(make_event("/lang en", dedupe_key="update-42"))
    assert first and not again


async def test_staff_member_is_greeted_by_name_and_role(staff_chat) -> None:
    c = await staff_chat("o01-lead")
    text = (await c.send("/start"))[0].text
    assert "组长" in text and "您好" in text
