"""The WeCom channel: callback route on the shared web server, rendering, active messages."""

from __future__ import annotations

import asyncio
import logging
import time
import xml.etree.ElementTree as ET

import aiohttp
from aiohttp import web
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.exceptions import InvalidSignatureException

from bot.wecom.api import WeComAPI
from handlers.dispatcher import Dispatcher
from handlers.events import InboundEvent, Reply, Sender
from handlers.render import split_text

log = logging.getLogger("lianzu.wecom")

NAME = "wecom"
# WeCom text messages hold at most 2048 bytes.
TEXT_LIMIT_BYTES = 2048
# Callbacks older/newer than this are treated as replays.
REPLAY_WINDOW_SECONDS = 300
# Encrypted callback bodies are small XML; refuse anything bigger unread.
MAX_CALLBACK_BYTES = 64 * 1024
CALLBACK_PATH = "/wecom/callback"
# Shown once per sender before anything else: WeCom is the employer's system.
ADMIN_VISIBILITY_NOTICE = ("注意：本应用运行在单位的企业微信上，企业微信管理员可能看到您曾向本应用发送过消息"
                           "（但看不到匿名举报的内容）。如需完全匿名，请改用其他渠道。")


def render_text(reply: Reply) -> list[str]:
    """Reply text plus buttons as a numbered menu, split at WeCom's byte limit."""
    text = reply.text
    buttons = reply.flat_buttons()
    if buttons:
        menu = "\n".join(f"{i}. {b.label}" for i, b in enumerate(buttons, 1))
        text = f"{text}\n\n{menu}" if text else menu
    return split_text(text, TEXT_LIMIT_BYTES, measure="bytes") if text else []


class WeComChannel:
    name = NAME

    def __init__(self, *, dispatcher: Dispatcher, api: WeComAPI, agent_id: int, token: str, aes_key: str,
                 corp_id: str) -> None:
        self.dispatcher, self.api, self.agent_id = dispatcher, api, agent_id
        self.crypto = WeChatCrypto(token, aes_key, corp_id)
        self._tasks: set[asyncio.Task[None]] = set()
        self._noticed: set[str] = set()  # in memory only: who has seen the admin notice since start

    # --- outbound -----------------------------------------------------------------------------
    async def send(self, address: str, reply: Reply) -> None:
        for part in render_text(reply):
            await self.api.call("message/send", json={"touser": address, "msgtype": "text",
                                                      "agentid": self.agent_id, "text": {"content": part}})
        for f in reply.files:
            form = aiohttp.FormData()
            form.add_field("media", f.data, filename=f.filename, content_type=f.content_type)
            kind = "image" if f.kind == "photo" else "file"
            up = await self.api.call("media/upload", form=form, params={"type": kind})
            await self.api.call("message/send", json={"touser": address, "msgtype": kind, "agentid": self.agent_id,
                                                      kind: {"media_id": up["media_id"]}})

    # --- inbound ------------------------------------------------------------------------------
    def install(self, web_server) -> None:  # type: ignore[no-untyped-def]
        web_server.add_route("GET", CALLBACK_PATH, self.verify)
        web_server.add_route("POST", CALLBACK_PATH, self.callback)

    def _fresh(self, timestamp: str) -> bool:
        try:
            return abs(time.time() - int(timestamp)) <= REPLAY_WINDOW_SECONDS
        except ValueError:
            return False

    async def verify(self, request: web.Request) -> web.Response:
        q = request.query
        try:
            echo = self.crypto.check_signature(q["msg_signature"], q["timestamp"], q["nonce"], q["echostr"])
        except (KeyError, InvalidSignatureException, InvalidCorpIdException, ValueError):
            return web.Response(status=403, text="bad signature")
        return web.Response(text=echo.decode() if isinstance(echo, bytes) else echo)

    async def callback(self, request: web.Request) -> web.Response:
        q = request.query
        if request.content_length is not None and request.content_length > MAX_CALLBACK_BYTES:
            return web.Response(status=413)
        body = await request.read()
        if len(body) > MAX_CALLBACK_BYTES or not self._fresh(q.get("timestamp", "")):
            return web.Response(status=403, text="stale or oversized")
        try:
            xml = self.crypto.decrypt_message(body, q["msg_signature"], q["timestamp"], q["nonce"])
            root = ET.fromstring(xml)
        except (KeyError, InvalidSignatureException, InvalidCorpIdException, ET.ParseError, ValueError, TypeError):
            return web.Response(status=403, text="bad signature or body")
        except Exception:  # wechatpy raises assorted errors on garbage ciphertext
            return web.Response(status=400, text="undecryptable")
        event = self._event(root)
        if event is None:
            return web.Response(text="success")
        task = asyncio.create_task(self._work(event))  # answer now; WeCom gives up after 5 s
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return web.Response(text="success")

    def _event(self, root: ET.Element) -> InboundEvent | None:
        def field(name: str) -> str | None:
            el = root.find(name)
            return el.text if el is not None else None

        user, msg_type = field("FromUserName"), field("MsgType")
        if not user or not msg_type:
            return None
        sender = Sender(channel=NAME, external_id=user)
        if msg_type == "text":
            msg_id = field("MsgId")
            return InboundEvent(channel=NAME, sender=sender, text=(field("Content") or "").strip(),
                                message_id=msg_id, dedupe_key=f"wecom:msg:{msg_id}" if msg_id else None,
                                numbered_menus=True)
        if msg_type == "event" and field("Event") == "enter_agent":
            # Key on sender + time: WeCom retries events with the same CreateTime.
            return InboundEvent(channel=NAME, sender=sender, text="/start", numbered_menus=True,
                                dedupe_key=f"wecom:ev:{user}:{field('CreateTime')}")
        return None

    async def _work(self, event: InboundEvent) -> None:
        user = event.sender.external_id
        try:
            replies = await self.dispatcher.handle(event)
            if user not in self._noticed and replies:
                self._noticed.add(user)
                replies = [Reply(text=ADMIN_VISIBILITY_NOTICE), *replies]
            for reply in replies:
                await self.send(user, reply)
        except Exception:
            log.exception("WeCom update failed")  # the exception text carries no sender id

    async def drain(self) -> None:
        """Wait for work already accepted (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
