"""Campaigns (专项检查 / 交叉巡察): targets, mixed subgroups, tasks, progress, two-way evaluation."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.base import Base


class CampaignKind(str, enum.Enum):
    special_inspection = "special_inspection"  # 专项检查
    cross_inspection = "cross_inspection"  # 交叉巡察


class CampaignState(str, enum.Enum):
    proposed = "proposed"  # subgroups proposed, waiting for a lead to confirm
    running = "running"  # confirmed, members notified
    ended = "ended"


class TaskKind(str, enum.Enum):
    reports_collected = "reports_collected"  # 自查报告收集
    talks_held = "talks_held"  # 个别谈话
    problems_found = "problems_found"  # 发现问题
    clues_handed_over = "clues_handed_over"  # 移交问题线索


class Campaign(Base):
    __tablename__ = "campaigns"
    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    joint_group_id: Mapped[int | None] = mapped_column(ForeignKey("joint_groups.id"))
    organiser: Mapped[str] = mapped_column(String(200), default="")  # a body other than a joint group
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    subgroup_count: Mapped[int]
    liaison_share: Mapped[float] = mapped_column(default=0.0)
    state: Mapped[str] = mapped_column(String(16), index=True)
    proposal: Mapped[dict[str, Any]] = mapped_column(default=dict)  # exclusions with reasons
    created_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime]
    confirmed_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    confirmed_at: Mapped[datetime | None] = mapped_column(default=None)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)

    targets: Mapped[list[CampaignTarget]] = relationship(cascade="all, delete-orphan", order_by="CampaignTarget.id",
                                                         lazy="selectin")
    subgroups: Mapped[list[Subgroup]] = relationship(cascade="all, delete-orphan", order_by="Subgroup.number",
                                                     lazy="selectin")


class CampaignTarget(Base):
    """What is inspected: a region (县/市), a unit, or a project (named, in a region)."""

    __tablename__ = "campaign_targets"
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # region | unit | project
    name: Mapped[str] = mapped_column(String(200))
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    subgroup_id: Mapped[int | None] = mapped_column(ForeignKey("subgroups.id", ondelete="SET NULL"), index=True)


class Subgroup(Base):
    __tablename__ = "subgroups"
    __table_args__ = (UniqueConstraint("campaign_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]

    members: Mapped[list[SubgroupMember]] = relationship(cascade="all, delete-orphan", order_by="SubgroupMember.id",
                                                         lazy="selectin")


class SubgroupMember(Base):
    __tablename__ = "subgroup_members"
    __table_args__ = (UniqueConstraint("subgroup_id", "staff_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    subgroup_id: Mapped[int] = mapped_column(ForeignKey("subgroups.id", ondelete="CASCADE"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))  # lead | member | liaison
    acknowledged_at: Mapped[datetime | None] = mapped_column(default=None)
    # The 签收 time limit of this member's notice (deadline kind with subject "campaign_member").
    deadline_id: Mapped[int | None] = mapped_column(ForeignKey("deadlines.id", ondelete="SET NULL"), index=True,
                                                    default=None)


class CampaignTask(Base):
    """One piece of work of a subgroup at one target; its time limit is a deadline (subject "task")."""

    __tablename__ = "campaign_tasks"
    __table_args__ = (UniqueConstraint("subgroup_id", "target_id", "kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    subgroup_id: Mapped[int] = mapped_column(ForeignKey("subgroups.id", ondelete="CASCADE"), index=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("campaign_targets.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    deadline_id: Mapped[int | None] = mapped_column(ForeignKey("deadlines.id", ondelete="SET NULL"), index=True)
    done_at: Mapped[datetime | None] = mapped_column(default=None)


class ProgressReport(Base):
    """A member's report on a task: a number with a sealed note, or a sealed file."""

    __tablename__ = "progress_reports"
    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("campaign_tasks.id", ondelete="CASCADE"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    number: Mapped[int] = mapped_column(default=0)
    key_id: Mapped[str | None] = mapped_column(String(32))
    note_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    file_name: Mapped[str | None] = mapped_column(String(200))
    file_type: Mapped[str | None] = mapped_column(String(100))
    file_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"))  # a clue handed over
    at: Mapped[datetime]


class Evaluation(Base):
    """双向评估: the host rates a subgroup, or a subgroup rates the host, 1–5 on three axes."""

    __tablename__ = "evaluations"
    __table_args__ = (UniqueConstraint("subgroup_id", "direction"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    subgroup_id: Mapped[int] = mapped_column(ForeignKey("subgroups.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(24))  # host_to_subgroup | subgroup_to_host
    rater_staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    quality: Mapped[int]  # quality of the problems found
    ability: Mapped[int]  # working ability
    conduct: Mapped[int]  # discipline and conduct
    key_id: Mapped[str | None] = mapped_column(String(32))
    note_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    at: Mapped[datetime]
