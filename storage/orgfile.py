"""Load an organisation from a YAML file (format: docs/org-file.md).

Importing the same file twice changes nothing. A bad file is rejected as a whole, with
the line and field of each problem; nothing is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from storage.models import (
    ConflictDeclaration,
    JointGroup,
    Office,
    Region,
    Role,
    Staff,
    StaffRole,
    Unit,
)

CONFLICT_KINDS = ("self", "relative", "interest")


class OrgFileError(ValueError):
    """A bad organisation file; the message names line and field of each problem."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class RegionIn(_Strict):
    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)


class UnitIn(_Strict):
    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    region: str | None = None


class JointGroupIn(_Strict):
    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)


class OfficeIn(_Strict):
    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    joint_group: str | None = None
    units: list[str] = Field(default_factory=list)


class ConflictIn(_Strict):
    unit: str | None = None
    person: str | None = None
    kind: str = "interest"
    reason: str = ""


class StaffIn(_Strict):
    login: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    name: str = Field(min_length=1, max_length=200)
    office: str | None = None
    home_region: str | None = None
    roles: list[Role] = Field(default_factory=lambda: [Role.field])
    language: str | None = None
    conflicts: list[ConflictIn] = Field(default_factory=list)


class OrgIn(_Strict):
    regions: list[RegionIn] = Field(default_factory=list)
    units: list[UnitIn] = Field(default_factory=list)
    joint_groups: list[JointGroupIn] = Field(default_factory=list)
    offices: list[OfficeIn] = Field(default_factory=list)
    staff: list[StaffIn] = Field(default_factory=list)


def _line_map(node: yaml.Node, path: tuple[Any, ...] = (), out: dict[tuple[Any, ...], int] | None = None) -> dict[tuple[Any, ...], int]:
    out = {} if out is None else out
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            key = k.value
            out[path + (key,)] = k.start_mark.line + 1
            _line_map(v, path + (key,), out)
            out[path + (key,)] = k.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            _line_map(v, path + (i,), out)
    return out


def _line_for(lines: dict[tuple[Any, ...], int], loc: tuple[Any, ...]) -> int | None:
    for cut in range(len(loc), -1, -1):
        if loc[:cut] in lines:
            return lines[loc[:cut]]
    return None


