"""The WeCom API client: wechatpy 1.8 (synchronous, so every call runs in a thread), with the
API base from settings — including the token fetch and media download that wechatpy hard-codes
to the public host — and the access token cached in the database for every instance.

A call refused for its access token (invalid or expired) gets one refresh and one retry
(tenacity); a token refused again ends in :class:`TokenRejected`, never in a loop."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import create_engine, delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from tenacity import RetryCallState, RetryError, Retrying, retry_if_exception, stop_after_attempt
from wechatpy.enterprise import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session import SessionStorage

from bot.channels.base import DeliveryError
from storage.db import sync_url
from storage.models import ChannelToken

TOKEN_ERRORS = (40014, 42001)  # invalid / expired access_token: refresh once, retry once
TOKEN_ATTEMPTS = 2  # the call, then one retry with a fresh token
RATE_ERRORS = (45009, 45033, 45047)  # frequency limits
GONE_ERRORS = (60111, 81013, 60103)  # no such user / user not in the app's range
MAX_MEDIA_BYTES = 20 * 1024 * 1024


class TokenRejected(WeChatClientException):
    """WeCom refused the access token again right after a refresh: the secret, the app's
    trusted IPs or the API base are wrong, or WeCom is misbehaving. Retrying now cannot help."""


def _token_refused(exc: BaseException) -> bool:
    return isinstance(exc, WeChatClientException) and exc.errcode in TOKEN_ERRORS


class DbTokenStorage(SessionStorage):
    """wechatpy's session storage in the ``channel_tokens`` table (synchronous; used in threads)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, key: str, default: Any = None) -> Any:
        with self.engine.connect() as c:
            row = c.execute(select(ChannelToken.value, ChannelToken.expires_at).where(ChannelToken.name == key)).first()
        if row is None:
            return default
        exp = row[1] if row[1].tzinfo else row[1].replace(tzinfo=UTC)
        return row[0] if exp > datetime.now(UTC) + timedelta(seconds=60) else default

    def set(self, key: str, value: Any, ttl: int | None = None) -> None:
        exp = datetime.now(UTC) + timedelta(seconds=ttl or 7200)
        # An upsert: people writing at once may fetch a token at once (delete + insert would
        # collide on the name and lose the reply being sent).
        with self.engine.begin() as c:
            upsert = postgresql_insert if c.dialect.name == "postgresql" else sqlite_insert
            c.execute(upsert(ChannelToken).values(name=key, value=value, expires_at=exp).on_conflict_do_update(
                index_elements=["name"], set_={"value": value, "expires_at": exp}))

    def delete(self, key: str) -> None:
        with self.engine.begin() as c:
            c.execute(delete(ChannelToken).where(ChannelToken.name == key))


class LianzuWeComClient(WeChatClient):
    def __init__(self, corp_id: str, secret: str, *, api_base: str, database_url: str) -> None:
        self._engine = create_engine(sync_url(database_url), connect_args={"timeout": 30} if "sqlite" in database_url else {})
        # auto_retry off: wechatpy would refresh and retry without limit; we do it once.
        super().__init__(corp_id, secret, session=DbTokenStorage(self._engine), auto_retry=False, timeout=10)
        self.API_BASE_URL = api_base.rstrip("/") + "/"

    def fetch_access_token(self) -> dict[str, Any]:
        return self._fetch_access_token(url=self.API_BASE_URL + "gettoken",
                                        params={"corpid": self.corp_id, "corpsecret": self.secret})

    def _token(self) -> str:
        token = self.session.get(self.access_token_key)
        if not token:
            self.fetch_access_token()
            token = self.session.get(self.access_token_key)
        return token

    @property
    def access_token(self) -> str:  # the database decides, not a per-process expiry
        return self._token()

    def _refresh_token(self, _state: RetryCallState | None = None) -> None:
        """Drop the refused token (for every instance: it is in the database) and fetch a new one."""
        self.session.delete(self.access_token_key)
        self.fetch_access_token()

    def call(self, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        """``fn(*args, **kw)``; refused for its token, refresh the token and try once more."""
        retrying = Retrying(stop=stop_after_attempt(TOKEN_ATTEMPTS), retry=retry_if_exception(_token_refused),
                            before_sleep=self._refresh_token)
        try:
            return retrying(fn, *args, **kw)
        except RetryError as exc:
            last = exc.last_attempt.exception()
            errcode = last.errcode if isinstance(last, WeChatClientException) else None
            raise TokenRejected(errcode, f"WeCom refused the access token {TOKEN_ATTEMPTS} times, a fresh one "
                                         "included; check the app secret and trusted IPs", client=self) from last

    def download(self, media_id: str, limit: int) -> tuple[bytes | None, int, str, str]:
        """(data or None when over the limit, size, content type, file name) via media/get on our base."""
        return self.call(self._download, media_id, limit)

    def _download(self, media_id: str, limit: int) -> tuple[bytes | None, int, str, str]:
        res = self._http.get(self.API_BASE_URL + "media/get", params={"access_token": self._token(), "media_id": media_id},
                             stream=True, timeout=30)
        res.raise_for_status()
        ctype = res.headers.get("Content-Type", "application/octet-stream").split(";")[0]
        if ctype in ("application/json", "text/plain"):
            body = res.json()
            res.close()
            raise WeChatClientException(body.get("errcode"), body.get("errmsg"), client=self)
        name = "file"
        disp = res.headers.get("Content-Disposition", "")
        if "filename=" in disp:
            name = disp.split("filename=", 1)[1].strip('"; ')
        size = int(res.headers.get("Content-Length") or 0)
        if size > limit:
            return None, size, ctype, name
        buf = io.BytesIO()
        for chunk in res.iter_content(65536):
            buf.write(chunk)
            if buf.tell() > limit:
                return None, buf.tell(), ctype, name
        return buf.getvalue(), buf.tell(), ctype, name

    def upload(self, kind: str, filename: str, data: bytes) -> str:
        def once() -> dict[str, Any]:  # a fresh file each attempt: a retry must not send a read-out one
            f = io.BytesIO(data)
            f.name = filename
            return self.media.upload(kind, f)

        return self.call(once)["media_id"]


def as_delivery_error(exc: Exception) -> DeliveryError:
    """Map WeCom's answers onto what the delivery worker understands (no address, no content)."""
    if isinstance(exc, TokenRejected):
        return DeliveryError(f"wecom access token refused after a refresh ({exc.errcode})")
    if isinstance(exc, WeChatClientException):
        if exc.errcode in RATE_ERRORS:
            return DeliveryError(f"wecom rate limit {exc.errcode}", retry_after=60)
        if exc.errcode in GONE_ERRORS:
            return DeliveryError(f"wecom user not reachable {exc.errcode}", permanent=True)
        return DeliveryError(f"wecom error {exc.errcode}")
    return DeliveryError(f"wecom unreachable: {type(exc).__name__}")


async def in_thread(fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
    return await asyncio.to_thread(fn, *args, **kw)
