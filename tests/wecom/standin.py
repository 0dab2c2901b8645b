"""A stand-in for WeCom's app API and a simulator of WeCom's callbacks, on 127.0.0.1.

The simulator signs and encrypts with wechatpy's own crypto, as WeCom does."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from wechatpy.crypto import _get_signature
from wechatpy.enterprise.crypto import PrpCrypto, WeChatCrypto

CORP_ID = "wwlianzutest0001"
TOKEN = "lianzuCallbackToken"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters
SECRET = "app-secret-for-tests"
AGENT_ID = 1000002


@dataclass
class ApiStandIn:
    tokens_issued: int = 0
    expired: set[str] = field(default_factory=set)
    sent: list[dict[str, Any]] = field(default_factory=list)
    uploads: list[tuple[str, str, bytes]] = field(default_factory=list)
    card_updates: list[dict[str, Any]] = field(default_factory=list)
    media: dict[str, tuple[bytes, str, str]] = field(default_factory=dict)
    fail_next: list[int] = field(default_factory=list)  # errcodes to answer message/send with
    refuse_all_tokens: bool = False  # every access token is refused, fresh ones included
    token_refusals: int = 0
    media_requests: int = 0
    media_gate: asyncio.Event | None = None  # when set, media/get waits for it (WeCom hanging)

    def app(self) -> web.Application:
        a = web.Application(client_max_size=64 * 1024 * 1024)
        a.router.add_get("/cgi-bin/gettoken", self.gettoken)
        a.router.add_post("/cgi-bin/message/send", self.send)
        a.router.add_post("/cgi-bin/media/upload", self.upload)
        a.router.add_get("/cgi-bin/media/get", self.media_get)
        a.router.add_post("/cgi-bin/message/update_template_card", self.update_card)
        return a

    def _token_ok(self, request: web.Request) -> bool:
        t = request.query.get("access_token", "")
        if self.refuse_all_tokens or not t.startswith("T") or t in self.expired:
            self.token_refusals += 1
            return False
        return True

    async def gettoken(self, request: web.Request) -> web.Response:
        if request.query.get("corpid") != CORP_ID or request.query.get("corpsecret") != SECRET:
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
        self.tokens_issued += 1
        return web.json_response({"errcode": 0, "access_token": f"T{self.tokens_issued}", "expires_in": 7200})

    async def send(self, request: web.Request) -> web.Response:
        if not self._token_ok(request):
            return web.json_response({"errcode": 42001, "errmsg": "access_token expired"})
        if self.fail_next:
            return web.json_response({"errcode": self.fail_next.pop(0), "errmsg": "refused"})
        self.sent.append(json.loads(await request.read()))
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def upload(self, request: web.Request) -> web.Response:
        if not self._token_ok(request):
            return web.json_response({"errcode": 42001, "errmsg": "access_token expired"})
        form = await request.post()
        f = form["media"]
        data = f.file.read()  # type: ignore[union-attr]
        self.uploads.append((request.query["type"], f.filename, data))  # type: ignore[union-attr]
        return web.json_response({"errcode": 0, "type": request.query["type"], "media_id": f"U{len(self.uploads)}"})

    async def media_get(self, request: web.Request) -> web.Response:
        self.media_requests += 1
        if self.media_gate is not None:
            await self.media_gate.wait()
        if not self._token_ok(request):
            return web.json_response({"errcode": 42001, "errmsg": "access_token expired"})
        data, ctype, name = self.media[request.query["media_id"]]
        return web.Response(body=data, content_type=ctype, headers={"Content-Disposition": f'attachment; filename="{name}"'})

    async def update_card(self, request: web.Request) -> web.Response:
        self.card_updates.append(json.loads(await request.read()))
        return web.json_response({"errcode": 0})

    def texts_to(self, user: str) -> list[str]:
        return [m["text"]["content"] for m in self.sent if m.get("touser") == user and m.get("msgtype") == "text"]


class Simulator:
    """Plays WeCom: signs, encrypts and posts callbacks."""

    def __init__(self, url: str, *, corp_id: str = CORP_ID, token: str = TOKEN) -> None:
        self.url = url
        self.crypto = WeChatCrypto(token, AES_KEY, corp_id)
        self.token, self.corp_id = token, corp_id
        self.msg_id = 7_000_000_000

    def verification(self, echo: str, *, timestamp: int | None = None) -> dict[str, str]:
        ts, nonce = str(timestamp or int(time.time())), uuid.uuid4().hex[:10]
        enc = PrpCrypto(self.crypto.key).encrypt(echo, self.corp_id).decode()
        return {"msg_signature": _get_signature(self.token, ts, nonce, enc), "timestamp": ts, "nonce": nonce, "echostr": enc}

    def envelope(self, inner_xml: str, *, timestamp: int | None = None) -> tuple[dict[str, str], str]:
        ts, nonce = str(timestamp or int(time.time())), uuid.uuid4().hex[:10]
        out = self.crypto.encrypt_message(inner_xml, nonce, ts)
        import xmltodict

        parsed = xmltodict.parse(out)["xml"]
        body = (f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><Encrypt><![CDATA[{parsed['Encrypt']}]]></Encrypt>"
                f"<AgentID><![CDATA[{AGENT_ID}]]></AgentID></xml>")
        return {"msg_signature": parsed["MsgSignature"], "timestamp": ts, "nonce": nonce}, body

    def text_xml(self, user: str, content: str, msg_id: int | None = None) -> str:
        self.msg_id += 1
        return (f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
                f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
                f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id or self.msg_id}</MsgId>"
                f"<AgentID>{AGENT_ID}</AgentID></xml>")

    def image_xml(self, user: str, media_id: str) -> str:
        self.msg_id += 1
        return (f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
                f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[image]]></MsgType>"
                f"<PicUrl><![CDATA[http://127.0.0.1/x]]></PicUrl><MediaId><![CDATA[{media_id}]]></MediaId>"
                f"<MsgId>{self.msg_id}</MsgId><AgentID>{AGENT_ID}</AgentID></xml>")

    def card_event_xml(self, user: str, key: str, task_id: str, create_time: int | None = None) -> str:
        return (f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
                f"<CreateTime>{create_time or int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
                f"<Event><![CDATA[template_card_event]]></Event><EventKey><![CDATA[{key}]]></EventKey>"
                f"<TaskId><![CDATA[{task_id}]]></TaskId><AgentID>{AGENT_ID}</AgentID></xml>")

    async def post(self, http: aiohttp.ClientSession, inner_xml: str, **kw: Any) -> tuple[int, str, float]:
        params, body = self.envelope(inner_xml, **kw)
        t = time.perf_counter()
        async with http.post(self.url, params=params, data=body.encode()) as r:
            text = await r.text()
            return r.status, text, time.perf_counter() - t
