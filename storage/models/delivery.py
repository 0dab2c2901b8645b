"""Delivery pacing shared by every instance on one PostgreSQL database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base


class DeliveryPace(Base):
    """One row per lock and per chat being served, in the database's clock.

    ``name`` is ``channel`` (locked while an instance takes send slots of the channel's overall
    window), ``claim:channel`` (locked while an instance claims the channel's rows, so that a chat
    is never claimed by two instances at once) or ``channel:identity id`` (one chat: ``next_at`` is
    set after each send to the answer's time plus the chat's interval, read by the next instance
    to serve it) or ``live:channel:token`` (an instance delivering on the channel, until ``next_at``:
    the live ones share the channel's rate when they claim).
    """

    __tablename__ = "delivery_pace"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    next_at: Mapped[datetime] = mapped_column(index=True)


class DeliverySend(Base):
    """A send counted in its channel's sliding window, whoever makes it: taken (``started_at``)
    before the send starts, answered (``answered_at``) once the platform has answered. It counts
    until a full period after its answer, or, never answered (a killed instance), until it is
    stale. Rows past both are deleted by the next instance to take slots."""

    __tablename__ = "delivery_sends"
    __table_args__ = (Index("ix_delivery_sends_channel_id", "channel", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]
