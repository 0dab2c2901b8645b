"""Pushes outbox notices to Telegram (the delivery worker calls ``send``)."""

from __future__ import annotations

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)

from bot.channels.base import DeliveryError
from bot.telegram import CHANNEL
from bot.telegram.deliver import deliver
from handlers.events import Reply

# Bad Request descriptions after which retrying the same address cannot help.
_GONE = ("chat not found", "user not found", "peer_id_invalid", "user is deactivated", "bot was kicked")


class TelegramChannel:
    name = CHANNEL

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(self, address: str, reply: Reply) -> None:
        """``address`` is the ``ChatIdentity.external_id`` (the Telegram user id = private chat id).
        Failures become :class:`DeliveryError`; messages carry no address or content."""
        try:
            chat_id: int | str = int(address)
        except ValueError:
            raise DeliveryError("not a Telegram chat id", permanent=True) from None
        try:
            await deliver(self.bot, chat_id, reply)
        except TelegramRetryAfter as exc:
            raise DeliveryError("rate limited", retry_after=float(exc.retry_after)) from None
        except TelegramForbiddenError:
            raise DeliveryError("blocked by the user", permanent=True) from None
        except TelegramMigrateToChat:
            raise DeliveryError("chat migrated", permanent=True) from None
        except TelegramBadRequest as exc:
            gone = any(s in exc.message.lower() for s in _GONE)
            raise DeliveryError("chat unreachable" if gone else "rejected by Telegram", permanent=gone) from None
        except TelegramUnauthorizedError:
            raise DeliveryError("bot token rejected") from None
        except (TelegramServerError, TelegramNetworkError):
            raise DeliveryError("Telegram unavailable") from None
