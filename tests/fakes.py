"""Test builders: events and a chat driver that talks to the real dispatcher."""

from __future__ import annotations

from dataclasses import dataclass, field

from handlers.dispatcher import Dispatcher
from handlers.events import InboundEvent, InboundFile, Reply, Sender


def make_event(
    text: str | None = None,
    *,
    channel: str = "memory",
    external_id: str = "reporter-1",
    display_name: str | None = None,
    username: str | None = None,
    language_code: str | None = None,
    button: str | None = None,
    attachment: InboundFile | None = None,
    chat_type: str = "private",
    dedupe_key: str | None = None,
    numbered_menus: bool = False,
) -> InboundEvent:
    return InboundEvent(
        channel=channel,
        sender=Sender(channel=channel, external_id=external_id, display_name=display_name,
                      username=username, language_code=language_code),
        text=text,
        button=button,
        attachment=attachment,
        chat_type=chat_type,  # type: ignore[arg-type]
        dedupe_key=dedupe_key,
        numbered_menus=numbered_menus,
    )


def make_file(data: bytes, *, filename: str = "evidence.pdf", content_type: str = "application/pdf",
              kind: str = "document", size: int | None = None) -> InboundFile:
    return InboundFile(filename=filename, content_type=content_type, size=len(data) if size is None else size,
                       data=data, kind=kind)  # type: ignore[arg-type]


@dataclass
class Chat:
    """One person's chat with the bot, driven like a phone: send text, press buttons."""

    dispatcher: Dispatcher
    external_id: str = "reporter-1"
    channel: str = "memory"
    language_code: str | None = None
    display_name: str | None = None
    username: str | None = None
    history: list[Reply] = field(default_factory=list)

    def _event(self, **kw: object) -> InboundEvent:
        return make_event(channel=self.channel, external_id=self.external_id, language_code=self.language_code,
                          display_name=self.display_name, username=self.username, **kw)  # type: ignore[arg-type]

    async def send(self, text: str | None = None, **kw: object) -> list[Reply]:
        replies = await self.dispatcher.handle(self._event(text=text, **kw))
        self.history.extend(replies)
        return replies

    async def attach(self, file: InboundFile) -> list[Reply]:
        return await self.send(None, attachment=file)

    async def press(self, label: str) -> list[Reply]:
        """Press the button whose label contains ``label`` in the latest reply that has buttons."""
        for reply in reversed(self.history):
            for b in reply.flat_buttons():
                if label in b.label:
                    return await self.send(None, button=b.data)
            if reply.buttons:
                break
        raise AssertionError(f"no button {label!r} in {self.buttons()}")

    def buttons(self) -> list[str]:
        for reply in reversed(self.history):
            if reply.buttons:
                return [b.label for b in reply.flat_buttons()]
        return []

    @property
    def last(self) -> str:
        return self.history[-1].text if self.history else ""

    def text(self, replies: list[Reply] | None = None) -> str:
        return "\n".join(r.text for r in (self.history if replies is None else replies))
