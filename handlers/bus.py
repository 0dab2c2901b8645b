"""Domain events inside one unit of work: a change (a transition, a submitted tip, a 签收)
tells the features that react to it, in the same transaction.

Listeners are registered explicitly where the dispatcher is built (``handlers.app.make_bus``),
never by importing a module; an unknown event name fails at registration, not at run time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from handlers.uow import UnitOfWork

Listener = Callable[..., Awaitable[None]]

# Every event the core emits, with the payload names its listeners receive.
EVENTS: dict[str, tuple[str, ...]] = {
    "case.transition": ("case", "transition"),
    "tip.submitted": ("tip", "case"),
    "tip.answered": ("tip", "question", "message"),
    "tip.material_added": ("tip",),
    "assignment.confirmed": ("case", "assignment"),
    "member.acknowledged": ("case", "member"),
}


class UnknownEvent(ValueError):
    pass


class Bus:
    def __init__(self) -> None:
        self._listeners: dict[str, list[Listener]] = {name: [] for name in EVENTS}

    def listen(self, event: str, fn: Listener) -> None:
        """Call ``fn(uow, **payload)`` whenever ``event`` is emitted; registering twice is a no-op."""
        if event not in self._listeners:
            raise UnknownEvent(f"unknown event {event!r}; known: {', '.join(sorted(EVENTS))}")
        if fn not in self._listeners[event]:
            self._listeners[event].append(fn)

    def listeners(self, event: str) -> list[Listener]:
        return list(self._listeners.get(event, ()))

    async def emit(self, uow: UnitOfWork, event: str, **payload: Any) -> None:
        if event not in self._listeners:
            raise UnknownEvent(event)
        for fn in self.listeners(event):
            await fn(uow, **payload)
