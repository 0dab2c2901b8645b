"""Neutral :class:`Reply` → what Telegram shows: HTML-escaped text parts within the message
limit, an inline keyboard on the last part, files as photos or documents."""

from __future__ import annotations

import html

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.telegram.limits import MESSAGE_CHARS
from handlers.events import Reply
from handlers.render import split_text


def text_parts(text: str) -> list[str]:
    """Split the raw text (Telegram counts characters after parsing), then escape each part."""
    if not text.strip():
        return []
    return [html.escape(p, quote=False) for p in split_text(text, MESSAGE_CHARS) if p.strip()]


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=b.label, callback_data=b.data) for b in row]
                         for row in reply.buttons if row]
    )

