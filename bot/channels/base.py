"""What every channel offers the rest of the program, and how a channel describes itself to
``lianzu run`` (:class:`ChannelSpec`, listed in ``bot.channels.registry``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Hashable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel

from handlers.events import Reply

if TYPE_CHECKING:
    from bot.app import App
    from bot.settings import Settings


class DeliveryError(Exception):
    """A push failed. ``retry_after`` (seconds) is set when the platform said when to retry;
    ``permanent`` when retrying cannot help (the person blocked the bot, the chat is gone)."""

    def __init__(self, message: str, *, retry_after: float | None = None, permanent: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent


class OutputChannel(Protocol):
    """Rasa's OutputChannel, in short: push a neutral reply to an address on this channel."""

    name: str

    async def send(self, address: str, reply: Reply) -> None: ...


class Service(Protocol):
    """Something ``lianzu run`` starts and stops (a channel's polling loop, the scheduler, …)."""

    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass(frozen=True)
class Limits:
    """Per-platform limits: messages per period overall, and per recipient."""

    overall: float
    overall_period: float
    per_chat: float
    per_chat_period: float


UNLIMITED = Limits(1000, 1.0, 1000, 1.0)


@dataclass(frozen=True)
class ChannelSpec:
    """One channel, as the rest of the program needs to know it. Each channel package defines
    its own; ``bot.channels.registry.CHANNELS`` lists them, one line each."""

    # The channel's name in events, chat identities and outbox rows.
    name: str
    # Whether the settings turn it on.
    enabled: Callable[[Settings], bool]
    # Adds the channel to the app: its output channel in ``app.channels``, its services in
    # ``app.services``, its routes on ``app.web()``. ``start_services`` then starts them all.
    start: Callable[[App], None]
    # What the platform itself can see about a sender, said before a reporter chooses to be
    # anonymous: an ``N_()``-marked msgid, translated where it is shown.
    platform_note: str
    # How fast the delivery worker may push on it (``None``: no platform limit).
    limits: Callable[[Settings], Limits] | None = None
    # The channel's own ``LIANZU_…`` settings: a pydantic model that ``Settings`` extends.
    settings: type[BaseModel] | None = None
    # What /forget can and cannot remove from a chat on this platform: an ``N_()``-marked msgid
    # (None: the generic words of ``handlers.reporter.forget``).
    forget_note: str | None = None


# Updates in work at once, over all chats (each holds a database connection while it works).
MAX_CHATS_AT_ONCE = 32


class _Line:
    __slots__ = ("lock", "waiting")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.waiting = 0


class PerChat:
    """Where a channel's updates enter the program: different chats are handled at once, each
    chat's updates one at a time, in the order they arrived here (a chat's second message
    never overtakes its first, nor its reply the first one's).

    A chat's line exists only while it has an update in work or waiting: idle chats cost
    nothing, so memory follows the updates in flight, not the chats ever seen. At most
    ``limit`` updates are worked on at once; the others wait their turn.
    """

    def __init__(self, limit: int = MAX_CHATS_AT_ONCE) -> None:
        self._lines: dict[Hashable, _Line] = {}
        self._slots = asyncio.Semaphore(limit)
        self._idle = asyncio.Event()
        self._idle.set()

    @asynccontextmanager
    async def turn(self, chat: Hashable) -> AsyncIterator[None]:
        # Nothing here suspends before the lock is asked for: tasks started in arrival order
        # queue in that order (asyncio.Lock wakes its waiters first in, first out).
        line = self._lines.get(chat)
        if line is None:
            line = self._lines[chat] = _Line()
        line.waiting += 1
        self._idle.clear()
        try:
            async with line.lock, self._slots:  # the slot after the line: a busy chat holds one slot at most
                yield
        finally:
            line.waiting -= 1
            if line.waiting == 0:
                del self._lines[chat]
                if not self._lines:
                    self._idle.set()

    async def idle(self) -> None:
        """Returns once no update is in work or waiting (shutdown, tests)."""
        await self._idle.wait()

    @property
    def chats(self) -> int:
        """Chats with an update in work or waiting."""
        return len(self._lines)
