"""The webhook route on the shared web server: checks Telegram's secret header, then feeds
the update to aiogram. A wrong or missing secret gets 401 and nothing else happens."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable

from aiogram import Bot
from aiogram import Dispatcher as AiogramDispatcher
from aiogram.types import Update
from aiohttp import web
from pydantic import ValidationError

log = logging.getLogger("lianzu.telegram")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def make_handler(dp: AiogramDispatcher, bot: Bot, secret: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    expected = secret.encode()

    async def handle(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, expected):
            return web.Response(status=401, text="unauthorized")
        try:
            update = Update.model_validate(json.loads(await request.read()), context={"bot": bot})
        except (ValueError, ValidationError):
            # Dropped with 200: Telegram re-sends anything else, and an update that can never be
            # read would hold up every later one.
            log.warning("unreadable webhook update dropped")
            return web.json_response({})
        # Answered after processing: a re-delivery (timeout on Telegram's side) is de-duplicated
        # by update_id in the neutral dispatcher.
        await dp.feed_update(bot, update)
        return web.json_response({})

    return handle
