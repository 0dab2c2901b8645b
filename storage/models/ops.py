"""Operational tables: outbox, audit trail, conversation state, de-duplication, leases."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base


class OutboxStatus(str, enum.Enum):
    pending = "pending"
    sending = "sending"
    sent = "sent"
    dead = "dead"


class Outbox(Base):
    """A notice to push, written in the same transaction as the change that caused it.

    Only staff (or named reporters) are ever recipients: anonymous reporters have no address.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    identity_id: Mapped[int | None] = mapped_column(ForeignKey("chat_identities.id", ondelete="SET NULL"))
    # For a named reporter's chat: the external id, sealed (key id beside it), never plain.
    address_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    key_id: Mapped[str | None] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(48))
    # The case a notice to staff names: checked again when it is sent, so a conflict that arose
    # while it waited (declared, a unit changed, an outage) still keeps the reference from them.
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"), default=None)
    payload: Mapped[dict[str, Any]]  # a serialised neutral Reply
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.pending.value)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    locked_until: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None] = mapped_column(default=None)


class AuditEntry(Base):
    """Append-only, hash-chained: each entry carries the hash of the previous one."""

    __tablename__ = "audit_entries"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    actor_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    actor_label: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(48))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class ConversationState(Base):
    """Where a chat is in a conversation. Keyed by a keyed hash of (channel, sender), never the id."""

    __tablename__ = "conversation_states"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    conversation: Mapped[str | None] = mapped_column(String(48))
    step: Mapped[str | None] = mapped_column(String(48))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Draft material (text typed so far) is encrypted like the tip it becomes.
    key_id: Mapped[str | None] = mapped_column(String(32))
    sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    token: Mapped[str] = mapped_column(String(16), default="")  # changes per conversation: stale buttons
    updated_at: Mapped[datetime]
    expires_at: Mapped[datetime | None] = mapped_column(default=None, index=True)


class ChatPreference(Base):
    """Language chosen in a chat; keyed by a differently-labelled keyed hash than drafts."""

    __tablename__ = "chat_preferences"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    language: Mapped[str] = mapped_column(String(8))
    # The day the chat last wrote (day only); unused preferences expire. NULL: not yet stamped.
    used_on: Mapped[datetime | None] = mapped_column(default=None, index=True)


class InboundSeen(Base):
    """Inbound de-duplication (Telegram update_id, WeCom MsgId, sender+time for events)."""

    __tablename__ = "inbound_seen"
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(index=True)


class ReceiptThrottle(Base):
    """Receipt attempts per window; key is a keyed hash of the sender, or '*' for all senders.

    Per sender, ``failures`` counts attempts reserved (atomically, before the hash is computed)
    and not refunded by a right receipt; ``blocked_until`` is the growing wait imposed while
    wrong receipts arrive from everywhere. Rows expire with their window.
    """

    __tablename__ = "receipt_throttles"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(index=True)
    failures: Mapped[int] = mapped_column(default=0)
    blocked_until: Mapped[datetime | None] = mapped_column(default=None)


class SchedulerLease(Base):
    """Who owns the scheduler; renewed on a timer, taken over when it expires."""

    __tablename__ = "scheduler_leases"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime]


class ChannelToken(Base):
    """Platform access tokens shared by all instances (WeCom access_token)."""

    __tablename__ = "channel_tokens"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime]


class BindThrottle(Base):
    """Tries of invite codes in the current window, per chat (keyed hash) and one global row."""

    __tablename__ = "bind_throttles"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[datetime]
    tries: Mapped[int] = mapped_column(default=0)


class InboxItem(Base):
    """What a platform posted (a WeCom callback, a Telegram webhook update), stored before it is
    acknowledged and deleted once it has been handled: a process that dies after answering the
    platform still finishes it on the next start. The payload may identify an anonymous reporter,
    so it is sealed, and the row lives only as long as the work does."""

    __tablename__ = "inbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    key_id: Mapped[str] = mapped_column(String(32))
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    # The minute only: enough to find stuck rows, too coarse to match a message to a tip.
    received_at: Mapped[datetime] = mapped_column(index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    # Which instance works the row (a random token per process) and until when its claim holds
    # unless renewed; NULL: nobody's, any instance's sweep takes it.
    claimed_by: Mapped[str | None] = mapped_column(String(32))
    claimed_until: Mapped[datetime | None]
