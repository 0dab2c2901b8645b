from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import web
from wechatpy.enterprise.crypto import WeChatCrypto

from bot.channels.base import OutputChannel
from bot.delivery import DeliveryWorker
from bot.inbox import Inbox
from bot.web import WebServer
from bot.wecom.callback import WeComCallback
from bot.wecom.channel import WeComChannel
from bot.wecom.client import LianzuWeComClient
from handlers.deps import Deps
from handlers.dispatcher import Dispatcher
from handlers.i18n import gettext_for
from tests.fakes import label_for, language_of, make_event
from tests.wecom.standin import AES_KEY, AGENT_ID, CORP_ID, SECRET, TOKEN, ApiStandIn, Simulator


@dataclass
class WeCom:
    api: ApiStandIn
    sim: Simulator
    http: aiohttp.ClientSession
    callback: WeComCallback
    channel: WeComChannel
    worker: DeliveryWorker
    api_base: str

    async def say(self, user: str, text: str) -> list[str]:
        before = len(self.api.texts_to(user))
        status, _body, _t = await self.sim.post(self.http, self.sim.text_xml(user, text))
        assert status == 200
        await self.callback.drain()
        return self.api.texts_to(user)[before:]

    async def deliver(self) -> int:
        return await self.worker.drain_once()

    async def label(self, user: str, msgid: str, **params: object) -> str:
        """The label of the button for the catalog's ``msgid`` in the language ``user`` is answered in now."""
        event = make_event(channel="wecom", external_id=user)
        return label_for(gettext_for(await language_of(self.channel.dispatcher, event)), msgid, **params)


async def start_site(app: web.Application) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]


async def make_wecom(deps: Deps, dispatcher: Dispatcher, *, cards: bool = False, handle=None) -> AsyncIterator[WeCom]:  # type: ignore[no-untyped-def]
    api = ApiStandIn()
    api_runner, api_port = await start_site(api.app())
    api_base = f"http://127.0.0.1:{api_port}/cgi-bin/"
    client = LianzuWeComClient(CORP_ID, SECRET, api_base=api_base, database_url=deps.config.database_url)
    channel = WeComChannel(client, AGENT_ID, dispatcher, cards=cards)
    inbox = Inbox("wecom", deps.sessionmaker, deps.sealer, deps.clock)
    callback = WeComCallback(WeChatCrypto(TOKEN, AES_KEY, CORP_ID), channel, handle or dispatcher.handle, inbox,
                             max_attachment_bytes=deps.config.max_attachment_bytes, numbered=not cards)
    server = WebServer("127.0.0.1", 0)
    server.add_route("GET", "/wecom/callback", callback.verify)
    server.add_route("POST", "/wecom/callback", callback.receive)
    await server.start()
    channels: dict[str, OutputChannel] = {"wecom": channel}
    worker = DeliveryWorker(deps.sessionmaker, channels, deps.sealer, deps.clock, deps.config)
    async with aiohttp.ClientSession() as http:
        yield WeCom(api, Simulator(f"http://127.0.0.1:{server.port}/wecom/callback"), http, callback, channel, worker, api_base)
        await callback.drain()
    await server.stop()
    await api_runner.cleanup()
    client._engine.dispose()
    await asyncio.sleep(0)


@pytest.fixture
async def wecom(deps: Deps, dispatcher: Dispatcher) -> AsyncIterator[WeCom]:
    async for w in make_wecom(deps, dispatcher):
        yield w
