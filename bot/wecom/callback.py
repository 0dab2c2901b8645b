"""The callback URL of the self-built app: URL verification (GET) and encrypted messages and
events (POST), answered within WeCom's 5-second limit. A message is stored in the inbox
(bot/inbox.py) before the answer and worked from there: WeCom never sends an answered callback
again, so a process that dies afterwards must still find it."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import xmltodict
from aiohttp import web
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.exceptions import InvalidSignatureException

from bot.channels.base import PerChat
from bot.inbox import Inbox, StoreFailed
from bot.wecom import CHANNEL
from bot.wecom.channel import WeComChannel
from bot.wecom.client import in_thread
from handlers.events import InboundEvent, InboundFile, Reply, Sender

log = logging.getLogger("lianzu.wecom")
MAX_BODY_BYTES = 64 * 1024
REPLAY_WINDOW_SECONDS = 300  # a callback signed longer ago than this is refused
Handle = Callable[..., Awaitable[list[Reply]]]  # Dispatcher.handle(event, deliver=…)
# Characters XML 1.0 cannot carry, raw or as a character reference (NUL, controls, surrogates).
_ILLEGAL_RAW = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_CHAR_REF = re.compile(r"&#(x[0-9a-fA-F]+|[0-9]+);")


def _legal(cp: int) -> bool:
    return cp in (0x9, 0xA, 0xD) or 0x20 <= cp <= 0xD7FF or 0xE000 <= cp <= 0xFFFD or 0x10000 <= cp <= 0x10FFFF


def _drop_ref(m: re.Match[str]) -> str:
    ref = m.group(1)
    cp = int(ref[1:], 16) if ref[0] in "xX" else int(ref) if len(ref) < 9 else -1
    return m.group(0) if _legal(cp) else ""


def parse_xml(xml: str) -> dict[str, Any]:
    """The message's fields. A sender's NUL byte or lone surrogate makes the XML ill-formed: parsed
    again without those characters, so the person gets an answer to the rest of what they typed
    instead of silence (the dispatcher drops the same characters from any text)."""
    try:
        msg = xmltodict.parse(xml)["xml"]
    except Exception:
        msg = xmltodict.parse(_CHAR_REF.sub(_drop_ref, _ILLEGAL_RAW.sub("", xml)))["xml"]
    if not isinstance(msg, dict):
        raise ValueError("not a message")
    return msg


class WeComCallback:
    def __init__(self, crypto: WeChatCrypto, channel: WeComChannel, handle: Handle, inbox: Inbox, *,
                 max_attachment_bytes: int, numbered: bool = True) -> None:
        self.crypto, self.channel, self.handle = crypto, channel, handle
        self.max_attachment_bytes, self.numbered = max_attachment_bytes, numbered
        self.order = PerChat()  # people at once, each person's messages in order
        self.inbox = inbox
        inbox.serve(self.work)

    def _fresh(self, timestamp: str) -> bool:
        try:
            return abs(time.time() - int(timestamp)) <= REPLAY_WINDOW_SECONDS
        except ValueError:
            return False

    async def verify(self, request: web.Request) -> web.Response:
        q = request.query
        try:
            if not self._fresh(q.get("timestamp", "")):
                raise InvalidSignatureException()
            echo = self.crypto.check_signature(q["msg_signature"], q["timestamp"], q["nonce"], q["echostr"])
        except (KeyError, InvalidSignatureException, InvalidCorpIdException, ValueError, TypeError):
            return web.Response(status=403, text="forbidden")
        return web.Response(text=echo.decode() if isinstance(echo, bytes) else echo)

    async def receive(self, request: web.Request) -> web.Response:
        q = request.query
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            return web.Response(status=413, text="too large")
        body = await request.read()
        if len(body) > MAX_BODY_BYTES:
            return web.Response(status=413, text="too large")
        if not all(q.get(k) for k in ("msg_signature", "timestamp", "nonce")):
            return web.Response(status=400, text="missing parameters")
        try:
            if not self._fresh(q.get("timestamp", "")):
                return web.Response(status=403, text="stale")
            xml = self.crypto.decrypt_message(body, q["msg_signature"], q["timestamp"], q["nonce"])
        except KeyError:
            return web.Response(status=400, text="missing parameters")
        except (InvalidSignatureException, InvalidCorpIdException):
            return web.Response(status=403, text="forbidden")
        except Exception:  # undecryptable or not XML at all
            return web.Response(status=400, text="bad request")
        try:
            msg = parse_xml(xml)
            assert msg.get("FromUserName")
        except Exception:
            return web.Response(status=400, text="bad request")
        # Stored first, then answered; the work follows (WeCom retries anything slower than 5 s,
        # and anything not answered 200: a message that could not be stored comes again).
        try:
            await self.inbox.accept(msg)
        except StoreFailed:
            return web.Response(status=503, text="try again")
        return web.Response(text="")

    async def work(self, msg: dict[str, Any]) -> None:
        """Handle one stored message, in its sender's turn. Raises (the inbox keeps it for another
        try) when the media could not be fetched or the dispatcher could not reach the database."""
        async with self.order.turn((CHANNEL, str(msg["FromUserName"]))):
            await self._work_in_turn(msg)

    async def _work_in_turn(self, msg: dict[str, Any]) -> None:
        event = await self._event(msg)
        if event is None:
            return
        user = str(msg["FromUserName"])

        async def deliver(reply: Reply) -> None:  # a receipt: sent before its report is committed
            await self.channel.answer(user, reply)

        replies = await self.handle(event, deliver=deliver, retry_later=True)  # kept in the inbox
        # Handled and committed: from here a retry would be de-duplicated, so failures only log.
        try:
            for r in replies:
                await self.channel.send(user, r)
            if event.button and msg.get("TaskId") and replies:
                await self.channel.update_card(user, msg["TaskId"], replies[0].text)
        except Exception:
            log.exception("wecom answer could not be sent")  # content and sender are not logged

    async def _event(self, msg: dict[str, Any]) -> InboundEvent | None:
        user = str(msg["FromUserName"])
        mtype = msg.get("MsgType")
        base = dict(channel=CHANNEL, sender=Sender(channel=CHANNEL, external_id=user), numbered_menus=self.numbered,
                    received_at=datetime.now(UTC))
        if mtype == "event":
            ev = msg.get("Event", "")
            key = f"{user}:{msg.get('CreateTime')}:{ev}"
            if ev == "template_card_event":
                # A card press is a real button, not a number typed against a text menu.
                return InboundEvent(**{**base, "numbered_menus": False}, button=str(msg.get("EventKey")),
                                    dedupe_key=key) if msg.get("EventKey") else None
            if ev in ("enter_agent", "subscribe"):
                return InboundEvent(**base, text="/start", dedupe_key=key)
            return None
        dedupe = f"m{msg.get('MsgId')}" if msg.get("MsgId") else f"{user}:{msg.get('CreateTime')}"
        if mtype == "text":
            return InboundEvent(**base, text=str(msg.get("Content") or ""), dedupe_key=dedupe)
        if mtype in ("image", "file", "voice", "video"):
            data, size, ctype, name = await in_thread(self.channel.client.download, str(msg.get("MediaId")),
                                                      self.max_attachment_bytes)
            if mtype == "image" and ctype == "application/octet-stream":
                ctype = "image/jpeg"
            f = InboundFile(filename=str(msg.get("FileName") or name), content_type=ctype, size=size, data=data,
                            kind="photo" if mtype == "image" else "document" if mtype == "file" else mtype)
            return InboundEvent(**base, attachment=f, dedupe_key=dedupe)
        return InboundEvent(**base, text=None, dedupe_key=dedupe)  # location, link…: the neutral answer

    async def drain(self) -> None:
        """Wait for work in progress (tests, shutdown)."""
        await self.inbox.drain()
