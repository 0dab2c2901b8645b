"""The real Telegram adapter (aiogram) against the local Bot API stand-in, over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest

from bot.telegram.history import MESSAGES
from bot.telegram.service import TelegramService
from bot.telegram.webhook import SECRET_HEADER
from bot.web import WebServer
from handlers.dispatcher import Dispatcher
from handlers.i18n import Gettext, gettext_for
from tests.fakes import data_label, label_for, language_of, make_event
from tests.telegram.standin import BotAPIStandIn, callback, message, user

WEBHOOK_SECRET = "s3cret-Token_for-tests"
WEBHOOK_PATH = "/telegram/webhook"


@pytest.fixture
async def standin() -> AsyncIterator[BotAPIStandIn]:
    s = BotAPIStandIn()
    MESSAGES.clear()  # message ids the bot remembers belong to one stand-in
    await s.start()
    yield s
    await s.stop()


@dataclass
class Running:
    """A started Telegram service and how updates reach it (polling or webhook)."""

    service: TelegramService
    standin: BotAPIStandIn
    web: WebServer | None = None
    statuses: list[int] = field(default_factory=list)

    async def deliver(self, update: dict[str, Any], *, secret: str | None = WEBHOOK_SECRET) -> int:
        """Hands one update to the bot and returns when it has been processed."""
        if "message" in update:
            m = update["message"]
            self.standin.incoming.add((int(m["chat"]["id"]), int(m["message_id"])))
        if self.web is None:
            uid = self.standin.push(update)
            # Asking for the next offset means the update was taken (its chat's turn asked for);
            # no chat with work left means it was handled.
            await self.standin.wait_for(lambda: any(
                c.method == "getUpdates" and int(c.params.get("offset", 0) or 0) > uid for c in self.standin.calls))
            await asyncio.wait_for(self.service.order.idle(), 5)
            return 200
        update.setdefault("update_id", next(self.standin.update_ids))
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        async with aiohttp.ClientSession() as http, http.post(
            f"http://127.0.0.1:{self.web.port}{WEBHOOK_PATH}", json=update, headers=headers) as resp:
            self.statuses.append(resp.status)
        if self.service.inbox is not None:  # answered once stored: wait for the work too
            await self.service.inbox.drain()
        return resp.status

    def phone(self, uid: int, **kw: Any) -> Phone:
        return Phone(self, uid, **kw)


@dataclass
class Phone:
    """One Telegram user's private chat with the bot."""

    running: Running
    uid: int
    language_code: str | None = "zh-hans"
    username: str | None = None
    first_name: str = "Test"
    next_message_id: int = 100_000

    def _user(self) -> dict[str, Any]:
        return user(self.uid, language_code=self.language_code, username=self.username, first_name=self.first_name)

    def _seen(self) -> int:
        return len(self.running.standin.sent_to(self.uid))

    async def send(self, text: str | None = None, **extra: Any) -> list[str]:
        before = self._seen()
        self.next_message_id += 1
        await self.running.deliver(message(self.uid, text, message_id=self.next_message_id,
                                           from_user=self._user(), **extra))
        return self.new_texts(before)

    def new_texts(self, before: int) -> list[str]:
        return [c.params.get("text", "") for c in self.running.standin.sent_to(self.uid)[before:]]

    async def gettext(self) -> Gettext:
        """Translations in the language this chat is answered in now."""
        event = make_event(channel="telegram", external_id=str(self.uid), language_code=self.language_code)
        return gettext_for(await language_of(self.running.service.dispatcher, event))

    async def label(self, msgid: str, **params: object) -> str:
        """The label of the button for the catalog's ``msgid`` in this chat's language."""
        return label_for(await self.gettext(), msgid, **params)

    def keyboard_message(self, label: str) -> tuple[int, str]:
        """(message id, callback data) of the newest message here with a button labelled exactly ``label``."""
        return self._find(lambda b: b["text"] == label, repr(label))

    def _find(self, match: Callable[[dict[str, Any]], bool], what: str) -> tuple[int, str]:
        for (chat, mid), content in sorted(self.running.standin.messages.items(), key=lambda kv: -kv[0][1]):
            if chat != self.uid:
                continue
            for row in (content.get("reply_markup") or {}).get("inline_keyboard", []):
                for b in row:
                    if match(b):
                        return mid, b["callback_data"]
        raise AssertionError(f"no button {what} in chat {self.uid}")

    async def press(self, msgid: str, **params: object) -> list[str]:
        """Press the button labelled with the catalog's ``msgid`` in this chat's language, exactly."""
        label = await self.label(msgid, **params)
        return await self._press(*self._find(lambda b: b["text"] == label, f"{msgid!r} ({label!r})"))

    async def press_label(self, label: str) -> list[str]:
        """Press the button labelled exactly ``label``: only for labels that are data (a unit's name)."""
        return await self._press(*self.keyboard_message(data_label(label)))

    async def _press(self, mid: int, data: str) -> list[str]:
        before = self._seen()
        await self.running.deliver(callback(self.uid, data, message_id=mid, from_user=self._user()))
        return self.new_texts(before)

    @property
    def texts(self) -> list[str]:
        return self.running.standin.texts_to(self.uid)


async def _run(dispatcher: Dispatcher, standin: BotAPIStandIn, mode: str) -> AsyncIterator[Running]:
    web = WebServer("127.0.0.1", 0) if mode == "webhook" else None
    service = TelegramService(dispatcher, token=standin.token, api_url=standin.url, mode=mode, web=web,
                              webhook_url="https://bot.example.org" + WEBHOOK_PATH, webhook_path=WEBHOOK_PATH,
                              webhook_secret=WEBHOOK_SECRET, poll_timeout=1)
    if web is not None:
        await web.start()
    await service.start()
    try:
        yield Running(service=service, standin=standin, web=web)
    finally:
        await service.stop()
        if web is not None:
            await web.stop()


@pytest.fixture
async def polling(dispatcher: Dispatcher, standin: BotAPIStandIn) -> AsyncIterator[Running]:
    async for r in _run(dispatcher, standin, "polling"):
        yield r


@pytest.fixture
async def webhook(dispatcher: Dispatcher, standin: BotAPIStandIn) -> AsyncIterator[Running]:
    async for r in _run(dispatcher, standin, "webhook"):
        yield r


@pytest.fixture(params=["polling", "webhook"])
async def tg(request: pytest.FixtureRequest, dispatcher: Dispatcher, standin: BotAPIStandIn) -> AsyncIterator[Running]:
    async for r in _run(dispatcher, standin, request.param):
        yield r
