"""WeCom's ``LIANZU_WECOM_…`` settings (part of ``bot.settings.Settings``): a self-built app's
corp id, agent id, secret, callback token and EncodingAESKey, all five or none. See docs/wecom.md."""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, Field, SecretStr, model_validator

AES_KEY_CHARS = 43


class WeComSettings(BaseModel):
    wecom_corp_id: str | None = None
    wecom_agent_id: int | None = None
    wecom_secret: SecretStr | None = None
    wecom_token: SecretStr | None = None
    wecom_aes_key: SecretStr | None = Field(default=None, description="EncodingAESKey, 43 characters")
    wecom_api_base: str = Field(default="https://qyapi.weixin.qq.com/cgi-bin/", description="private deployments: their own API base")
    wecom_callback_path: str = Field(default="/wecom/callback", pattern=r"^/")
    wecom_cards: bool = Field(default=False, description="buttons as template cards instead of numbered text menus")

    # Outbox delivery limit (issue 6): WeCom silently drops what goes over it.
    wecom_rate_per_member: float = Field(default=30, gt=0, description="messages per minute, one member")

    @model_validator(mode="after")
    def _wecom_all_or_none(self) -> Self:
        parts = {"LIANZU_WECOM_CORP_ID": self.wecom_corp_id, "LIANZU_WECOM_AGENT_ID": self.wecom_agent_id,
                 "LIANZU_WECOM_SECRET": self.wecom_secret, "LIANZU_WECOM_TOKEN": self.wecom_token,
                 "LIANZU_WECOM_AES_KEY": self.wecom_aes_key}
        missing = [k for k, v in parts.items() if v is None]
        if 0 < len(missing) < len(parts):
            raise ValueError("WeCom needs all five settings or none; missing: " + ", ".join(missing))
        if self.wecom_aes_key is not None and len(self.wecom_aes_key.get_secret_value()) != AES_KEY_CHARS:
            raise ValueError(f"LIANZU_WECOM_AES_KEY (EncodingAESKey) must be {AES_KEY_CHARS} characters")
        return self

    @property
    def wecom_enabled(self) -> bool:
        return self.wecom_corp_id is not None
