"""Settings from the environment (prefix ``LIANZU_``) and an optional ``.env``.

Domain settings are declared in :class:`handlers.config.Config`; this adds the channels.
A wrong value stops start-up with a message naming the setting (:func:`load_settings`).
"""

from __future__ import annotations

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
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

    # WeCom (企业微信) self-built app: all five of corp id, agent id, secret, callback token and
    # EncodingAESKey, or none. The API base is a setting so a private deployment works.
    wecom_corp_id: str | None = None
    wecom_agent_id: int | None = None
    wecom_secret: SecretStr | None = None
    wecom_token: SecretStr | None = None
    wecom_aes_key: SecretStr | None = None
    wecom_api_base: str = "https://qyapi.weixin.qq.com/cgi-bin/"
    # WeCom silently drops more than 30 messages per minute per member; the delivery worker reads this.
    wecom_per_member_per_minute: int = Field(default=30, ge=1, le=30)

    @model_validator(mode="after")
    def _wecom_all_or_none(self) -> "Settings":
        names = ("wecom_corp_id", "wecom_agent_id", "wecom_secret", "wecom_token", "wecom_aes_key")
        missing = [n for n in names if getattr(self, n) is None]
        if 0 < len(missing) < len(names):
            raise ValueError("WeCom needs all five settings; missing: "
                             + ", ".join(f"LIANZU_{n.upper()}" for n in missing))
        if self.wecom_aes_key is not None and len(self.wecom_aes_key.get_secret_value()) != 43:
            raise ValueError("LIANZU_WECOM_AES_KEY must be the 43-character EncodingAESKey")
        return self

    @property
    def wecom_enabled(self) -> bool:
        return self.wecom_corp_id is not None

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
        return self.telegram_token is None and not self.wecom_enabled


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
