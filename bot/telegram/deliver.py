"""Sends one neutral reply to one chat through the Bot API (used for answers and pushes)."""

from __future__ import annotations

from aiogram import Bot
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import BufferedInputFile, InlineKeyboardMarkup

from bot.telegram.history import MESSAGES, ChatMessages
from bot.telegram.render import keyboard, text_parts
from handlers.events import Reply

# Bad Request descriptions that mean "send it as a new message instead".
_EDIT_IMPOSSIBLE = ("message to edit not found", "message can't be edited", "message_id_invalid")


async def deliver(bot: Bot, chat_id: int | str, reply: Reply, *, edit_message_id: int | None = None,
                  history: ChatMessages = MESSAGES) -> None:
    if reply.delete_recent:
        await delete_recent(bot, chat_id, history)
        edit_message_id = None  # the pressed message is gone
    parts = text_parts(reply.text)
    markup = keyboard(reply)
    if not parts and markup is not None:
        parts = ["·"]  # Telegram will not send a keyboard without text
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        kb = markup if last else None
        if i == 0 and edit_message_id is not None:
            if await _edit(bot, chat_id, edit_message_id, part, kb):
                continue
        sent = await bot.send_message(chat_id, part, parse_mode=ParseMode.HTML, reply_markup=kb)
        history.add(chat_id, sent.message_id)
    for f in reply.files:
        upload = BufferedInputFile(f.data, filename=f.filename)
        if f.kind == "photo":
            sent = await bot.send_photo(chat_id, upload)
        else:
            sent = await bot.send_document(chat_id, upload)
        history.add(chat_id, sent.message_id)


async def delete_recent(bot: Bot, chat_id: int | str, history: ChatMessages = MESSAGES) -> int:
    """Deletes the messages held for the chat (the bot's, and the person's in a private chat);
    returns how many went. Ones Telegram refuses (too old, already gone) are skipped."""
    deleted = 0
    for message_id in history.take(chat_id):
        try:
            if await bot.delete_message(chat_id, message_id):
                deleted += 1
        except TelegramBadRequest:
            continue
    return deleted


async def _edit(bot: Bot, chat_id: int | str, message_id: int, text: str, kb: InlineKeyboardMarkup | None) -> bool:
    """True when the pressed message now shows the reply (or already did)."""
    try:
        await bot.edit_message_text(text=text, chat_id=chat_id, message_id=message_id,
                                    parse_mode=ParseMode.HTML, reply_markup=kb)
        return True
    except TelegramBadRequest as exc:
        desc = exc.message.lower()
        if "message is not modified" in desc:
            return True
        if any(s in desc for s in _EDIT_IMPOSSIBLE):
            return False
        raise
