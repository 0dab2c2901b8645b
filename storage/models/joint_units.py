"""Joint case units (室组地联动): a commission office (室), stationed groups (组) and a local
commission (地) working a case together, fixed for a region (片区) by the organisation file."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.base import Base


class BodyKind(str, enum.Enum):
    room = "room"  # 室: a commission office (监督检查室)
    group = "group"  # 组: a stationed group (派驻纪检监察组)
    local = "local"  # 地: a local commission (市县纪委监委)


class JointUnit(Base):
    __tablename__ = "joint_units"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    lead_office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"))

    members: Mapped[list[JointUnitMember]] = relationship(cascade="all, delete-orphan", lazy="selectin",
                                                          order_by="JointUnitMember.position")
    regions: Mapped[list[JointUnitRegion]] = relationship(cascade="all, delete-orphan", lazy="selectin")


class JointUnitMember(Base):
    """One member body (an office) of a joint unit, in the order the file lists them."""

    __tablename__ = "joint_unit_members"
    joint_unit_id: Mapped[int] = mapped_column(ForeignKey("joint_units.id", ondelete="CASCADE"), primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"), primary_key=True, index=True)
    kind: Mapped[str] = mapped_column(String(16))
    position: Mapped[int] = mapped_column(default=0)


class JointUnitRegion(Base):
    """The region (片区) a joint unit is fixed for: each region has at most one."""

    __tablename__ = "joint_unit_regions"
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), primary_key=True)
    joint_unit_id: Mapped[int] = mapped_column(ForeignKey("joint_units.id", ondelete="CASCADE"), index=True)


class CaseJointUnit(Base):
    """A case given to a joint unit: written when a team proposed from the unit is confirmed."""

    __tablename__ = "case_joint_units"
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    joint_unit_id: Mapped[int] = mapped_column(ForeignKey("joint_units.id"), index=True)
    assignment_id: Mapped[int | None] = mapped_column(ForeignKey("assignments.id", ondelete="SET NULL"))
    given_at: Mapped[datetime]
