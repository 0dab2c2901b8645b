"""The long-lived dependencies of the assistant, built once by ``handlers.app.make_deps``.

Each update, clock job or delivery opens a :class:`handlers.uow.UnitOfWork` from these; a
handler or service gets everything it needs from that unit of work, never from a global.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, fields

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.bus import Bus
from handlers.clock import Clock
from handlers.config import Config
from handlers.policy import DeadlinePolicy
from handlers.uow import MissingDependency, UnitOfWork
from storage.crypto import Sealer


@dataclass(frozen=True)
class Deps:
    config: Config
    sessionmaker: async_sessionmaker[AsyncSession]
    clock: Clock
    sealer: Sealer
    bus: Bus
    policy: DeadlinePolicy
    # Channel name → msgid saying what that platform can see about a sender (reporter wizard).
    platform_notes: Mapping[str, str] = field(default_factory=dict)
    # Channel name → msgid saying what /forget can and cannot remove on that platform.
    forget_notes: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for f in fields(self):
            if getattr(self, f.name) is None:
                raise MissingDependency(f"Deps.{f.name} is required")

    def unit_of_work(self, session: AsyncSession) -> UnitOfWork:
        return UnitOfWork(session=session, config=self.config, sealer=self.sealer, clock=self.clock,
                          bus=self.bus, policy=self.policy)

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[UnitOfWork]:
        """A new session and transaction as one unit of work: committed on success, rolled back on error."""
        async with self.sessionmaker() as session, session.begin():
            yield self.unit_of_work(session)
