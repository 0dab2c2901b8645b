"""``lianzu run`` wiring: the token turns Telegram on, beside the console when asked for,
pointed at a self-hosted Bot API server by LIANZU_TELEGRAM_API_URL."""

from __future__ import annotations

import io

import pytest

from bot.app import build_app
from bot.services import start_services
from bot.settings import SettingsError, load_settings
from handlers.clock import ManualClock
from tests.conftest import TEST_KEYS, TEST_SALT
from tests.telegram.standin import BotAPIStandIn, message


async def test_console_and_telegram_in_one_process(demo_db_url: str, standin: BotAPIStandIn) -> None:
    settings = load_settings(database_url=demo_db_url, installation_salt=TEST_SALT, encryption_keys=TEST_KEYS,
                             telegram_token=standin.token, telegram_api_url=standin.url, console=True)
    app = build_app(settings, clock=ManualClock())
    console = await start_services(app)
    try:
        assert console is not None and set(app.channels) >= {"console", "telegram"}
        standin.push(message(901, "/start"))
        await standin.wait_for(lambda: bool(standin.texts_to(901)), timeout=10)  # Telegram answered …
        console.out = io.StringIO()
        await console.handle_line("/help")
        assert "/report" in console.out.getvalue()  # … and so does the console
    finally:
        await app.close()


def test_webhook_mode_needs_url_and_secret() -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(telegram_token="1:x", telegram_mode="webhook")
    assert "LIANZU_TELEGRAM_WEBHOOK_URL" in str(err.value)
    with pytest.raises(SettingsError) as err:
        load_settings(telegram_token="1:x", telegram_mode="webhook", telegram_webhook_url="https://x/y",
                      telegram_webhook_secret="has spaces")
    assert "LIANZU_TELEGRAM_WEBHOOK_SECRET" in str(err.value)
    s = load_settings(telegram_token="1:x", telegram_mode="webhook", telegram_webhook_url="https://x/y",
                      telegram_webhook_secret="ok_Secret-1")
    assert s.telegram_mode == "webhook" and not s.console_enabled
