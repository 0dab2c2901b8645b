"""The command menu Telegram shows next to the text box, in both languages (setMyCommands)."""

from __future__ import annotations

import re

from aiogram import Bot
from aiogram.types import BotCommand

from bot.telegram.limits import COMMAND_DESCRIPTION_CHARS, COMMAND_NAME_CHARS
from handlers.dispatcher import Dispatcher
from handlers.i18n import gettext_for
from handlers.router import Audience

_NAME = re.compile(rf"^[a-z0-9_]{{1,{COMMAND_NAME_CHARS}}}$")
# Telegram language codes → our catalogs.
LANGUAGES = {"zh": "zh_CN", "en": "en"}


def menu(dispatcher: Dispatcher, language: str) -> list[BotCommand]:
    """Commands everybody may use (staff commands stay out of a public menu)."""
    _ = gettext_for(language)
    specs = sorted((s for s in dispatcher.commands.values()
                    if s.help and s.audience is not Audience.staff and not s.roles and _NAME.match(s.name)),
                   key=lambda s: (s.order, s.name))
    return [BotCommand(command=s.name, description=_(s.help or s.name)[:COMMAND_DESCRIPTION_CHARS]) for s in specs]


async def publish(bot: Bot, dispatcher: Dispatcher, default_language: str) -> None:
    await bot.set_my_commands(menu(dispatcher, default_language))
    for code, language in LANGUAGES.items():
        await bot.set_my_commands(menu(dispatcher, language), language_code=code)
