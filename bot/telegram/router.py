"""The aiogram Router of the Telegram channel: every message and button press goes to the
neutral dispatcher; its replies are rendered back into the same chat."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError, TelegramRetryAfter
from aiogram.types import CallbackQuery, Message

from bot.inbox import delete_with
from bot.telegram.deliver import deliver
from bot.telegram.history import MESSAGES
from bot.telegram.middleware import EVENT_KEY
from bot.telegram.webhook import DURABLE
from handlers.dispatcher import Dispatcher
from handlers.events import InboundEvent, Reply

log = logging.getLogger("lianzu.telegram")
# Longest Telegram-requested pause an answer waits for before giving up on it.
MAX_ANSWER_WAIT_SECONDS = 30
pause = asyncio.sleep  # tests record the pause instead of sleeping


def make_router(dispatcher: Dispatcher) -> Router:
    router = Router(name="lianzu")

    @router.message()
    async def on_message(message: Message, bot: Bot, **data: Any) -> None:
        event: InboundEvent = data[EVENT_KEY]
        if message.chat.type == "private":  # a bot may delete a person's messages only there
            MESSAGES.add(message.chat.id, message.message_id)
        durable = bool(data.get(DURABLE))
        replies = await dispatcher.handle(event, deliver=_Strict(bot, message.chat.id), retry_later=durable,
                                          finish=delete_with if durable else None)
        await _answer(bot, message.chat.id, replies)

    @router.callback_query()
    async def on_button(query: CallbackQuery, bot: Bot, **data: Any) -> None:
        event: InboundEvent = data[EVENT_KEY]
        # Answer at once so the button stops spinning, even when the press was a repeat.
        try:
            await query.answer()
        except TelegramAPIError:  # too old to answer: the reply below still goes out
            pass
        chat_id = query.message.chat.id if query.message is not None else query.from_user.id
        pressed = query.message.message_id if query.message is not None else None
        strict = _Strict(bot, chat_id, pressed)
        durable = bool(data.get(DURABLE))
        replies = await dispatcher.handle(event, deliver=strict, retry_later=durable,
                                          finish=delete_with if durable else None)
        await _answer(bot, chat_id, replies, pressed=None if strict.used else pressed)

    return router


class _Strict:
    """How the dispatcher sends a reply that must arrive before its update is committed (a receipt):
    raises when Telegram did not take it."""

    def __init__(self, bot: Bot, chat_id: int, pressed: int | None = None) -> None:
        self.bot, self.chat_id, self.pressed = bot, chat_id, pressed
        self.used = False

    async def __call__(self, reply: Reply) -> None:
        edit = self.pressed if (reply.edit and not self.used) else None
        self.used = True
        await _send(self.bot, self.chat_id, reply, edit)


async def _send(bot: Bot, chat_id: int, reply: Reply, edit: int | None) -> None:
    try:
        await deliver(bot, chat_id, reply, edit_message_id=edit)
    except TelegramRetryAfter as exc:
        # A burst to one chat (a long reply in parts): the person is waiting for this
        # answer, so wait as Telegram asks, once, then send it again.
        if exc.retry_after > MAX_ANSWER_WAIT_SECONDS:
            raise
        await pause(exc.retry_after)
        await deliver(bot, chat_id, reply, edit_message_id=edit)


async def _answer(bot: Bot, chat_id: int, replies: list[Reply], *, pressed: int | None = None) -> None:
    for i, reply in enumerate(replies):
        try:
            await _send(bot, chat_id, reply, pressed if (reply.edit and i == 0) else None)
        except TelegramAPIError as exc:
            # The change is committed; only showing it failed. Log the kind, never the chat.
            log.warning("reply not delivered: %s", type(exc).__name__)
