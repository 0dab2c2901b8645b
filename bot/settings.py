"""Settings from the environment (prefix ``LIANZU_``) and an optional ``.env``.

Domain settings are declared in :class:`handlers.config.Config`; each channel declares its
own (``ChannelSpec.settings`` in the channel's package, e.g. ``bot.telegram.settings``), and
``Settings`` extends them all, for every channel listed in ``bot.channels.registry``.
A wrong value stops start-up with a message naming the setting (:func:`load_settings`).
"""

from __future__ import annotations

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.channels import console
from bot.channels.registry import CHANNELS
from handlers.config import Config
from handlers.policy import PolicyError, load_policy

CHANNEL_SETTINGS = tuple(c.settings for c in CHANNELS if c.settings is not None)


class SettingsError(Exception):
    """Raised with a readable message naming each wrong setting."""


class Settings(Config, *CHANNEL_SETTINGS, BaseSettings):  # type: ignore[misc]  # bases from the channel registry: mypy cannot see a starred base list
    model_config = SettingsConfigDict(
        env_prefix="LIANZU_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    log_level: str = "INFO"

    # Outbox delivery (issue 6); each channel's rate limits are among its own settings.
    delivery_max_attempts: int = Field(default=8, ge=1, description="then the notice is dead-lettered and admins told")

    # The web server shared by the channels that are called over HTTP (Telegram webhook, WeCom callback).
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8080, ge=0, le=65535, description="0: any free port (tests)")

    @field_validator("log_level")
    @classmethod
    def _level(cls, v: str) -> str:
        if v.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return v.upper()

    @property
    def console_enabled(self) -> bool:
        """LIANZU_CONSOLE if set; otherwise on when no other channel is configured."""
        return console.SPEC.enabled(self)


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning validation errors into one readable message."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]  # keyword overrides are checked by pydantic, not mypy
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"])
            name = f"LIANZU_{field.upper()}" if field else "settings"
            lines.append(f"  {name}: {err['msg']}")
        raise SettingsError("Invalid settings:\n" + "\n".join(lines)) from None
    # The demo organisation has a joint case unit (室组地联动): on there unless set, so a newcomer sees it at work.
    if "joint_units" not in settings.model_fields_set and settings.demo_org and settings.org_file is None:
        settings.joint_units = True
    try:  # the deadline policy is configuration too: a bad file stops start-up, naming the key
        load_policy(settings.policy_file, settings.tz)
    except PolicyError as exc:
        raise SettingsError(f"Invalid settings:\n  LIANZU_POLICY_FILE: {exc}") from None
    return settings
