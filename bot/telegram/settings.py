"""Telegram's ``LIANZU_TELEGRAM_…`` settings (part of ``bot.settings.Settings``); see docs/telegram.md."""

from __future__ import annotations

import re
from typing import Self

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator

from bot.telegram.limits import WEBHOOK_SECRET_PATTERN


class TelegramSettings(BaseModel):
    # The token turns the channel on.
    telegram_token: SecretStr | None = None
    telegram_api_url: str | None = Field(default=None, description="self-hosted Bot API server, e.g. http://127.0.0.1:8081")
    telegram_mode: str = "polling"
    telegram_webhook_url: str | None = Field(default=None, description="public HTTPS URL Telegram posts updates to")
    telegram_webhook_path: str = Field(default="/telegram/webhook", pattern=r"^/")
    telegram_webhook_secret: SecretStr | None = Field(default=None, description="X-Telegram-Bot-Api-Secret-Token")

    # Outbox delivery limits (issue 6): the worker never sends faster than these.
    telegram_rate_overall: float = Field(default=30, gt=0, description="messages per second, all chats")
    telegram_rate_per_chat: float = Field(default=1, gt=0, description="messages per second, one chat")

    @field_validator("telegram_mode")
    @classmethod
    def _telegram_mode(cls, v: str) -> str:
        if v not in ("polling", "webhook"):
            raise ValueError("must be 'polling' or 'webhook'")
        return v

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _telegram_secret(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and not re.match(WEBHOOK_SECRET_PATTERN, v.get_secret_value()):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return v

    @model_validator(mode="after")
    def _telegram_webhook(self) -> Self:
        if self.telegram_token is not None and self.telegram_mode == "webhook":
            if not self.telegram_webhook_url or self.telegram_webhook_secret is None:
                raise ValueError("LIANZU_TELEGRAM_MODE=webhook needs LIANZU_TELEGRAM_WEBHOOK_URL and "
                                 "LIANZU_TELEGRAM_WEBHOOK_SECRET")
        return self