def parse_org(text: str, source: str = "<org file>") -> OrgIn:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "unknown line"
        raise OrgFileError(f"{source}: {where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if data is None:
        raise OrgFileError(f"{source}: the file is empty")
    if not isinstance(data, dict):
        raise OrgFileError(f"{source}: line 1: expected a mapping with regions, units, joint_groups, offices, staff")
    lines = _line_map(node) if node is not None else {}
    try:
        org = OrgIn.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            field = ".".join(str(p) for p in loc)
            problems.append(f"{source}: line {_line_for(lines, loc)}: {field}: {err['msg']}")
        raise OrgFileError("\n".join(problems)) from None
    _check_references(org, lines, source)
    return org


def _check_references(org: OrgIn, lines: dict[tuple[Any, ...], int], source: str) -> None:
    problems: list[str] = []

    def bad(loc: tuple[Any, ...], msg: str) -> None:
        problems.append(f"{source}: line {_line_for(lines, loc)}: {'.'.join(map(str, loc))}: {msg}")

    def unique(section: str, items: list[Any], attr: str) -> set[str]:
        seen: set[str] = set()
        for i, item in enumerate(items):
            v = getattr(item, attr)
            if v in seen:
                bad((section, i, attr), f"duplicate {attr} {v!r}")
            seen.add(v)
        return seen

    regions = unique("regions", org.regions, "code")
    units = unique("units", org.units, "code")
    groups = unique("joint_groups", org.joint_groups, "code")
    offices = unique("offices", org.offices, "code")
    unique("staff", org.staff, "login")
    for i, u in enumerate(org.units):
        if u.region and u.region not in regions:
            bad(("units", i, "region"), f"unknown region {u.region!r}")
    for i, o in enumerate(org.offices):
        if o.joint_group and o.joint_group not in groups:
            bad(("offices", i, "joint_group"), f"unknown joint group {o.joint_group!r}")
        for j, code in enumerate(o.units):
            if code not in units:
                bad(("offices", i, "units", j), f"unknown unit {code!r}")
    for i, s in enumerate(org.staff):
        if s.office and s.office not in offices:
            bad(("staff", i, "office"), f"unknown office {s.office!r}")
        if s.home_region and s.home_region not in regions:
            bad(("staff", i, "home_region"), f"unknown region {s.home_region!r}")
        if s.language and s.language not in ("zh_CN", "en"):
            bad(("staff", i, "language"), "must be zh_CN or en")
        for j, c in enumerate(s.conflicts):
            if not c.unit and not c.person:
                bad(("staff", i, "conflicts", j), "a conflict needs a unit or a person")
            if c.unit and c.unit not in units:
                bad(("staff", i, "conflicts", j, "unit"), f"unknown unit {c.unit!r}")
            if c.kind not in CONFLICT_KINDS:
                bad(("staff", i, "conflicts", j, "kind"), f"must be one of {', '.join(CONFLICT_KINDS)}")
    if problems:
        raise OrgFileError("\n".join(problems))


def load_org_file(path: Path) -> OrgIn:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise OrgFileError(f"{path}: cannot read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise OrgFileError(f"{path}: not UTF-8 text") from None
    return parse_org(text, str(path))


def _set(obj: Any, **values: Any) -> bool:
    changed = False
    for k, v in values.items():
        if getattr(obj, k) != v:
            setattr(obj, k, v)
            changed = True
    return changed


async def import_org(session: AsyncSession, org: OrgIn) -> dict[str, int]:
    """Upsert everything in ``org`` by code/login; returns how many rows were added or changed."""
    stats = {"added": 0, "changed": 0}

    async def upsert(model: Any, key: str, value: str, **fields: Any) -> Any:
        obj = await session.scalar(select(model).where(getattr(model, key) == value))
        if obj is None:
            obj = model(**{key: value}, **fields)
            session.add(obj)
            stats["added"] += 1
        elif _set(obj, **fields):
            stats["changed"] += 1
        return obj

    regions = {r.code: await upsert(Region, "code", r.code, name=r.name) for r in org.regions}
    await session.flush()
    units = {}
    for u in org.units:
        units[u.code] = await upsert(Unit, "code", u.code, name=u.name,
                                     region_id=regions[u.region].id if u.region else None)
    groups = {g.code: await upsert(JointGroup, "code", g.code, name=g.name) for g in org.joint_groups}
    await session.flush()
    offices = {}
    for o in org.offices:
        office = await session.scalar(select(Office).options(selectinload(Office.units)).where(Office.code == o.code))
        fields = dict(name=o.name, joint_group_id=groups[o.joint_group].id if o.joint_group else None)
        if office is None:
            office = Office(code=o.code, **fields)
            office.units = [units[c] for c in o.units]
            session.add(office)
            stats["added"] += 1
        else:
            changed = _set(office, **fields)
            want = {units[c].id for c in o.units}
            if {u.id for u in office.units} != want:
                office.units = [units[c] for c in o.units]
                changed = True
            stats["changed"] += changed
        offices[o.code] = office
    await session.flush()
    for s in org.staff:
        fields = dict(
            name=s.name,
            office_id=offices[s.office].id if s.office else None,
            home_region_id=regions[s.home_region].id if s.home_region else None,
            language=s.language,
        )
        want_roles = {r.value for r in s.roles}
        staff = await session.scalar(select(Staff).where(Staff.login == s.login))
        if staff is None:
            staff = Staff(login=s.login, **fields, role_rows=[StaffRole(role=r) for r in sorted(want_roles)])
            session.add(staff)
            stats["added"] += 1
            await session.flush()
        else:
            stats["changed"] += _set(staff, **fields)
            if want_roles != {r.role for r in staff.role_rows}:
                staff.role_rows = [StaffRole(role=r) for r in sorted(want_roles)]
                stats["changed"] += 1
        want_c = {(units[c.unit].id if c.unit else None, c.person, c.kind, c.reason) for c in s.conflicts}
        rows = (await session.scalars(select(ConflictDeclaration).where(ConflictDeclaration.staff_id == staff.id))).all()
        have_c = {(c.unit_id, c.person_name, c.kind, c.reason) for c in rows}
        if want_c != have_c:
            await session.execute(delete(ConflictDeclaration).where(ConflictDeclaration.staff_id == staff.id))
            for unit_id, person, kind, reason in sorted(want_c, key=str):
                session.add(ConflictDeclaration(staff_id=staff.id, unit_id=unit_id, person_name=person, kind=kind, reason=reason))
            stats["changed"] += 1
    await session.flush()
    return stats
