"""The organisation: regions, supervised units, stationed offices, joint groups, staff."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Column, ColumnElement, ForeignKey, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.base import Base


class Named:
    """What people call a unit, joint group or office besides its official name: an English
    name for English answers, and aliases (abbreviations, former names) for search."""

    name: str
    name_en: Mapped[str | None] = mapped_column(String(200), default=None)
    # One alias a line: a short list that is only ever read whole.
    aliases_text: Mapped[str] = mapped_column("aliases", Text, default="", server_default="")

    @property
    def aliases(self) -> list[str]:
        return [a for a in self.aliases_text.splitlines() if a]

    @aliases.setter
    def aliases(self, values: list[str]) -> None:
        self.aliases_text = "\n".join(values)

    def name_for(self, lang: str) -> str:
        """The name shown in ``lang``: the English name in English answers where one is given."""
        return self.name_en if lang == "en" and self.name_en else self.name

# An office may be stationed at several units (综合派驻).
office_units = Table(
    "office_units",
    Base.metadata,
    Column("office_id", ForeignKey("offices.id", ondelete="CASCADE"), primary_key=True),
    Column("unit_id", ForeignKey("units.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Role(str, enum.Enum):
    field = "field"
    lead = "lead"
    supervisor = "supervisor"
    admin = "admin"


class Region(Base):
    __tablename__ = "regions"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class Unit(Named, Base):
    __tablename__ = "units"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))

    region: Mapped[Region | None] = relationship()
    offices: Mapped[list[Office]] = relationship(secondary=office_units, back_populates="units")


class JointGroup(Named, Base):
    __tablename__ = "joint_groups"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))

    offices: Mapped[list[Office]] = relationship(back_populates="joint_group")


class Office(Named, Base):
    __tablename__ = "offices"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    joint_group_id: Mapped[int | None] = mapped_column(ForeignKey("joint_groups.id"), index=True)

    joint_group: Mapped[JointGroup | None] = relationship(back_populates="offices")
    units: Mapped[list[Unit]] = relationship(secondary=office_units, back_populates="offices")


class Staff(Base):
    __tablename__ = "staff"
    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    office_id: Mapped[int | None] = mapped_column(ForeignKey("offices.id"), index=True)
    home_region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))
    language: Mapped[str | None] = mapped_column(String(8))
    active: Mapped[bool] = mapped_column(default=True)

    office: Mapped[Office | None] = relationship()
    home_region: Mapped[Region | None] = relationship()
    role_rows: Mapped[list[StaffRole]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    identities: Mapped[list[ChatIdentity]] = relationship(back_populates="staff")

    @property
    def roles(self) -> set[Role]:
        return {Role(r.role) for r in self.role_rows}


class StaffRole(Base):
    __tablename__ = "staff_roles"
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16), primary_key=True)


class ChatIdentity(Base):
    """A staff member's account on one channel. Reporters never get one."""

    __tablename__ = "chat_identities"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(128))
    bound_at: Mapped[datetime]
    blocked_at: Mapped[datetime | None] = mapped_column(default=None)

    staff: Mapped[Staff] = relationship(back_populates="identities")


class StaffInvite(Base):
    """One-time code that binds a chat identity to a staff member; only its hash is kept."""

    __tablename__ = "staff_invites"
    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(default=None)


class ConflictDeclaration(Base):
    """A declared relationship (本人/近亲属/利害关系) with a unit, a named person, or one case
    (a team member's own 回避 on that case). A declaration counts from the moment it is made;
    ``status`` says whether an administrator has confirmed it (``confirmed``) or it still waits
    (``pending``): erring towards exclusion is the safe side of 回避."""

    __tablename__ = "conflict_declarations"
    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    person_name: Mapped[str | None] = mapped_column(String(200))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True, default=None)
    kind: Mapped[str] = mapped_column(String(32))  # self | relative | interest
    reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="confirmed", server_default="confirmed")
    declared_at: Mapped[datetime | None] = mapped_column(default=None)
    decided_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), default=None)


def conflict_in_force() -> ColumnElement[bool]:
    """The declarations that count: confirmed ones and those still waiting (the safe side of
    回避). One an administrator refused is kept as history and no longer counts."""
    return ConflictDeclaration.status != "refused"


class StaffOfficeSpell(Base):
    """Which office a person was in, from when until when (``until`` empty: still there). An
    office transfer closes one spell and opens the next, so the old office's units still count
    in conflicts (a person who sat inside a unit does not investigate it after moving)."""

    __tablename__ = "staff_office_spells"
    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"), index=True)
    since: Mapped[datetime | None] = mapped_column(default=None)
    until: Mapped[datetime | None] = mapped_column(default=None)
