"""Load an organisation from a YAML file (format: docs/org-file.md).

Importing the same file twice changes nothing. A bad file is rejected as a whole, with
the line and field of each problem; nothing is written.
"""

from __future__ import annotations

from datetime import UTC, datetime
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
    StaffOfficeSpell,
    StaffRole,
    Unit,
    office_units,
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


async def import_org(session: AsyncSession, org: OrgIn, *, now: datetime | None = None) -> dict[str, int]:
    """Upsert everything in ``org`` by code/login; returns how many rows were added or changed.
    A person whose office changes keeps the old one in their office history (``now`` ends it)."""
    stats = {"added": 0, "changed": 0}
    now = now or datetime.now(UTC)

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
            if staff.office_id is not None:
                session.add(StaffOfficeSpell(staff_id=staff.id, office_id=staff.office_id, since=now))
        else:
            old_office = staff.office_id
            stats["changed"] += _set(staff, **fields)
            if staff.office_id != old_office:
                await _move(session, staff.id, staff.office_id, now)
            if want_roles != {r.role for r in staff.role_rows}:
                staff.role_rows = [StaffRole(role=r) for r in sorted(want_roles)]
                stats["changed"] += 1
        want_c = {(units[c.unit].id if c.unit else None, c.person, c.kind, c.reason) for c in s.conflicts}
        # The file holds the standing declarations; one made on a single case, or one still
        # waiting for an administrator, belongs to the chat and is left alone.
        standing = (ConflictDeclaration.staff_id == staff.id, ConflictDeclaration.case_id.is_(None),
                    ConflictDeclaration.status == "confirmed")
        rows = (await session.scalars(select(ConflictDeclaration).where(*standing))).all()
        have_c = {(c.unit_id, c.person_name, c.kind, c.reason) for c in rows}
        if want_c != have_c:
            await session.execute(delete(ConflictDeclaration).where(*standing))
            for unit_id, person, kind, reason in sorted(want_c, key=str):
                session.add(ConflictDeclaration(staff_id=staff.id, unit_id=unit_id, person_name=person, kind=kind, reason=reason))
            stats["changed"] += 1
    await session.flush()
    return stats


async def _move(session: AsyncSession, staff_id: int, office_id: int | None, now: datetime) -> None:
    """Close the open office spell and open the next one: the history of who sat where."""
    for spell in (await session.scalars(select(StaffOfficeSpell).where(
            StaffOfficeSpell.staff_id == staff_id, StaffOfficeSpell.until.is_(None)))).all():
        spell.until = now
    if office_id is not None:
        session.add(StaffOfficeSpell(staff_id=staff_id, office_id=office_id, since=now))


async def export_org(session: AsyncSession) -> dict[str, Any]:
    """The organisation as it stands, in the import format (importing it changes nothing)."""
    regions = (await session.scalars(select(Region).order_by(Region.id))).all()
    units = (await session.scalars(select(Unit).order_by(Unit.id))).all()
    groups = (await session.scalars(select(JointGroup).order_by(JointGroup.id))).all()
    offices = (await session.scalars(select(Office).order_by(Office.id))).all()
    staff = (await session.scalars(select(Staff).order_by(Staff.id))).all()
    rcode = {r.id: r.code for r in regions}
    ucode = {u.id: u.code for u in units}
    gcode = {g.id: g.code for g in groups}
    ocode = {o.id: o.code for o in offices}
    stationed: dict[int, list[str]] = {}
    for oid, uid in (await session.execute(select(office_units.c.office_id, office_units.c.unit_id)
                                           .order_by(office_units.c.unit_id))).all():
        stationed.setdefault(oid, []).append(ucode[uid])
    decls: dict[int, list[dict[str, Any]]] = {}
    for c in (await session.scalars(select(ConflictDeclaration).where(
            ConflictDeclaration.case_id.is_(None), ConflictDeclaration.status == "confirmed")
            .order_by(ConflictDeclaration.id))).all():
        d: dict[str, Any] = {"unit": ucode[c.unit_id]} if c.unit_id else {}
        if c.person_name:
            d["person"] = c.person_name
        decls.setdefault(c.staff_id, []).append({**d, "kind": c.kind, "reason": c.reason})

    def opt(**kv: Any) -> dict[str, Any]:
        return {k: v for k, v in kv.items() if v is not None}

    people = []
    for s in staff:
        person: dict[str, Any] = {"login": s.login, "name": s.name,
                                  **opt(office=ocode.get(s.office_id or 0), home_region=rcode.get(s.home_region_id or 0)),
                                  "roles": sorted(r.role for r in s.role_rows)}
        if s.language:
            person["language"] = s.language
        if s.id in decls:
            person["conflicts"] = decls[s.id]
        people.append(person)
    return {
        "regions": [{"code": r.code, "name": r.name} for r in regions],
        "units": [{"code": u.code, "name": u.name, **opt(region=rcode.get(u.region_id or 0))} for u in units],
        "joint_groups": [{"code": g.code, "name": g.name} for g in groups],
        "offices": [{"code": o.code, "name": o.name, **opt(joint_group=gcode.get(o.joint_group_id or 0)),
                     "units": stationed.get(o.id, [])} for o in offices],
        "staff": people,
    }


def dump_org(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=120)
