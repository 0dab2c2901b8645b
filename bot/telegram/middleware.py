"""Outer middleware: turns each update into the neutral event before any handler runs,
fetching an attachment through getFile within the size limit."""

from __future__ import annotations

import io
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.exceptions import TelegramBadRequest, TelegramNetworkError
from aiogram.types import TelegramObject, Update

from bot.channels.base import PerChat
from bot.telegram import CHANNEL, translate
from handlers.events import InboundFile

log = logging.getLogger("lianzu.telegram")


class TooLarge(Exception):
    pass


class BoundedBuffer(io.BytesIO):
    """A download destination that refuses to grow past ``limit`` bytes, whatever the
    server announced: the download stops at the first chunk over it."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def write(self, b: Any) -> int:
        if self.tell() + len(b) > self.limit:
            raise TooLarge
        return super().write(b)

EVENT_KEY = "lianzu_event"


def chat_of(update: Update) -> int | None:
    """The chat an update belongs to (a button press: the chat of its message)."""
    if update.message is not None:
        return update.message.chat.id
    query = update.callback_query
    if query is not None:
        return query.message.chat.id if query.message is not None else query.from_user.id
    return None


class EventMiddleware(BaseMiddleware):
    """Registered on ``dp.update.outer_middleware``; handlers find the event in ``data[EVENT_KEY]``.
    Updates that need no answer (or cannot be read) stop here."""

    def __init__(self, max_bytes: int, order: PerChat | None = None) -> None:
        self.max_bytes = max_bytes
        self.order = order or PerChat()

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        update: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        assert isinstance(update, Update)
        # The whole update in the chat's turn, the download and the replies included.
        async with self.order.turn((CHANNEL, chat_of(update))):
            return await self._handle(handler, update, data)

    async def _handle(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        update: Update,
        data: dict[str, Any],
    ) -> Any:
        attachment = None
        if update.message is not None and update.message.from_user is not None:
            ref = translate.file_ref(update.message)
            if ref is not None and translate.chat_type(update.message.chat) == "private":
                attachment = await self.fetch(data["bot"], ref)
        event = translate.to_event(update, attachment, received_at=datetime.now(UTC))
        if event is None:
            return None  # nobody to answer; nothing is read or stored
        data[EVENT_KEY] = event
        return await handler(update, data)

    async def fetch(self, bot: Bot, ref: translate.FileRef) -> InboundFile:
        if ref.size is not None and ref.size > self.max_bytes:
            return translate.inbound_file(ref, None)
        try:
            tg_file = await bot.get_file(ref.file_id)
        except TelegramBadRequest:  # "file is too big" (over the Bot API download limit)
            return translate.inbound_file(ref, None, size=max(ref.size or 0, self.max_bytes + 1))
        if tg_file.file_size is not None and tg_file.file_size > self.max_bytes:
            return translate.inbound_file(ref, None, size=tg_file.file_size)
        if tg_file.file_path is None:
            return translate.inbound_file(ref, None, size=max(ref.size or 0, self.max_bytes + 1))
        buf = BoundedBuffer(self.max_bytes)
        try:
            await bot.download_file(tg_file.file_path, destination=buf)
        except TooLarge:  # the announced size was wrong: stop reading at the limit
            return translate.inbound_file(ref, None, size=self.max_bytes + 1)
        except TelegramNetworkError:
            log.warning("attachment download failed")
            raise
        return translate.inbound_file(ref, buf.getvalue())
