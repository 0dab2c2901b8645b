"""Cases and the work on them: lifecycle, assignments, deadlines, escalations."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.base import Base


class CaseSource(str, enum.Enum):
    public_report = "public_report"
    inspection_handover = "inspection_handover"
    audit_handover = "audit_handover"
    superior_referral = "superior_referral"
    self_found = "self_found"


class CaseState(str, enum.Enum):
    received = "received"
    accepted = "accepted"
    forwarded = "forwarded"
    assigned = "assigned"
    acknowledged = "acknowledged"
    disposed = "disposed"
    filed = "filed"
    concluded = "concluded"
    feedback_given = "feedback_given"


class Disposal(str, enum.Enum):
    talk_inquiry = "talk_inquiry"
    preliminary_verification = "preliminary_verification"
    shelved = "shelved"
    closed_no_action = "closed_no_action"


class MemberRole(str, enum.Enum):
    lead = "lead"
    member = "member"
    liaison = "liaison"


class Case(Base):
    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    source: Mapped[str] = mapped_column(String(32), index=True)
    state: Mapped[str] = mapped_column(String(32), index=True)
    tip_id: Mapped[int | None] = mapped_column(ForeignKey("tips.id"), unique=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))
    joint_group_id: Mapped[int | None] = mapped_column(ForeignKey("joint_groups.id"), index=True)
    cross_inspection: Mapped[bool] = mapped_column(default=False)
    key_id: Mapped[str | None] = mapped_column(String(32))
    summary_enc: Mapped[bytes | None] = mapped_column(LargeBinary)  # for cases not from a tip
    # The result told to the reporter at conclusion (反馈), sealed under key_id like the summary.
    result_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    disposal: Mapped[str | None] = mapped_column(String(32))
    filed: Mapped[bool] = mapped_column(default=False)
    people_disciplined: Mapped[int | None]
    forwarded_to: Mapped[str | None] = mapped_column(String(200))
    # Who handles it (rules §15): "group" (its joint group) or "supervisors" (提级: one level up).
    level: Mapped[str] = mapped_column(String(16), default="group", server_default="group")
    suspended_at: Mapped[datetime | None] = mapped_column(default=None)  # 中止: its clocks stand still
    created_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None] = mapped_column(default=None)
    concluded_at: Mapped[datetime | None] = mapped_column(default=None, index=True)

    transitions: Mapped[list[CaseTransition]] = relationship(order_by="CaseTransition.id")
    assignments: Mapped[list[Assignment]] = relationship(order_by="Assignment.id")


class CaseUnit(Base):
    """A unit a case was about before it was moved to another: conflicts on every unit a case has
    had still apply, so moving a case never clears anyone's 回避."""

    __tablename__ = "case_units"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    moved_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    at: Mapped[datetime]


class CaseTransition(Base):
    __tablename__ = "case_transitions"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str] = mapped_column(String(32))
    actor_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(index=True)


class Assignment(Base):
    """A team for a case: proposed by the system, confirmed (or changed) by a lead or supervisor."""

    __tablename__ = "assignments"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="proposed")  # proposed|confirmed|replaced
    proposal: Mapped[dict[str, Any]] = mapped_column(default=dict)  # exclusions with reasons
    change_reason: Mapped[str] = mapped_column(Text, default="")
    confirmed_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    confirmed_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime]

    members: Mapped[list[AssignmentMember]] = relationship(
        cascade="all, delete-orphan", order_by="AssignmentMember.id"
    )


class AssignmentMember(Base):
    __tablename__ = "assignment_members"
    __table_args__ = (UniqueConstraint("assignment_id", "staff_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))  # lead | member | liaison
    acknowledged_at: Mapped[datetime | None] = mapped_column(default=None)
    left_at: Mapped[datetime | None] = mapped_column(default=None)  # left the team (回避); the row stays as history
    loan_reason: Mapped[str] = mapped_column(Text, default="", server_default="")  # from another joint group: why


class Deadline(Base):
    """A time limit from the deadline policy. Its ``subject`` says what it is about: a case
    (``case_id``), one team member's 签收 (``member_id``, with the case it belongs to), and
    later other work items; ``case_id`` is empty for a subject that is not part of a case."""

    __tablename__ = "deadlines"
    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(24), default="case", server_default="case", index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("assignment_members.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(48))
    due_at: Mapped[datetime] = mapped_column(index=True)
    reminders_sent: Mapped[int] = mapped_column(default=0)
    escalation_level: Mapped[int] = mapped_column(default=0)
    last_escalated_at: Mapped[datetime | None] = mapped_column(default=None)
    met_at: Mapped[datetime | None] = mapped_column(default=None)
    cancelled_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime]


class Escalation(Base):
    __tablename__ = "escalations"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    deadline_id: Mapped[int | None] = mapped_column(ForeignKey("deadlines.id", ondelete="CASCADE"))
    level: Mapped[int]
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime]


class CaseNote(Base):
    __tablename__ = "case_notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    key_id: Mapped[str] = mapped_column(String(32))
    body_enc: Mapped[bytes] = mapped_column(LargeBinary)
    at: Mapped[datetime]

    case: Mapped[Case] = relationship()


class CaseRequest(Base):
    """A request on a case that a supervisor decides: more time (延期, ``extension``) or a pause
    (中止, ``suspension``). Nothing moves until it is approved; the decision and its reason stay."""

    __tablename__ = "case_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # extension | suspension
    working_days: Mapped[int] = mapped_column(default=0)  # extension: how many more working days
    reason: Mapped[str] = mapped_column(Text)
    requested_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    requested_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)  # pending|approved|refused
    decided_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    resumed_at: Mapped[datetime | None] = mapped_column(default=None)  # suspension: when the clocks restarted


class CaseTransfer(Base):
    """提级 (``up``: to the supervisors) or 下转 (``down``: to a joint group), with the reason."""

    __tablename__ = "case_transfers"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    direction: Mapped[str] = mapped_column(String(8))  # up | down
    from_group_id: Mapped[int | None] = mapped_column(ForeignKey("joint_groups.id"))
    to_group_id: Mapped[int | None] = mapped_column(ForeignKey("joint_groups.id"))
    reason: Mapped[str] = mapped_column(Text)
    by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    at: Mapped[datetime]
