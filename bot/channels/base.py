"""What every channel offers the rest of the program."""

from __future__ import annotations

from typing import Protocol

from handlers.events import Reply


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
