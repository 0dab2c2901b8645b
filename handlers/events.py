"""The channel-neutral contract: one inbound event model and one reply model.

Channel adapters in ``bot/`` translate platform updates into :class:`InboundEvent` and
render :class:`Reply` as well as their platform allows (inline keyboards, template cards,
or numbered text menus).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# Telegram allows 64 bytes of callback data; every channel keeps to that.
MAX_BUTTON_DATA_BYTES = 64


class Sender(BaseModel):
    """Who sent an event. Held in memory only: nothing here is stored for reporters."""

    model_config = ConfigDict(frozen=True)
    channel: str
    external_id: str
    display_name: str | None = None
    username: str | None = None
    language_code: str | None = None


class InboundFile(BaseModel):
    """An attachment as received. ``data`` is None when the adapter refused to download it
    (over the size limit); ``size`` is then what the platform announced."""

    filename: str = "file"
    content_type: str = "application/octet-stream"
    size: int
    data: bytes | None = None
    kind: Literal["photo", "document", "voice", "video", "other"] = "document"


class InboundEvent(BaseModel):
    channel: str
    sender: Sender
    chat_type: Literal["private", "group"] = "private"
    text: str | None = None
    button: str | None = None  # data of a pressed button
    attachment: InboundFile | None = None
    message_id: str | None = None
    # Set by adapters that deliver updates more than once (update_id, MsgId, …).
    dedupe_key: str | None = None
    # The channel shows buttons as numbered text, so "2" may mean the second button.
    numbered_menus: bool = False
    received_at: datetime | None = None

    @property
    def command(self) -> tuple[str, str] | None:
        """``("start", "args")`` for ``/start args``; None if not a command."""
        if not self.text or not self.text.startswith("/"):
            return None
        head, _, rest = self.text.strip().partition(" ")
        name = head[1:].split("@", 1)[0].lower()  # /cmd@botname in Telegram groups
        return (name, rest.strip()) if name else None


class Button(BaseModel):
    label: str
    data: str = Field(max_length=MAX_BUTTON_DATA_BYTES)


class OutboundFile(BaseModel):
    # Outbox payloads are JSON: files travel as base64.
    model_config = ConfigDict(ser_json_bytes="base64", val_json_bytes="base64")
    filename: str
    content_type: str
    data: bytes
    kind: Literal["photo", "document"] = "document"


class Reply(BaseModel):
    text: str = ""
    buttons: list[list[Button]] = Field(default_factory=list)  # rows of buttons
    files: list[OutboundFile] = Field(default_factory=list)
    # Replace the message whose button was pressed, where the platform can.
    edit: bool = False
    # Before showing this reply, remove from the chat the messages the channel can still
    # remove (its own answers, the receipt among them). Channels that cannot, ignore it; the
    # text says plainly what is left.
    delete_recent: bool = False
    # Something that exists only in this message (a receipt): the update's changes are committed
    # only once the channel has delivered it. If it cannot be delivered, everything is rolled back
    # and ``undelivered_text`` is answered instead (channels that cannot fail deliver it after).
    must_arrive: bool = False
    undelivered_text: str = ""

    def flat_buttons(self) -> list[Button]:
        return [b for row in self.buttons for b in row]
