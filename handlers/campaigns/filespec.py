"""A campaign described in a file (YAML), as `lianzu campaign create FILE` reads it; format in
docs/campaigns.md. Validated with every problem named before anything is stored."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select

from handlers.campaigns import service
from handlers.campaigns.service import TargetSpec
from handlers.uow import UnitOfWork
from storage.models import Campaign, CampaignKind, JointGroup, Region, Unit


class TargetEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    region: str | None = None  # a region code or name
    unit: str | None = None  # a unit code or name
    project: str | None = None  # a project's name (with its region and, if any, its unit)

    @model_validator(mode="after")
    def _one(self) -> TargetEntry:
        if not (self.region or self.unit or self.project):
            raise ValueError("a target needs region, unit or project")
        return self


class CampaignFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=200)
    kind: CampaignKind
    joint_group: str | None = None  # code of the organising joint group
    organiser: str = ""  # or the name of another organising body
    starts_on: date
    ends_on: date
    subgroups: int = Field(ge=1)
    liaison_share: float = Field(default=0.0, ge=0, lt=1)
    targets: list[TargetEntry] = Field(min_length=1)

    @model_validator(mode="after")
    def _dates(self) -> CampaignFile:
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        if not self.joint_group and not self.organiser:
            raise ValueError("give joint_group or organiser")
        return self


class FileError(ValueError):
    pass


async def create_from(uow: UnitOfWork, data: dict[str, Any]) -> Campaign:
    spec = CampaignFile.model_validate(data)
    s = uow.session
    group_id = None
    if spec.joint_group:
        group_id = await s.scalar(select(JointGroup.id).where(JointGroup.code == spec.joint_group))
        if group_id is None:
            raise FileError(f"joint_group: no joint group {spec.joint_group!r}")
    targets = []
    for i, t in enumerate(spec.targets):
        region = await s.scalar(select(Region).where((Region.code == t.region) | (Region.name == t.region))) \
            if t.region else None
        unit = await s.scalar(select(Unit).where((Unit.code == t.unit) | (Unit.name == t.unit))) if t.unit else None
        if (t.region and region is None) or (t.unit and unit is None):
            raise FileError(f"targets.{i}: unknown {'region' if t.region and region is None else 'unit'} "
                            f"{t.region if t.region and region is None else t.unit!r}")
        if t.project:
            targets.append(TargetSpec("project", t.project, region.id if region else unit.region_id if unit else None,
                                      unit.id if unit else None))
        elif unit is not None:
            targets.append(TargetSpec("unit", unit.name, unit.region_id, unit.id))
        elif region is not None:
            targets.append(TargetSpec("region", region.name, region.id))
    return await service.create(uow, None, title=spec.title, kind=spec.kind, joint_group_id=group_id,
                                organiser=spec.organiser, starts_on=spec.starts_on, ends_on=spec.ends_on,
                                subgroups=spec.subgroups, liaison_share=spec.liaison_share, targets=targets)
