"""WeCom template cards, pictures and files both ways, and start-up wiring, over real HTTP."""

from __future__ import annotations

import socket

import aiohttp
import pytest

from bot.app import build_app
from bot.services import start_services
from bot.settings import SettingsError, load_settings
from handlers.deps import Deps
from handlers.events import OutboundFile, Reply
from tests.wecom.conftest import WeCom, make_wecom, start_site
from tests.wecom.standin import AES_KEY, AGENT_ID, CORP_ID, SECRET, TOKEN, ApiStandIn, Simulator


async def test_buttons_as_a_template_card_and_a_card_press_answers_and_updates_it(deps: Deps, dispatcher) -> None:  # type: ignore[no-untyped-def]
    async for w in make_wecom(deps, dispatcher, cards=True):
        status, _, _ = await w.sim.post(w.http, w.sim.text_xml("card-user", "/start"))
        assert status == 200
        await w.callback.drain()
        cards = [m for m in w.api.sent if m.get("msgtype") == "template_card"]
        assert cards, "the /start buttons should arrive as a template card"
        card = cards[-1]["template_card"]
        assert card["card_type"] == "button_interaction" and card["button_list"]
        key = card["button_list"][-1]["key"]  # "List the commands"
        before = len(w.api.sent)
        status, _, _ = await w.sim.post(w.http, w.sim.card_event_xml("card-user", key, card["task_id"]))
        assert status == 200
        await w.callback.drain()
        assert len(w.api.sent) > before  # the press was answered
        assert w.api.card_updates and w.api.card_updates[-1]["response_code"] == card["task_id"]


async def test_digest_chart_and_files_go_out_through_media_upload(wecom: WeCom) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 100
    await wecom.channel.send("sup01", Reply(text="日报", files=[
        OutboundFile(filename="chart.png", content_type="image/png", data=png, kind="photo"),
        OutboundFile(filename="list.xlsx", content_type="application/octet-stream", data=b"PK\x03\x04x")]))
    assert [(k, n) for k, n, _ in wecom.api.uploads] == [("image", "chart.png"), ("file", "list.xlsx")]
    assert wecom.api.uploads[0][2] == png
    kinds = [m["msgtype"] for m in wecom.api.sent if m.get("touser") == "sup01"]
    assert kinds == ["text", "image", "file"]


async def test_an_incoming_picture_is_downloaded_through_the_api(wecom: WeCom, deps: Deps, dispatcher) -> None:  # type: ignore[no-untyped-def]
    seen = []
    real = dispatcher.handle

    async def spy(event):  # type: ignore[no-untyped-def]
        seen.append(event)
        return await real(event)

    wecom.callback.handle = spy
    wecom.api.media["MEDIA1"] = (b"\xff\xd8\xff-jpeg-bytes", "image/jpeg", "photo.jpg")
    status, _, _ = await wecom.sim.post(wecom.http, wecom.sim.image_xml("pic-user", "MEDIA1"))
    assert status == 200
    await wecom.callback.drain()
    assert seen and seen[0].attachment is not None
    assert seen[0].attachment.data == b"\xff\xd8\xff-jpeg-bytes" and seen[0].attachment.kind == "photo"
    assert wecom.api.texts_to("pic-user")  # answered politely, whatever the conversation state


def test_partial_wecom_settings_stop_startup_naming_what_is_missing() -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(_env_file=None, wecom_corp_id=CORP_ID, wecom_secret=SECRET)
    text = str(err.value)
    assert "LIANZU_WECOM_AGENT_ID" in text and "LIANZU_WECOM_TOKEN" in text and "LIANZU_WECOM_AES_KEY" in text
    assert "LIANZU_WECOM_SECRET," not in text and not text.rstrip().endswith("LIANZU_WECOM_SECRET")


async def test_a_configured_app_serves_the_callback_on_the_shared_server(demo_db_url: str) -> None:
    api = ApiStandIn()
    runner, api_port = await start_site(api.app())
    settings = load_settings(_env_file=None, database_url=demo_db_url, wecom_corp_id=CORP_ID, wecom_agent_id=AGENT_ID,
                             wecom_secret=SECRET, wecom_token=TOKEN, wecom_aes_key=AES_KEY,
                             wecom_api_base=f"http://127.0.0.1:{api_port}/cgi-bin/", web_host="127.0.0.1",
                             web_port=_free_port())
    assert not settings.console_enabled
    app = build_app(settings)
    try:
        await start_services(app)
        assert "wecom" in app.channels
        sim = Simulator(f"http://127.0.0.1:{settings.web_port}{settings.wecom_callback_path}")
        async with aiohttp.ClientSession() as http:
            params = sim.verification("hello-from-console")
            async with http.get(sim.url, params=params) as r:
                assert r.status == 200 and await r.text() == "hello-from-console"
    finally:
        await app.close()
        await runner.cleanup()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
