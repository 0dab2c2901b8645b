"""Runs the Telegram channel: builds the aiogram bot and dispatcher, publishes the command
menu, then polls (getUpdates) or receives a webhook on the shared web server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiogram import Bot
from aiogram import Dispatcher as AiogramDispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.methods import (
    AnswerCallbackQuery,
    DeleteMessage,
    EditMessageText,
    GetFile,
    SendDocument,
    SendMessage,
    SendPhoto,
    TelegramMethod,
)
from aiogram.methods.base import Response

from bot.channels.base import PerChat
from bot.inbox import Inbox
from bot.logs import quiet_libraries
from bot.tasks import cancel_quietly
from bot.telegram import CHANNEL, commands
from bot.telegram.channel import TelegramChannel
from bot.telegram.limits import POLL_TIMEOUT_SECONDS, PUBLIC_DOWNLOAD_BYTES
from bot.telegram.middleware import EventMiddleware
from bot.telegram.router import make_router
from bot.telegram.webhook import make_handler, make_processor
from bot.web import WebServer
from handlers.dispatcher import Dispatcher

log = logging.getLogger("lianzu.telegram")
# Only what the router answers; everything else Telegram need not send.
ALLOWED_UPDATES = ["message", "callback_query"]
# Polled updates in work or waiting for their chat's turn; getUpdates pauses beyond it.
MAX_WAITING_UPDATES = 256
STOP_WAIT_SECONDS = 10
# The Bot API methods an update's answer calls.
ANSWER_METHODS: tuple[type[TelegramMethod[Any]], ...] = (
    SendMessage, EditMessageText, AnswerCallbackQuery, SendDocument, SendPhoto, DeleteMessage, GetFile)
_answer_types: list[Any] = []


def keep_answer_types() -> None:
    """aiogram reads every Bot API answer as ``Response[T]``, a pydantic generic class built on first
    use and cached weakly: a full garbage collection drops it, and the next answer builds it again
    (about 10 ms of CPU, several times a second under load). Holding them keeps them built."""
    if not _answer_types:
        _answer_types.extend(Response.__class_getitem__(m.__returning__) for m in ANSWER_METHODS)


class TelegramService:
    name = "telegram"

    def __init__(
        self,
        dispatcher: Dispatcher,
        *,
        token: str,
        api_url: str | None = None,
        mode: str = "polling",
        web: WebServer | None = None,
        webhook_url: str | None = None,
        webhook_path: str = "/telegram/webhook",
        webhook_secret: str | None = None,
        poll_timeout: int = POLL_TIMEOUT_SECONDS,
    ) -> None:
        quiet_libraries()  # aiogram logs update and chat details at INFO/DEBUG: never let it
        keep_answer_types()
        self.dispatcher = dispatcher
        self.mode = mode
        session = AiohttpSession(api=TelegramAPIServer.from_base(api_url)) if api_url else AiohttpSession()
        self.bot = Bot(token=token, session=session)
        # A self-hosted Bot API server lifts the 20 MB download limit; the setting still applies.
        limit = dispatcher.deps.config.max_attachment_bytes
        self.max_bytes = limit if api_url else min(limit, PUBLIC_DOWNLOAD_BYTES)
        self.dp = AiogramDispatcher()
        # Chats at once, each in order (bot.channels.base.PerChat), in both modes.
        self.order = PerChat()
        self.dp.update.outer_middleware(EventMiddleware(self.max_bytes, self.order))
        self.dp.include_router(make_router(dispatcher))
        self.channel = TelegramChannel(self.bot)
        self.poll_timeout = poll_timeout
        self.webhook_url, self.webhook_secret = webhook_url, webhook_secret
        self._task: asyncio.Task[None] | None = None
        self.inbox: Inbox | None = None
        if mode == "webhook":
            if web is None or not webhook_url or not webhook_secret:
                raise ValueError("webhook mode needs the web server, a webhook URL and a secret")
            d = dispatcher.deps
            self.inbox = Inbox(CHANNEL, d.sessionmaker, d.sealer, d.clock)
            self.inbox.serve(make_processor(self.dp, self.bot))
            web.add_route("POST", webhook_path, make_handler(self.bot, webhook_secret, self.inbox))

    async def start(self) -> None:
        await commands.publish(self.bot, self.dispatcher, self.dispatcher.deps.config.default_language)
        if self.inbox is not None:
            await self.inbox.start()  # first finishes what a previous process stored and left
        if self.mode == "webhook":
            await self.bot.set_webhook(self.webhook_url or "", secret_token=self.webhook_secret,
                                       allowed_updates=ALLOWED_UPDATES)
            log.info("telegram webhook set")
            return
        # getUpdates is refused while a webhook is set; pending updates are kept.
        await self.bot.delete_webhook(drop_pending_updates=False)
        self._task = asyncio.create_task(self.dp.start_polling(
            self.bot, polling_timeout=self.poll_timeout, handle_signals=False, close_bot_session=False,
            allowed_updates=ALLOWED_UPDATES,
            # Each update in its own task, started in order; the middleware's per-chat turn keeps
            # a person's messages from overtaking each other. The cap bounds the tasks waiting.
            handle_as_tasks=True, tasks_concurrency_limit=MAX_WAITING_UPDATES,
        ))
        log.info("telegram polling started")

    async def stop(self) -> None:
        if self.inbox is not None:
            await self.inbox.stop()
        if self._task is not None:
            with contextlib.suppress(RuntimeError):
                await self.dp.stop_polling()
            await cancel_quietly(self._task)
            self._task = None
        # Updates already taken finish, with their replies, before the session closes.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.order.idle(), STOP_WAIT_SECONDS)
        await self.bot.session.close()
