"""The Telegram channel as ``lianzu run`` knows it (issue 7): on when a token is set; a
polling or webhook service, and the channel for pushes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.channels.base import ChannelSpec, Limits
from bot.telegram import CHANNEL
from bot.telegram.settings import TelegramSettings
from handlers.i18n import N_

if TYPE_CHECKING:
    from bot.app import App
    from bot.settings import Settings


def enabled(settings: Settings) -> bool:
    return settings.telegram_token is not None


def limits(settings: Settings) -> Limits:
    """About 30 messages a second overall and 1 a second per chat, unless the settings say less."""
    return Limits(settings.telegram_rate_overall, 1.0, settings.telegram_rate_per_chat, 1.0)


def start(app: App) -> None:
    from bot.telegram.service import TelegramService  # aiogram only when Telegram is on

    s = app.settings
    assert s.telegram_token is not None
    service = TelegramService(
        app.dispatcher,
        token=s.telegram_token.get_secret_value(),
        api_url=s.telegram_api_url,
        mode=s.telegram_mode,
        web=app.web() if s.telegram_mode == "webhook" else None,
        webhook_url=s.telegram_webhook_url,
        webhook_path=s.telegram_webhook_path,
        webhook_secret=s.telegram_webhook_secret.get_secret_value() if s.telegram_webhook_secret else None,
    )
    app.channels[service.channel.name] = service.channel
    app.services.append(service)


SPEC = ChannelSpec(
    name=CHANNEL,
    enabled=enabled,
    start=start,
    platform_note=N_("Telegram itself can see that your account wrote to this bot, but not what we store."),
    limits=limits,
    settings=TelegramSettings,
    forget_note=N_("On Telegram I delete my messages in this chat, the receipt among them, and the messages you "
                   "sent me. Telegram only lets me delete messages from the last 48 hours: delete the chat "
                   "yourself as well (“Delete chat” in the chat menu), on every device you use."),
)
