"""Sends one neutral reply to one chat through the Bot API (used for answers and pushes)."""

from __future__ import annotations

from aiogram import Bot
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import BufferedInputFile, InlineKeyboardMarkup

from bot.telegram.render import keyboard, text_parts
from handlers.events import Reply

# Bad Request descriptions that mean "send it as a new message instead".
_EDIT_IMPOSSIBLE = ("message to edit not found", "message can't be edited", "message_id_invalid")


async def deliver(bot: Bot, chat_id: int | str, reply: Reply, *, edit_message_id: int | None = None) -> None:
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
        await bot.send_message(chat_id, part, parse_mode=ParseMode.HTML, reply_markup=kb)
    for f in reply.files:
        upload = BufferedInputFile(f.data, filename=f.filename)
        if f.kind == "photo":
            await bot.send_photo(chat_id, upload)
        else:
            await bot.send_document(chat_id, upload)


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
