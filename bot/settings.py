"""Settings from the environment (prefix ``LIANZU_``) and an optional ``.env``.

Domain settings are declared in :class:`handlers.config.Config`; this adds the channels.
A wrong value stops start-up with a message naming the setting (:func:`load_settings`).
"""

from __future__ import annotations

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from handlers.config import Config


class SettingsError(Exception):
    """Raised with a readable message naming each wrong setting."""


class Settings(Config, BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LIANZU_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    console: bool | None = Field(default=None, description="console channel; on when no channel token is set")
    log_level: str = "INFO"

    # Telegram
    telegram_token: SecretStr | None = None
    telegram_api_url: str | None = None
    telegram_mode: str = "polling"

    # The web server shared by the Telegram webhook and the WeCom callback.
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8080, ge=1, le=65535)

    @field_validator("telegram_mode")
    @classmethod
    def _mode(cls, v: str) -> str:
        if v not in ("polling", "webhook"):
            raise ValueError("must be 'polling' or 'webhook'")
        return v

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
        return self.telegram_token is None


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning validation errors into one readable message."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"])
            name = f"LIANZU_{field.upper()}" if field else "settings"
            lines.append(f"  {name}: {err['msg']}")
        raise SettingsError("Invalid settings:\n" + "\n".join(lines)) from None
