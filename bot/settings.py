"""Settings from the environment (prefix ``LIANZU_``) and an optional ``.env``.

Domain settings are declared in :class:`handlers.config.Config`; this adds the channels.
A wrong value stops start-up with a message naming the setting (:func:`load_settings`).
"""

from __future__ import annotations

import re

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from handlers.policy import PolicyError, load_policy
from handlers.config import Config


class SettingsError(Exception):
    """Raised with a readable message naming each wrong setting."""


class Settings(Config, BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LIANZU_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    console: bool | None = Field(default=None, description="console channel; on when no channel token is set")
    log_level: str = "INFO"

    # Telegram (issue 7): the token turns the channel on; see docs/telegram.md.
    telegram_token: SecretStr | None = None
    telegram_api_url: str | None = Field(default=None, description="self-hosted Bot API server, e.g. http://127.0.0.1:8081")
    telegram_mode: str = "polling"
    telegram_webhook_url: str | None = Field(default=None, description="public HTTPS URL Telegram posts updates to")
    telegram_webhook_path: str = Field(default="/telegram/webhook", pattern=r"^/")
    telegram_webhook_secret: SecretStr | None = Field(default=None, description="X-Telegram-Bot-Api-Secret-Token")

    # WeCom / 企业微信 (issue 8): a self-built app; all five of corp id, agent id, secret,
    # callback token and EncodingAESKey, or none. See docs/wecom.md.
    wecom_corp_id: str | None = None
    wecom_agent_id: int | None = None
    wecom_secret: SecretStr | None = None
    wecom_token: SecretStr | None = None
    wecom_aes_key: SecretStr | None = Field(default=None, description="EncodingAESKey, 43 characters")
    wecom_api_base: str = Field(default="https://qyapi.weixin.qq.com/cgi-bin/", description="private deployments: their own API base")
    wecom_callback_path: str = Field(default="/wecom/callback", pattern=r"^/")
    wecom_cards: bool = Field(default=False, description="buttons as template cards instead of numbered text menus")

    # Outbox delivery limits (issue 6): the worker never sends faster than these.
    telegram_rate_overall: float = Field(default=30, gt=0, description="messages per second, all chats")
    telegram_rate_per_chat: float = Field(default=1, gt=0, description="messages per second, one chat")
    wecom_rate_per_member: float = Field(default=30, gt=0, description="messages per minute, one member")
    delivery_max_attempts: int = Field(default=8, ge=1, description="then the notice is dead-lettered and admins told")

    # The web server shared by the Telegram webhook and the WeCom callback.
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8080, ge=0, le=65535, description="0: any free port (tests)")

    @field_validator("telegram_mode")
    @classmethod
    def _mode(cls, v: str) -> str:
        if v not in ("polling", "webhook"):
            raise ValueError("must be 'polling' or 'webhook'")
        return v

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _secret(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and not re.match(r"^[A-Za-z0-9_-]{1,256}$", v.get_secret_value()):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return v

    @model_validator(mode="after")
    def _webhook(self) -> "Settings":
        if self.telegram_token is not None and self.telegram_mode == "webhook":
            if not self.telegram_webhook_url or self.telegram_webhook_secret is None:
                raise ValueError("LIANZU_TELEGRAM_MODE=webhook needs LIANZU_TELEGRAM_WEBHOOK_URL and "
                                 "LIANZU_TELEGRAM_WEBHOOK_SECRET")
        return self

    @model_validator(mode="after")
    def _wecom(self) -> "Settings":
        parts = {"LIANZU_WECOM_CORP_ID": self.wecom_corp_id, "LIANZU_WECOM_AGENT_ID": self.wecom_agent_id,
                 "LIANZU_WECOM_SECRET": self.wecom_secret, "LIANZU_WECOM_TOKEN": self.wecom_token,
                 "LIANZU_WECOM_AES_KEY": self.wecom_aes_key}
        missing = [k for k, v in parts.items() if v is None]
        if 0 < len(missing) < len(parts):
            raise ValueError("WeCom needs all five settings or none; missing: " + ", ".join(missing))
        if self.wecom_aes_key is not None and len(self.wecom_aes_key.get_secret_value()) != 43:
            raise ValueError("LIANZU_WECOM_AES_KEY (EncodingAESKey) must be 43 characters")
        return self

    @property
    def wecom_enabled(self) -> bool:
        return self.wecom_corp_id is not None

    @field_validator("log_level")
    @classmethod
    def _level(cls, v: str) -> str:
        if v.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return v.upper()

    @property
    def console_enabled(self) -> bool:
        if self.console is not None:
            return self.console
        return self.telegram_token is None and self.wecom_corp_id is None


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning validation errors into one readable message."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"])
            name = f"LIANZU_{field.upper()}" if field else "settings"
            lines.append(f"  {name}: {err['msg']}")
        raise SettingsError("Invalid settings:\n" + "\n".join(lines)) from None
    try:  # the deadline policy is configuration too: a bad file stops start-up, naming the key
        load_policy(settings.policy_file, settings.tz)
    except PolicyError as exc:
        raise SettingsError(f"Invalid settings:\n  LIANZU_POLICY_FILE: {exc}") from None
    return settings
