"""Bad input gets a clear answer and changes nothing; never the generic error."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from handlers.config import SUPPORTED_LANGUAGES
from handlers.deps import Deps
from handlers.dispatcher import clean_text, menu_number, valid_button_data
from handlers.i18n import N_, gettext_for
from storage.models import AuditEntry, Case, ConversationState
from tests.fakes import Chat

GENERIC = N_("Sorry, something went wrong on our side. Nothing was changed and what you "
             "entered before is kept. Please send your last message again.")


def generic(text: str) -> bool:
    return any(gettext_for(lang)(GENERIC) == text for lang in SUPPORTED_LANGUAGES)


async def say(c: Chat, text: str | None = None, **kw: object) -> str:
    replies = await c.send(text, **kw)
    out = "\n".join(r.text for r in replies)
    assert replies and not any(generic(r.text) for r in replies), (text, kw, out)
    return out


def test_the_shared_cleaning() -> None:
    assert clean_text("a\x00b\ud800c\x7f") == "abc" and clean_text("\x00\x01") is None
    assert clean_text("第一行\n第二行\t！") == "第一行\n第二行\t！"  # content is otherwise untouched
    assert [menu_number(t) for t in ("2", "２", "②", "²", " 3 ", "x", "12345", "")] == [2, 2, 2, 2, 3, None, None, None]
    assert valid_button_data("a:case:12.view") and valid_button_data("c:0a1b2c3d:unit:7")
    assert not valid_button_data("a:ack:99999999999") and not valid_button_data("a:ack:²")
    assert not valid_button_data("a:ack:1\x00") and not valid_button_data("a:" + "x" * 80)


async def test_unicode_digits_in_a_numbered_menu_choose_an_entry(chat) -> None:
    phone = chat("numbered", language_code="zh")
    await say(phone, "/report", numbered_menus=True)
    for choice in ("①", "²", "⑨", "٣"):
        await say(phone, choice, numbered_menus=True)


async def test_nul_bytes_and_surrogates_in_a_tip_are_dropped_not_fatal(chat, deps: Deps) -> None:
    phone = chat("nul")
    await say(phone, "/report")
    await say(phone, "交通\x00警察")
    await say(phone, "\ud83d")  # half of an emoji
    await say(phone, "\x00")
    async with deps.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(ConversationState)) >= 1


@pytest.mark.parametrize("period", ["0000", "9999-12", "9999-q4", "0001", "9999-12-01 9999-12-31", "2026-13", "²⁰²⁶"])
async def test_impossible_periods_are_explained(staff_chat, period: str) -> None:
    sup = await staff_chat("sup1")
    out = await say(sup, f"/stats {period}")
    assert "2026-03" in out or "例如" in out or "e.g." in out


@pytest.mark.parametrize("data", ["a:ack:99999999999", "a:case:99999999999.view", "a:intake:99999999999",
                                  "a:ack:²", "a:case:①.view", "c:zz:\x00", "a:case:" + "9" * 60])
async def test_forged_button_data_is_a_stale_button(staff_chat, deps: Deps, data: str) -> None:
    sup = await staff_chat("admin")
    async with deps.sessionmaker() as s:
        audit_before = await s.scalar(select(func.count()).select_from(AuditEntry))
    await say(sup, None, button=data)
    async with deps.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(AuditEntry)) == audit_before


async def test_huge_references_and_numbers_in_commands(staff_chat, deps: Deps) -> None:
    sup = await staff_chat("admin")
    await say(sup, "/case LZ2026-" + "9" * 40)
    await say(sup, "/case \x00")
    await say(sup, "/deactivate " + "x" * 500)
    await say(sup, "/revoke \ud800")
    async with deps.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Case)) == 0


def forged(c: Chat, value: str) -> str:
    """What a modified client can send on a button of the open conversation: its real token, and
    a value that no button offered (Telegram passes any callback data a client sends)."""
    token = next(b.data.split(":")[1] for r in reversed(c.history) for b in r.flat_buttons() if b.data.startswith("c:"))
    return f"c:{token}:{value}"


async def state_of(deps: Deps, c: Chat) -> tuple[str | None, str | None]:
    from handlers.identity import sender_key

    async with deps.sessionmaker() as s:
        row = (await s.execute(select(ConversationState.conversation, ConversationState.step).where(
            ConversationState.key == sender_key(deps.config.salt, c.channel, c.external_id)))).first()
    return (row[0], row[1]) if row else (None, None)


@pytest.mark.parametrize("value", ["unit:x", "unit:", "unit:1,1", "unit:-1", "unit:999999999"])
async def test_a_forged_unit_in_the_tip_wizard_offers_the_units_again(chat, deps: Deps, value: str) -> None:
    rep = chat("forger")
    await say(rep, "/report")
    await say(rep, "交通警察")
    assert await state_of(deps, rep) == ("report", "pick_unit")
    out = await say(rep, None, button=forged(rep, value))
    assert await state_of(deps, rep) == ("report", "pick_unit") and "own" in rep.button_values(), out


@pytest.mark.parametrize("value", ["answer:1,1", "answer:", "answer:x", "answer:999999999"])
async def test_a_forged_question_at_check_shows_the_report_again(chat, deps: Deps, value: str) -> None:
    from storage.models import Tip, TipQuestion
    from tests.reporter.conftest import file_anonymous_tip

    receipt = await file_anonymous_tip(chat())
    async with deps.sessionmaker() as s, s.begin():
        tip = (await s.scalars(select(Tip))).one()
        k, blob = deps.sealer.seal_text("请问具体是哪一天？")
        s.add(TipQuestion(tip_id=tip.id, key_id=k, text_enc=blob, asked_at=deps.clock.now()))
    c = chat("checker")
    await say(c, f"/check {receipt}")
    out = await say(c, None, button=forged(c, value))
    assert "请问具体是哪一天？" in out and await state_of(deps, c) == ("check", "menu")


@pytest.mark.parametrize("value", ["u:999999999", "u:x", "u:"])
async def test_a_forged_unit_for_a_new_case_opens_nothing(staff_chat, deps: Deps, value: str) -> None:
    sup = await staff_chat("sup1")
    await say(sup, "/new")
    await sup.press_value("inspection_handover")
    await say(sup, None, button=forged(sup, value))
    await say(sup, "巡视移交的问题线索")
    async with deps.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Case)) == 0
