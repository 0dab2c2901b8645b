"""/start, /help, /lang and the command menu through the real aiogram bot over HTTP."""

from __future__ import annotations

from tests.telegram.conftest import Running
from tests.telegram.standin import BotAPIStandIn


async def test_start_answers_in_the_senders_language_with_buttons(tg: Running) -> None:
    zh = tg.phone(101, language_code="zh-hans")
    texts = await zh.send("/start")
    assert texts and "举报" in texts[0]
    call = tg.standin.sent_to(101)[-1]
    assert call.params["parse_mode"] == "HTML"
    labels = [b["text"] for row in call.params["reply_markup"]["inline_keyboard"] for b in row]
    assert labels, "the /start menu is shown as an inline keyboard"

    en = tg.phone(102, language_code="en-US")
    texts = await en.send("/start")
    assert "Hello" in texts[0]


async def test_lang_switch_sticks(tg: Running) -> None:
    p = tg.phone(103, language_code="zh-hans")
    await p.send("/lang en")
    texts = await p.send("/help")
    assert "Commands" in texts[0]


async def test_commands_are_published_in_both_languages(polling: Running, standin: BotAPIStandIn) -> None:
    calls = standin.called("setMyCommands")
    langs = sorted(c.params.get("language_code", "") for c in calls)
    assert langs == ["", "en", "zh"]
    by_lang = {c.params.get("language_code", ""): {x["command"]: x["description"] for x in c.params["commands"]}
               for c in calls}
    assert "start" in by_lang["en"] and "help" in by_lang["zh"]
    assert by_lang["en"]["help"] != by_lang["zh"]["help"]  # translated, not copied
    assert by_lang[""] == by_lang["zh"]  # the default language is zh_CN
    assert "my" not in by_lang["en"]  # staff-only commands stay out of the public menu
    assert "report" in by_lang["zh"] and "check" in by_lang["zh"]


async def test_polling_deletes_any_webhook_first(polling: Running, standin: BotAPIStandIn) -> None:
    assert standin.called("deleteWebhook")
    await standin.wait_for(lambda: bool(standin.called("getUpdates")))
    assert standin.called("getMe")


async def test_webhook_mode_registers_url_and_secret(webhook: Running, standin: BotAPIStandIn) -> None:
    assert standin.webhook is not None
    assert standin.webhook["secret_token"] == "s3cret-Token_for-tests"
    assert standin.webhook["url"].endswith("/telegram/webhook")
    assert not standin.called("getUpdates")
