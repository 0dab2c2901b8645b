"""WeCom settings are all five or none, and the running program serves the callback."""

from __future__ import annotations

import aiohttp
import pytest

from bot.app import build_app
from bot.services import start_services
from bot.settings import SettingsError, load_settings
from tests.conftest import TEST_KEYS, TEST_SALT
from tests.wecom.standin import AES_KEY, AGENT_ID, CORP_ID, SECRET, TOKEN, Simulator


def test_a_partial_wecom_configuration_names_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIANZU_WECOM_CORP_ID", CORP_ID)
    monkeypatch.setenv("LIANZU_WECOM_SECRET", SECRET)
    with pytest.raises(SettingsError) as err:
        load_settings(_env_file=None)
    assert "LIANZU_WECOM_AGENT_ID" in str(err.value) and "LIANZU_WECOM_AES_KEY" in str(err.value)
    monkeypatch.setenv("LIANZU_WECOM_AGENT_ID", "1")
    monkeypatch.setenv("LIANZU_WECOM_TOKEN", TOKEN)
    monkeypatch.setenv("LIANZU_WECOM_AES_KEY", "short")
    with pytest.raises(SettingsError) as err:
        load_settings(_env_file=None)
    assert "43" in str(err.value)


async def test_run_serves_the_callback_on_the_shared_web_server(demo_db_url: str) -> None:
    settings = load_settings(_env_file=None, database_url=demo_db_url, installation_salt=TEST_SALT,
                             encryption_keys=TEST_KEYS, wecom_corp_id=CORP_ID, wecom_agent_id=AGENT_ID,
                             wecom_secret=SECRET, wecom_token=TOKEN, wecom_aes_key=AES_KEY, web_port=0)
    assert not settings.console_enabled  # a channel is configured: no terminal chat
    app = build_app(settings)
    try:
        assert await start_services(app) is None
        web = next(s for s in app.services if s.name == "web")
        sim = Simulator(f"http://127.0.0.1:{web.port}/wecom/callback")  # type: ignore[attr-defined]
        async with aiohttp.ClientSession() as http, http.get(sim.url, params=sim.verification("hello-lianzu")) as r:
            assert r.status == 200 and await r.text() == "hello-lianzu"
        assert "wecom" in app.channels
    finally:
        await app.close()
