"""Conversation state persisted in the relational store, so a half-finished conversation
survives a restart and any worker can continue it.

Plain ``data`` holds choices and steps; ``secret`` holds what a person typed (draft text)
and is sealed like the tip it will become.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.crypto import Sealer
from storage.db import deferred, insert_on_conflict
from storage.models import ConversationState

# Built once (see handlers/dispatcher.py): executed with the row's values as parameters.
_TABLE = cast(Table, ConversationState.__table__)
_COLUMNS = tuple(c.name for c in _TABLE.columns if c.name != "key")
# Two messages from one chat at once both start from "no row": the later one wins instead of
# failing on the primary key.
# Written last in an update and never read back in it: sent with the commit (storage.db.deferred).
_UPSERT = deferred(insert_on_conflict(_TABLE, index=("key",), update=_COLUMNS))
# One UPDATE, without the ORM's change tracking and flush: the row is not read again here.
_UPDATE = deferred(update(_TABLE).where(_TABLE.c.key == bindparam("state_key")))
_DELETE = deferred(delete(_TABLE).where(_TABLE.c.key == bindparam("state_key")))


class StateHandle:
    def __init__(self, key: str, row: ConversationState | None, sealer: Sealer, now: datetime) -> None:
        self.key = key
        self._row = row
        self._sealer = sealer
        self._now = now
        self.expired_conversation: str | None = None
        self.conversation: str | None = None
        self.step: str | None = None
        self.data: dict[str, Any] = {}
        self.secret: dict[str, Any] = {}
        self.token = ""
        self.expires_at: datetime | None = None
        self.menu: list[str] = []
        self.menu_labels: list[str] = []  # what each numbered choice said, to show it again
        # What the row holds, as save() would write it: an update that changed nothing writes nothing.
        self._saved: tuple[Any, ...] | None = None
        if row is not None:
            if row.expires_at is not None and row.expires_at <= now and row.conversation:
                self.expired_conversation = row.conversation
            else:
                self.conversation, self.step = row.conversation, row.step
                # A deep copy: mutating nested lists in place must not also change what
                # SQLAlchemy compares against, or the change would never be written.
                self.data = json.loads(json.dumps(row.data or {}))
                self.token = row.token
                self.expires_at = row.expires_at
                if row.sealed and row.key_id:
                    self.secret = json.loads(sealer.open(row.key_id, row.sealed))
                self._saved = (row.conversation, row.step, json.loads(json.dumps(row.data or {})), row.token,
                               row.expires_at, json.loads(json.dumps(self.secret)))
                # Sealed: a menu's labels can echo what was typed (the units a search found).
                self.menu_labels = list(self.secret.pop("_menu_labels", []))
            self.menu = list((row.data or {}).get("_menu", [])) if not self.expired_conversation else []
            self.data.pop("_menu", None)

    @classmethod
    async def load(cls, session: AsyncSession, key: str, sealer: Sealer, now: datetime) -> StateHandle:
        row = await session.get(ConversationState, key)
        return cls(key, row, sealer, now)

    @property
    def active(self) -> bool:
        return self.conversation is not None

    def begin(self, conversation: str, step: str, *, ttl: timedelta | None = None, data: dict[str, Any] | None = None) -> None:
        self.conversation, self.step = conversation, step
        self.data = dict(data or {})
        self.secret = {}
        self.token = secrets.token_hex(4)  # buttons from an older conversation become stale
        self.expires_at = self._now + ttl if ttl else None
        self.expired_conversation = None

    def goto(self, step: str) -> None:
        if self.conversation is None:
            raise RuntimeError("goto() outside a conversation")
        self.step = step

    def end(self) -> None:
        """End the conversation and forget everything it held (the draft's link included)."""
        self.conversation = self.step = None
        self.data, self.secret, self.token, self.expires_at = {}, {}, "", None
        self.menu = []
        self.menu_labels = []

    async def save(self, session: AsyncSession) -> None:
        if self.conversation is None and not self.menu:
            if self._row is not None:
                await session.execute(_DELETE, {"state_key": self.key})
                self._row = None
            return
        data = dict(self.data)
        if self.menu:
            data["_menu"] = self.menu
        secret = dict(self.secret)
        if self.menu and self.menu_labels:
            secret["_menu_labels"] = self.menu_labels
        if self._row is not None and self._saved == (self.conversation, self.step, data, self.token,
                                                     self.expires_at, secret):
            return  # nothing changed: not sealed, serialised or written again
        key_id, sealed = (self._sealer.seal(json.dumps(secret, ensure_ascii=False).encode())
                          if secret else (None, None))
        values: dict[str, Any] = dict(conversation=self.conversation, step=self.step, data=data, token=self.token,
                                      expires_at=self.expires_at, updated_at=self._now, key_id=key_id, sealed=sealed)
        if self._row is None:
            await session.execute(_UPSERT, {"key": self.key, **values})
            return
        await session.execute(_UPDATE, {"state_key": self.key, **values})
        self._saved = (self.conversation, self.step, json.loads(json.dumps(data)), self.token, self.expires_at,
                       json.loads(json.dumps(secret)))


async def purge_expired(session: AsyncSession, now: datetime) -> int:
    """Delete conversations past their expiry (drafts expire after the configured time)."""
    ids = (
        await session.scalars(
            select(ConversationState.key).where(
                ConversationState.expires_at.is_not(None), ConversationState.expires_at <= now
            )
        )
    ).all()
    if ids:
        await session.execute(delete(ConversationState).where(ConversationState.key.in_(ids)))
    return len(ids)
