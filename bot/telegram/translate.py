"""Telegram update → neutral :class:`InboundEvent`. Pure functions (no network), so they
can be fuzzed; the file bytes are fetched by the middleware and passed in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from aiogram.types import CallbackQuery, Chat, Message, Update, User

from bot.telegram import CHANNEL
from handlers.events import InboundEvent, InboundFile, Sender

FileKind = Literal["photo", "document", "voice", "video", "other"]
GROUP_TYPES = ("group", "supergroup", "channel")


@dataclass(frozen=True)
class FileRef:
    """What a message announces about its attachment, before anything is downloaded."""

    file_id: str
    filename: str
    content_type: str
    size: int | None
    kind: FileKind


def chat_type(chat: Chat | None) -> Literal["private", "group"]:
    return "group" if chat is not None and chat.type in GROUP_TYPES else "private"


def sender(user: User) -> Sender:
    # Only the id (the address) and the language: names and user names are not needed by
    # any handler, so they never leave this function.
    return Sender(channel=CHANNEL, external_id=str(user.id), language_code=user.language_code)


def file_ref(message: Message) -> FileRef | None:
    if message.photo:
        best = max(message.photo, key=lambda p: (p.width or 0) * (p.height or 0))
        return FileRef(best.file_id, f"photo_{message.message_id}.jpg", "image/jpeg", best.file_size, "photo")
    if message.document is not None:
        d = message.document
        ctype = d.mime_type or "application/octet-stream"
        return FileRef(d.file_id, d.file_name or "document", ctype, d.file_size, "document")
    if message.voice is not None:
        v = message.voice
        return FileRef(v.file_id, f"voice_{message.message_id}.ogg", v.mime_type or "audio/ogg", v.file_size, "voice")
    if message.video is not None:
        vid = message.video
        return FileRef(vid.file_id, vid.file_name or f"video_{message.message_id}.mp4", vid.mime_type or "video/mp4",
                       vid.file_size, "video")
    if message.audio is not None:
        a = message.audio
        return FileRef(a.file_id, a.file_name or "audio", a.mime_type or "audio/mpeg", a.file_size, "other")
    return None


def inbound_file(ref: FileRef, data: bytes | None, size: int | None = None) -> InboundFile:
    """``data`` None: refused (too large); the handlers explain that to the sender."""
    n = len(data) if data is not None else (size if size is not None else (ref.size or 0))
    return InboundFile(filename=ref.filename[:255] or "file", content_type=ref.content_type[:127], size=max(n, 0),
                       data=data, kind=ref.kind)


def from_message(message: Message, update_id: int, attachment: InboundFile | None = None,
                 received_at: datetime | None = None) -> InboundEvent | None:
    """None when there is nobody to answer (channel posts, service messages without a sender)."""
    user = message.from_user
    if user is None or user.is_bot:
        return None
    text = message.text if message.text is not None else message.caption
    if attachment is not None and message.caption is None:
        text = None
    return InboundEvent(
        channel=CHANNEL,
        sender=sender(user),
        chat_type=chat_type(message.chat),
        text=text,
        attachment=attachment,
        message_id=str(message.message_id),
        dedupe_key=f"u{update_id}",
        received_at=received_at,
    )


def from_callback(query: CallbackQuery, update_id: int, received_at: datetime | None = None) -> InboundEvent | None:
    if query.data is None:  # a game button: nothing of ours
        return None
    msg = query.message
    return InboundEvent(
        channel=CHANNEL,
        sender=sender(query.from_user),
        chat_type=chat_type(msg.chat if msg is not None else None),
        button=query.data,
        # An inaccessible (too old) message still has its id; editing it will fail and the
        # reply is sent as a new message instead.
        message_id=str(msg.message_id) if msg is not None else None,
        dedupe_key=f"u{update_id}",
        received_at=received_at,
    )


def to_event(update: Update, attachment: InboundFile | None = None,
             received_at: datetime | None = None) -> InboundEvent | None:
    """The neutral event for an update, or None for kinds nobody needs answering."""
    if update.message is not None:
        return from_message(update.message, update.update_id, attachment, received_at)
    if update.callback_query is not None:
        return from_callback(update.callback_query, update.update_id, received_at)
    return None
