"""A WeCom API stand-in and a callback simulator, both real HTTP on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from wechatpy.enterprise.crypto import WeChatCrypto

from bot.web import WebServer
from bot.wecom.api import WeComAPI
from bot.wecom.channel import CALLBACK_PATH, WeComChannel

CORP_ID = "wwcorp0001"
TOKEN = "callbacktoken"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters, as WeCom issues them
AGENT_ID = 1000002


@dataclass
class APIStandIn:
    sent: list[dict[str, Any]] = field(default_factory=list)
    uploads: list[bytes] = field(default_factory=list)
    tokens_issued: int = 0
    expire_next: int = 0  # answer 42001 this many times

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/cgi-bin/gettoken", self.gettoken)
        app.router.add_post("/cgi-bin/message/send", self.send)
        app.router.add_post("/cgi-bin/media/upload", self.upload)
        return app

    async def gettoken(self, request: web.Request) -> web.Response:
        if request.query.get("corpsecret") != "secret":
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
        self.tokens_issued += 1
        return web.json_response({"errcode": 0, "access_token": f"tok{self.tokens_issued}", "expires_in": 7200})

    def _valid(self, request: web.Request) -> bool:
        return request.query.get("access_token") == f"tok{self.tokens_issued}"

    async def send(self, request: web.Request) -> web.Response:
        if self.expire_next:
            self.expire_next -= 1
            return web.json_response({"errcode": 42001, "errmsg": "access_token expired"})
        if not self._valid(request):
            return web.json_response({"errcode": 40014, "errmsg": "invalid access_token"})
        self.sent.append(await request.json())
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def upload(self, request: web.Request) -> web.Response:
        form = await request.post()
        self.uploads.append(form["media"].file.read())  # type: ignore[union-attr]
        return web.json_response({"errcode": 0, "type": request.query["type"], "media_id": f"m{len(self.uploads)}"})

    def texts(self, user: str) -> list[str]:
        return [m["text"]["content"] for m in self.sent if m["touser"] == user and m["msgtype"] == "text"]


class Simulator:
    """Plays WeCom's side of the callback: signs and encrypts with wechatpy's own crypto."""

    def __init__(self, url: str, http: aiohttp.ClientSession, corp_id: str = CORP_ID, token: str = TOKEN) -> None:
        self.url, self.http = url, http
        self.crypto = WeChatCrypto(token, AES_KEY, corp_id)
        self.msg_id = 7000

    def xml(self, user: str, content: str, msg_id: int | None = None) -> str:
        self.msg_id += 1
        return (f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
                f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
                f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id or self.msg_id}</MsgId>"
                f"<AgentID>{AGENT_ID}</AgentID></xml>")

    async def post(self, xml: str, *, timestamp: int | None = None, tamper: bool = False) -> aiohttp.ClientResponse:
        ts = str(timestamp or int(time.time()))
        encrypted = self.crypto.encrypt_message(xml, "nonce123", ts)
        import xml.etree.ElementTree as ET
        root = ET.fromstring(encrypted)
        sig = root.findtext("MsgSignature") or ""
        if tamper:
            sig = ("0" if sig[0] != "0" else "1") + sig[1:]
        params = {"msg_signature": sig, "timestamp": ts, "nonce": "nonce123"}
        async with self.http.post(self.url, params=params, data=encrypted.encode()) as resp:
            await resp.read()
            return resp


@pytest.fixture
async def wecom(deps, dispatcher) -> AsyncIterator[tuple[WeComChannel, APIStandIn, Simulator]]:  # type: ignore[no-untyped-def]
    stand_in = APIStandIn()
    runner = web.AppRunner(stand_in.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    api_port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    api = WeComAPI(base=f"http://127.0.0.1:{api_port}/cgi-bin/", corp_id=CORP_ID, secret="secret",
                   sessionmaker=deps.sessionmaker, clock=deps.clock)
    channel = WeComChannel(dispatcher=dispatcher, api=api, agent_id=AGENT_ID, token=TOKEN, aes_key=AES_KEY,
                           corp_id=CORP_ID)
    server = WebServer("127.0.0.1", 0)
    channel.install(server)
    await server.start()
    http = aiohttp.ClientSession()
    sim = Simulator(f"http://127.0.0.1:{server.port}{CALLBACK_PATH}", http)
    try:
        yield channel, stand_in, sim
    finally:
        await channel.drain()
        await http.close()
        await server.stop()
        await api.close()
        await runner.cleanup()
