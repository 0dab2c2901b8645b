"""A channel that records what it is asked to push; the tests' stand-in for a phone."""

from __future__ import annotations

from dataclasses import dataclass, field

from handlers.events import Reply


@dataclass
class CollectingChannel:
    name: str = "memory"
    sent: list[tuple[str, Reply]] = field(default_factory=list)

    async def send(self, address: str, reply: Reply) -> None:
        self.sent.append((address, reply))

    def to(self, address: str) -> list[Reply]:
        return [r for a, r in self.sent if a == address]
