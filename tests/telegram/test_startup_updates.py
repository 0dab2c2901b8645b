"""Updates waiting when ``lianzu run`` starts, or arriving while it starts, are answered; an
update handled before a restart and delivered again is not (issue 15: a ``/help`` queued on
the stand-in before the start looked lost; it was a re-used update_id, rightly de-duplicated)."""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import pytest

from bot.app import App, build_app
from bot.services import start_services
from bot.settings import load_settings
from bot.telegram.service import TelegramService
from bot.telegram.webhook import SECRET_HEADER
from handlers.clock import ManualClock
from tests.conftest import TEST_KEYS, TEST_SALT
from tests.telegram.conftest import WEBHOOK_PATH, WEBHOOK_SECRET
from tests.telegram.standin import BotAPIStandIn, message


def app_for(url: str, standin: BotAPIStandIn) -> App:
    settings = load_settings(database_url=url, installation_salt=TEST_SALT, encryption_keys=TEST_KEYS,
                             telegram_token=standin.token, telegram_api_url=standin.url, console=False)
    return build_app(settings, clock=ManualClock())


async def test_an_update_waiting_before_the_start_is_answered(demo_db_url: str, standin: BotAPIStandIn) -> None:
    standin.push(message(901, "/help"))
    standin.push(message(902, "/start"))
    app = app_for(demo_db_url, standin)
    await start_services(app)
    try:
        await standin.wait_for(lambda: bool(standin.texts_to(901)) and bool(standin.texts_to(902)), timeout=15)
        assert "/check" in standin.texts_to(901)[0]
    finally:
        await app.close()


async def test_an_update_arriving_while_the_channel_starts_is_answered(demo_db_url: str,
                                                                       standin: BotAPIStandIn) -> None:
    app = app_for(demo_db_url, standin)
    starting = asyncio.create_task(start_services(app))
    # Pushed while the commands are being published, before the first getUpdates.
    await standin.wait_for(lambda: bool(standin.calls), timeout=15)
    standin.push(message(901, "/help"))
    await starting
    standin.push(message(902, "/help"))  # and at once after the start
    try:
        await standin.wait_for(lambda: bool(standin.texts_to(901)) and bool(standin.texts_to(902)), timeout=15)
    finally:
        await app.close()


async def test_after_a_restart_a_redelivered_update_is_not_answered_again_and_the_next_one_is(
        demo_db_url: str, standin: BotAPIStandIn, caplog: pytest.LogCaptureFixture) -> None:
    first = standin.push(message(901, "/help"))
    app = app_for(demo_db_url, standin)
    await start_services(app)
    try:
        await standin.wait_for(lambda: len(standin.texts_to(901)) == 1, timeout=15)
    finally:
        await app.close()
    # Telegram delivers again an update whose offset was not confirmed (the process died first).
    # A stand-in started afresh numbers its updates from the same start: the same thing, as
    # memory_bench met it (its second run's /help looked lost).
    again = BotAPIStandIn()
    await again.start()
    try:
        assert again.push(message(901, "/help")) == first
        after = again.push(message(902, "/help"))
        caplog.set_level(logging.INFO, logger="lianzu.dispatcher")
        app = app_for(demo_db_url, again)
        await start_services(app)
        try:
            await again.wait_for(lambda: bool(again.texts_to(902)), timeout=15)
            await again.wait_for(lambda: any(int(c.params.get("offset", 0) or 0) > after
                                             for c in again.called("getUpdates")), timeout=15)
            service = next(s for s in app.services if isinstance(s, TelegramService))
            await asyncio.wait_for(service.order.idle(), 5)
            assert again.texts_to(901) == []  # answered once, by the first process
            assert "already handled (a re-delivery)" in caplog.text  # said, not silent
        finally:
            await app.close()
    finally:
        await again.stop()


async def test_webhook_an_update_posted_while_the_channel_starts_is_answered_once(
        demo_db_url: str, standin: BotAPIStandIn) -> None:
    # During a restart Telegram keeps posting to the webhook set by the previous process: the web
    # server listens (it starts first) while the channel still publishes its commands.
    settings = load_settings(database_url=demo_db_url, installation_salt=TEST_SALT, encryption_keys=TEST_KEYS,
                             telegram_token=standin.token, telegram_api_url=standin.url, console=False,
                             telegram_mode="webhook", telegram_webhook_url="https://example.org/telegram/webhook",
                             telegram_webhook_secret=WEBHOOK_SECRET, web_port=0)
    app = build_app(settings, clock=ManualClock())
    publishing = standin.hold_method["setMyCommands"] = asyncio.Event()
    starting = asyncio.create_task(start_services(app))
    try:
        await standin.wait_for(lambda: bool(standin.called("setMyCommands")), timeout=15)
        web = app.web()
        update = message(901, "/help") | {"update_id": next(standin.update_ids)}
        async with aiohttp.ClientSession() as http, http.post(
                f"http://127.0.0.1:{web.port}{WEBHOOK_PATH}", json=update,
                headers={SECRET_HEADER: WEBHOOK_SECRET}) as resp:
            assert resp.status == 200
        publishing.set()
        await starting
        await standin.wait_for(lambda: bool(standin.texts_to(901)), timeout=15)
        service = next(s for s in app.services if isinstance(s, TelegramService))
        assert service.inbox is not None
        await service.inbox.drain()
        await service.inbox.replay()  # what the start's first pass takes: nothing left to answer
        assert len(standin.texts_to(901)) == 1
    finally:
        publishing.set()
        await starting
        await app.close()
