"""What the assistant's behaviour depends on. ``bot.settings.Settings`` extends this with
channel settings and fills it from the environment; tests build it directly."""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator

SUPPORTED_LANGUAGES = ("zh_CN", "en")
DEMO_SALT = "lianzu-demo-installation-salt-change-me"
DEMO_KEYS = "k1:bGlhbnp1LWRlbW8ta2V5LWRvLW5vdC11c2UtaW4tcHI="


class Config(BaseModel):
    database_url: str = Field(
        default="sqlite+aiosqlite:///lianzu.db",
        description="SQLAlchemy async URL; a SQLite file in the working directory by default",
    )
    default_language: str = "zh_CN"
    timezone: str = "Asia/Shanghai"

    # Defaults exist only so the embedded demo starts with no configuration;
    # start-up warns when they are in use.
    installation_salt: SecretStr = Field(
        default=SecretStr(DEMO_SALT),
        description="installation-wide salt for receipt hashes and sender keys (>= 16 chars)",
    )
    encryption_keys: SecretStr = Field(
        default=SecretStr(DEMO_KEYS),
        description="comma-separated KEYID:BASE64KEY (32 bytes each); the first one encrypts",
    )

    audit_key: SecretStr | None = Field(
        default=None,
        description="keys the audit trail's HMAC chain (>= 32 chars); unset: derived from the installation salt (HKDF)")

    draft_ttl_hours: float = Field(default=24.0, gt=0)
    max_attachment_bytes: int = Field(default=20 * 1024 * 1024, gt=0)
    max_text_chars: int = Field(default=20000, gt=0)
    invite_ttl_hours: float = Field(default=72.0, gt=0)
    receipt_failures_per_sender: int = Field(default=5, ge=1, description="per window")
    receipt_failures_global: int = Field(default=200, ge=1, description="wrong receipts from all chats per window; beyond it each wrong receipt costs its sender a growing wait")
    receipt_window_minutes: int = Field(default=15, ge=1)
    bind_tries_per_chat: int = Field(default=5, ge=1, description="invite codes one chat may try per window")
    bind_failures_global: int = Field(default=100, ge=1,
                                      description="wrong codes per window from all chats; beyond it each chat gets one try per window")
    bind_window_minutes: int = Field(default=15, ge=1)

    policy_file: Path | None = Field(default=None, description="time-limit policy table (TOML)")
    # Routing (交叉监督 + 回避).
    team_size: int = Field(default=3, ge=2, le=12, description="a lead and members, proposed per case")
    rotation_months: int = Field(default=12, ge=0, description="who handled a case about the unit this recently is rotated out (0: off)")
    cross_inspection_sources: list[str] = Field(
        default_factory=lambda: ["inspection_handover"],
        description="case sources where cross inspection applies: nobody works a case in their home region")
    joint_units: bool = Field(default=False, description="propose the region's joint unit (室组地联动, organisation file) "
                                                         "for a case in its region")
    # The daily digest to supervisors and leads.
    digest_time: str = Field(default="08:30", pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="HH:MM local time")
    digest_working_days_only: bool = True
    # Figures (digest, /status, /stats, exports): a count from 1 to this minus one is shown as
    # "<N", since so few cases can point at a reporter or a unit (1 turns it off).
    small_count_threshold: int = Field(default=3, ge=1, le=100, description="counts below this (and above 0) are shown as <N")

    demo_org: bool = Field(default=True, description="load the demo organisation into an empty database")
    org_file: Path | None = None

    @field_validator("default_language")
    @classmethod
    def _lang(cls, v: str) -> str:
        if v not in SUPPORTED_LANGUAGES:
            raise ValueError(f"must be one of {', '.join(SUPPORTED_LANGUAGES)}")
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r} (e.g. Asia/Shanghai)") from None
        return v

    @field_validator("database_url")
    @classmethod
    def _db(cls, v: str) -> str:
        if not (v.startswith("sqlite+aiosqlite://") or v.startswith("postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return v

    @field_validator("installation_salt")
    @classmethod
    def _salt(cls, v: SecretStr) -> SecretStr:
        if len(v.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters")
        return v

    @field_validator("audit_key")
    @classmethod
    def _audit_key(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and len(v.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters")
        return v

    @model_validator(mode="after")
    def _keys(self) -> Config:
        parse_keys(self.encryption_keys.get_secret_value())
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def salt(self) -> bytes:
        return self.installation_salt.get_secret_value().encode()

    @property
    def audit_mac_key(self) -> bytes:
        """The audit chain's HMAC key: never in the database, so whoever can write the database
        cannot recompute the chain. LIANZU_AUDIT_KEY if set, else HKDF-SHA256 of the installation
        salt (which never changes, unlike the encryption keys that rotate)."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF

        if self.audit_key is not None:
            return self.audit_key.get_secret_value().encode()
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"lianzu audit chain v1").derive(self.salt)

    @property
    def keyring(self) -> dict[str, bytes]:
        return parse_keys(self.encryption_keys.get_secret_value())

    @property
    def uses_demo_secrets(self) -> bool:
        return (
            self.installation_salt.get_secret_value() == DEMO_SALT
            or self.encryption_keys.get_secret_value() == DEMO_KEYS
        )


def parse_keys(raw: str) -> dict[str, bytes]:
    """``k2:BASE64,k1:BASE64`` → ordered {key id: 32-byte key}; the first is current."""
    keys: dict[str, bytes] = {}
    for part in (p.strip() for p in raw.split(",") if p.strip()):
        kid, sep, b64 = part.partition(":")
        if not sep or not kid:
            raise ValueError("encryption_keys: each entry must be KEYID:BASE64KEY")
        try:
            key = base64.b64decode(b64, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"encryption_keys: key {kid!r} is not valid base64") from None
        if len(key) != 32:
            raise ValueError(f"encryption_keys: key {kid!r} must decode to 32 bytes, got {len(key)}")
        keys[kid] = key
    if not keys:
        raise ValueError("encryption_keys: at least one key is required")
    return keys
