"""The webhook route on the shared web server: checks Telegram's secret header, stores the update
in the inbox (bot/inbox.py), answers, then feeds it to aiogram. A wrong or missing secret gets
401 and nothing else happens."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot
from aiogram import Dispatcher as AiogramDispatcher
from aiogram.types import Update
from aiohttp import web
from pydantic import ValidationError

from bot.inbox import Inbox, StoreFailed

log = logging.getLogger("lianzu.telegram")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# In aiogram's handler data: the update came through the inbox, which keeps it when the work fails.
DURABLE = "lianzu_durable"


def make_processor(dp: AiogramDispatcher, bot: Bot) -> Callable[[dict[str, Any]], Awaitable[None]]:
    """Works one stored update: the same path as polling. An exception (database unavailable,
    download failed) leaves it in the inbox for another try; a re-run is de-duplicated by
    update_id in the neutral dispatcher."""

    async def process(payload: dict[str, Any]) -> None:
        await dp.feed_update(bot, Update.model_validate(payload, context={"bot": bot}), **{DURABLE: True})

    return process


def make_handler(bot: Bot, secret: str, inbox: Inbox) -> Callable[[web.Request], Awaitable[web.Response]]:
    expected = secret.encode()

    async def handle(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, expected):
            return web.Response(status=401, text="unauthorized")
        try:
            payload = json.loads(await request.read())
            Update.model_validate(payload, context={"bot": bot})
            assert isinstance(payload, dict)
        except (ValueError, ValidationError, AssertionError):
            # Dropped with 200: Telegram re-sends anything else, and an update that can never be
            # read would hold up every later one.
            log.warning("unreadable webhook update dropped")
            return web.json_response({})
        # Stored before the answer: Telegram does not send an acknowledged update again. When it
        # cannot be stored (the database is away), an error makes Telegram send it again later.
        try:
            await inbox.accept(payload)
        except StoreFailed:
            return web.json_response({"ok": False}, status=503)
        return web.json_response({})

    return handle
