"""The WeCom server API: access token (cached in the database for all instances), message/send,
media/upload. The base URL is a setting so a private deployment works."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import aiohttp
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.base import DeliveryError
from handlers.clock import Clock
from storage.models.ops import ChannelToken

# WeCom errcodes meaning "the token is stale": fetch a new one and retry once.
TOKEN_ERRCODES = frozenset({40014, 42001})
# Rate-limit style errcodes worth retrying later (API frequency limits).
RETRY_ERRCODES = frozenset({45009, 45033, 45047, -1})
# Renew a little before WeCom's expires_in so a token never dies in flight.
TOKEN_MARGIN = timedelta(minutes=5)


class WeComAPI:
    def __init__(self, *, base: str, corp_id: str, secret: str, sessionmaker: async_sessionmaker[AsyncSession],
                 clock: Clock) -> None:
        self.base = base.rstrip("/") + "/"
        self.corp_id, self._secret = corp_id, secret
        self._sm, self._clock = sessionmaker, clock
        self._http: aiohttp.ClientSession | None = None
        self.token_name = f"wecom:{corp_id}"

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20))
        return self._http

    async def token(self, *, refresh: bool = False) -> str:
        now = self._clock.now()
        async with self._sm() as session, session.begin():
            row = await session.get(ChannelToken, self.token_name)
            if row is not None and not refresh and row.expires_at > now:
                return row.value
            data = await self._get_json("gettoken", {"corpid": self.corp_id, "corpsecret": self._secret})
            if data.get("errcode", 0) != 0:
                raise DeliveryError(f"gettoken failed: errcode {data.get('errcode')}", permanent=True)
            expires = now + timedelta(seconds=int(data.get("expires_in", 7200))) - TOKEN_MARGIN
            if row is None:
                session.add(ChannelToken(name=self.token_name, value=data["access_token"], expires_at=expires))
            else:
                row.value, row.expires_at = data["access_token"], expires
            return str(data["access_token"])

    async def _get_json(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        try:
            async with self._session().get(self.base + path, params=params) as resp:
                return await resp.json(content_type=None)  # type: ignore[no-any-return]
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DeliveryError(f"WeCom API unreachable: {type(exc).__name__}", retry_after=30) from None

    async def call(self, path: str, *, json: dict[str, Any] | None = None,
                   form: aiohttp.FormData | None = None, params: dict[str, str] | None = None) -> dict[str, Any]:
        """POST to the API with the token; a stale token is refreshed once."""
        for attempt in (0, 1):
            token = await self.token(refresh=attempt == 1)
            try:
                async with self._session().post(self.base + path, params={"access_token": token, **(params or {})},
                                                json=json, data=form) as resp:
                    data: dict[str, Any] = await resp.json(content_type=None)
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise DeliveryError(f"WeCom API unreachable: {type(exc).__name__}", retry_after=30) from None
            code = int(data.get("errcode", 0))
            if code == 0:
                return data
            if code in TOKEN_ERRCODES and attempt == 0:
                continue
            if code in RETRY_ERRCODES:
                raise DeliveryError(f"WeCom {path}: errcode {code}", retry_after=60)
            raise DeliveryError(f"WeCom {path}: errcode {code}", permanent=code in (60111, 81013))
        raise DeliveryError(f"WeCom {path}: token refused twice")
