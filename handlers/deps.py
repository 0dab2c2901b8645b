"""What handlers are given, by name (as aiogram injects dependencies)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.clock import Clock
from handlers.config import Config
from storage.crypto import Sealer


@dataclass
class Deps:
    config: Config
    sessionmaker: async_sessionmaker[AsyncSession]
    clock: Clock
    sealer: Sealer
    # Feature services that need to outlive one update (rate limiters, hashers, …).
    extras: dict[str, Any] = field(default_factory=dict)
    # Channel name → msgid of what that platform itself can see about a sender (from the
    # channels' registry); a channel not listed gets the tip wizard's general note.
    platform_notes: dict[str, str] = field(default_factory=dict)
