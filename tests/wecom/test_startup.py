"""WeCom settings and start-up: all five or none; a configured app answers on the shared server."""

from __future__ import annotations

import socket

import aiohttp
import pytest
from aiohttp import web

from bot.app import build_app
from bot.services import start_services
from bot.settings import SettingsError, load_settings
from bot.wecom.channel import CALLBACK_PATH
from tests.wecom.conftest import AES_KEY, AGENT_ID, CORP_ID, TOKEN, APIStandIn, Simulator


def test_partial_wecom_settings_stop_startup_naming_what_is_missing() -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(_env_file=None, wecom_corp_id=CORP_ID, wecom_secret="secret")
    text = str(err.value)
    assert "LIANZU_WECOM_AGENT_ID" in text and "LIANZU_WECOM_TOKEN" in text and "LIANZU_WECOM_AES_KEY" in text
    assert "LIANZU_WECOM_SECRET" not in text


async def test_configured_app_serves_the_callback_and_replies(demo_db_url: str) -> None:
    stand_in = APIStandIn()
    runner = web.AppRunner(stand_in.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    api_port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    settings = load_settings(_env_file=None, database_url=demo_db_url, wecom_corp_id=CORP_ID,
                             wecom_agent_id=AGENT_ID, wecom_secret="secret", wecom_token=TOKEN,
                             wecom_aes_key=AES_KEY, wecom_api_base=f"http://127.0.0.1:{api_port}/cgi-bin/",
                             web_host="127.0.0.1", web_port=_free_port())
    assert not settings.console_enabled
    app = build_app(settings)
    try:
        await start_services(app)
        assert "wecom" in app.channels
        async with aiohttp.ClientSession() as http:
            sim = Simulator(f"http://127.0.0.1:{settings.web_port}{CALLBACK_PATH}", http)
            assert (await sim.post(sim.xml("staff01", "/help"))).status == 200
            await app.channels["wecom"].drain()  # type: ignore[attr-defined]
        assert any("可用命令" in t for t in stand_in.texts("staff01"))
    finally:
        await app.close()
        await runner.cleanup()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
