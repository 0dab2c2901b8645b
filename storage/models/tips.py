"""What reporters send. Every free-text field and file is encrypted at rest (``*_enc``,
with the id of the key that sealed it). An anonymous tip holds nothing about its sender."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.base import Base


class Tip(Base):
    __tablename__ = "tips"
    id: Mapped[int] = mapped_column(primary_key=True)
    anonymous: Mapped[bool]
    # argon2id(receipt, installation salt): one hash + this index finds the tip.
    receipt_hash: Mapped[str] = mapped_column(String(128), unique=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    key_id: Mapped[str] = mapped_column(String(32))
    subject_enc: Mapped[bytes | None] = mapped_column(LargeBinary)  # free-text "about what"
    people_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    body_enc: Mapped[bytes] = mapped_column(LargeBinary)
    # Named tips only: who to give feedback to (name, contact, and the chat to push to).
    reporter_name_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    reporter_contact_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    reporter_chat_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    language: Mapped[str] = mapped_column(String(8), default="zh_CN")
    created_at: Mapped[datetime]
    # Day-granular for anonymous tips, so the time cannot be matched to a chat log.
    last_checked_on: Mapped[datetime | None] = mapped_column(default=None)

    messages: Mapped[list[TipMessage]] = relationship(back_populates="tip", order_by="TipMessage.id")
    attachments: Mapped[list[Attachment]] = relationship(back_populates="tip", order_by="Attachment.id")


class TipMessage(Base):
    """Material the reporter added after submitting, or an answer to a team question."""

    __tablename__ = "tip_messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    tip_id: Mapped[int] = mapped_column(ForeignKey("tips.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[int | None] = mapped_column(ForeignKey("tip_questions.id"))
    key_id: Mapped[str] = mapped_column(String(32))
    body_enc: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]

    tip: Mapped[Tip] = relationship(back_populates="messages")


class TipQuestion(Base):
    """A question the handling team asks the reporter."""

    __tablename__ = "tip_questions"
    id: Mapped[int] = mapped_column(primary_key=True)
    tip_id: Mapped[int] = mapped_column(ForeignKey("tips.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    asked_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    key_id: Mapped[str] = mapped_column(String(32))
    text_enc: Mapped[bytes] = mapped_column(LargeBinary)
    asked_at: Mapped[datetime]
    answered_at: Mapped[datetime | None] = mapped_column(default=None)


class Attachment(Base):
    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(primary_key=True)
    tip_id: Mapped[int | None] = mapped_column(ForeignKey("tips.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    key_id: Mapped[str] = mapped_column(String(32))
    filename_enc: Mapped[bytes] = mapped_column(LargeBinary)
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    data_enc: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]

    tip: Mapped[Tip | None] = relationship(back_populates="attachments")
