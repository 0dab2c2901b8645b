"""Load an organisation from a YAML file (format: docs/org-file.md).

Importing the same file twice changes nothing. A bad file is rejected as a whole, with
the line and field of each problem; nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from storage.models import (
    ConflictDeclaration,
    JointGroup,
    JointUnit,
    JointUnitMember,
    JointUnitRegion,
    Office,
    Region,
    Role,
    Staff,
    StaffOfficeSpell,
    StaffRole,
    Unit,
    office_units,
)
from storage.models.named import rematch_all

CONFLICT_KINDS = ("self", "relative", "interest")


class OrgFileError(ValueError):
    """A bad organisation file; the message names line and field of each problem."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class RegionIn(_Strict):
    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)


Alias = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=r"^[^\n\r]+$")]


class _NamedIn(_Strict):
    """A unit, joint group or office: its code, official name, English name and aliases."""

    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    name_en: str | None = Field(default=None, min_length=1, max_length=200)
    aliases: list[Alias] = Field(default_factory=list, max_length=20)

    def names(self) -> dict[str, Any]:
        return {"name": self.name, "name_en": self.name_en, "aliases_text": "\n".join(dict.fromkeys(self.aliases))}


class UnitIn(_NamedIn):
    region: str | None = None


class JointGroupIn(_NamedIn):
    pass


class OfficeIn(_NamedIn):
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


class JointUnitIn(_Strict):
    """室组地联动 for a region (片区): a commission office, stationed groups, a local commission."""

    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    regions: list[str] = Field(min_length=1)
    room: str | None = None  # the commission office (室), an office code
    groups: list[str] = Field(min_length=1)  # stationed groups (组), office codes
    local: str | None = None  # the local commission (地), an office code
    lead: str  # the leading member: one of the office codes above

    def bodies(self) -> list[tuple[str, str]]:
        """(office code, kind) in the file's order: room, groups, local."""
        return ([(self.room, "room")] if self.room else []) + [(g, "group") for g in self.groups] + (
            [(self.local, "local")] if self.local else [])


class OrgIn(_Strict):
    regions: list[RegionIn] = Field(default_factory=list)
    units: list[UnitIn] = Field(default_factory=list)
    joint_groups: list[JointGroupIn] = Field(default_factory=list)
    offices: list[OfficeIn] = Field(default_factory=list)
    staff: list[StaffIn] = Field(default_factory=list)
    joint_units: list[JointUnitIn] = Field(default_factory=list)


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
    unique("joint_units", org.joint_units, "code")
    placed: dict[str, str] = {}
    for i, ju in enumerate(org.joint_units):
        for j, r in enumerate(ju.regions):
            if r not in regions:
                bad(("joint_units", i, "regions", j), f"unknown region {r!r}")
            elif r in placed:
                bad(("joint_units", i, "regions", j), f"region {r!r} already has joint unit {placed[r]!r}")
            placed.setdefault(r, ju.code)
        codes = [code for code, _k in ju.bodies()]
        for code, kind in ju.bodies():
            where = ("joint_units", i, "groups", ju.groups.index(code)) if kind == "group" else ("joint_units", i, kind)
            if code not in offices:
                bad(where, f"unknown office {code!r}")
            elif codes.count(code) > 1:
                bad(where, f"office {code!r} is listed twice")
        if ju.lead not in codes:
            bad(("joint_units", i, "lead"), "must be one of the unit's offices (room, groups, local)")
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


# Staff rows written per transaction by ``import_org_batched``: each batch is a few bulk
# statements, and between batches SQLite's single writer is free for the people using the bot.
STAFF_BATCH = 500


async def import_org(session: AsyncSession, org: OrgIn, *, now: datetime | None = None) -> dict[str, int]:
    """Upsert everything in ``org`` by code/login, in the caller's transaction; returns how many
    rows were added or changed. A person whose office changes keeps the old one in their office
    history (``now`` ends it)."""
    stats = {"added": 0, "changed": 0}
    now = now or datetime.now(UTC)
    ids = await _import_structure(session, org, stats)
    for i in range(0, len(org.staff), STAFF_BATCH):
        await _import_staff(session, org.staff[i:i + STAFF_BATCH], ids, now, stats)
    return stats


async def import_org_batched(sessionmaker: async_sessionmaker[AsyncSession], org: OrgIn, *,
                             now: datetime | None = None, batch: int = STAFF_BATCH) -> dict[str, int]:
    """``import_org`` for large files: regions, units, groups and offices in one transaction, then
    staff ``batch`` at a time, each batch committed, so that no transaction holds the database's
    writer for long. The file was validated as a whole before (``parse_org``: every reference
    resolves), so a batch fails only if the database does; then what was written is a prefix of
    the file, and importing the same file again completes it (an import is idempotent)."""
    stats = {"added": 0, "changed": 0}
    now = now or datetime.now(UTC)
    async with sessionmaker() as session, session.begin():
        ids = await _import_structure(session, org, stats)
    for i in range(0, len(org.staff), batch):
        async with sessionmaker() as session, session.begin():
            await _import_staff(session, org.staff[i:i + batch], ids, now, stats)
    return stats


@dataclass
class _Ids:
    regions: dict[str, int]
    units: dict[str, int]
    offices: dict[str, int]


async def _import_structure(session: AsyncSession, org: OrgIn, stats: dict[str, int]) -> _Ids:
    """Regions, units, joint groups and offices: each table read once, new rows flushed together."""

    async def upsert_all(model: Any, items: list[Any], fields: Any) -> dict[str, Any]:
        have = {o.code: o for o in (await session.scalars(select(model))).all()}
        new = []
        for item in items:
            obj, values = have.get(item.code), fields(item)
            if obj is None:
                new.append(dict(code=item.code, **values))
            elif _set(obj, **values):
                stats["changed"] += 1
        await session.flush()
        if not new:
            return have
        await session.execute(insert(model), new)  # one bulk INSERT, then read back as objects
        stats["added"] += len(new)
        return {o.code: o for o in (await session.scalars(select(model))).all()}

    regions = await upsert_all(Region, org.regions, lambda r: dict(name=r.name))
    units = await upsert_all(Unit, org.units, lambda u: dict(
        **u.names(), region_id=regions[u.region].id if u.region else None))
    groups = await upsert_all(JointGroup, org.joint_groups, lambda g: dict(**g.names()))
    offices = {o.code: o for o in (await session.scalars(select(Office).options(selectinload(Office.units)))).all()}
    for o in org.offices:
        office = offices.get(o.code)
        fields = dict(**o.names(), joint_group_id=groups[o.joint_group].id if o.joint_group else None)
        if office is None:
            office = Office(code=o.code, **fields)
            office.units = [units[c] for c in o.units]
            session.add(office)
            offices[o.code] = office
            stats["added"] += 1
        else:
            changed = _set(office, **fields)
            want = {units[c].id for c in o.units}
            if {u.id for u in office.units} != want:
                office.units = [units[c] for c in o.units]
                changed = True
            stats["changed"] += changed
    await session.flush()
    for ju in org.joint_units:
        await _joint_unit(session, ju, regions, offices, stats)
    await session.flush()
    return _Ids(regions={k: v.id for k, v in regions.items()}, units={k: v.id for k, v in units.items()},
                offices={k: v.id for k, v in offices.items()})


async def _import_staff(session: AsyncSession, people: list[StaffIn], ids: _Ids, now: datetime,
                        stats: dict[str, int]) -> None:
    """One batch of staff: existing rows and their standing declarations read with one query each,
    new people inserted together."""
    logins = [s.login for s in people]
    have = {st.login: st for st in (await session.scalars(select(Staff).where(Staff.login.in_(logins)))).all()}
    # The file holds the standing declarations it wrote (no declaration time). One made in the
    # chat (/conflict: declared, then decided by an administrator), on a single case or still
    # waiting, is the declarant's and is never removed by a file that does not list it: a 回避
    # must not vanish because HR sent an older list.
    standing = (ConflictDeclaration.case_id.is_(None), ConflictDeclaration.status == "confirmed")
    from_file = (*standing, ConflictDeclaration.declared_at.is_(None))
    declared: dict[int, list[ConflictDeclaration]] = {}
    from_chat: dict[int, set[tuple[int | None, str | None, str, str]]] = {}
    if have:
        for c in (await session.scalars(select(ConflictDeclaration).where(
                ConflictDeclaration.staff_id.in_([st.id for st in have.values()]), *standing))).all():
            if c.declared_at is None:
                declared.setdefault(c.staff_id, []).append(c)
            else:
                from_chat.setdefault(c.staff_id, set()).add((c.unit_id, c.person_name, c.kind, c.reason))
    new: list[tuple[StaffIn, dict[str, Any]]] = []
    renamed = False
    for s in people:
        fields = dict(
            name=s.name,
            office_id=ids.offices[s.office] if s.office else None,
            home_region_id=ids.regions[s.home_region] if s.home_region else None,
            language=s.language,
        )
        want_roles = {r.value for r in s.roles}
        staff = have.get(s.login)
        if staff is None:
            new.append((s, fields))
            stats["added"] += 1
            continue
        old_office, old_name = staff.office_id, staff.name
        stats["changed"] += _set(staff, **fields)
        renamed = renamed or staff.name != old_name
        if staff.office_id != old_office:
            await _move(session, staff.id, staff.office_id, now)
        if want_roles != {r.role for r in staff.role_rows}:
            staff.role_rows = [StaffRole(role=r) for r in sorted(want_roles)]
            stats["changed"] += 1
        # What the chat already holds is not written twice (an exported file lists it too).
        want_c = _wanted_conflicts(s, ids) - from_chat.get(staff.id, set())
        rows = declared.get(staff.id, [])
        if want_c != {(c.unit_id, c.person_name, c.kind, c.reason) for c in rows}:
            await session.execute(delete(ConflictDeclaration).where(ConflictDeclaration.staff_id == staff.id,
                                                                    *from_file))
            _declare(session, staff.id, want_c)
            stats["changed"] += 1
    await session.flush()
    if new:
        await _insert_people(session, new, ids, now)
    if new or renamed:
        # A name that now occurs in a report must hide that case from its bearer: the cases are
        # matched again, in this transaction's commit, by the next access check (it has the keys).
        await rematch_all(session)


async def _insert_people(session: AsyncSession, new: list[tuple[StaffIn, dict[str, Any]]], ids: _Ids,
                         now: datetime) -> None:
    """New people with their roles, office spells and declarations: one bulk INSERT per table
    (one by one, 18,000 people took minutes and held the writer all along)."""
    created = await session.execute(insert(Staff).returning(Staff.id, Staff.login),
                                    [dict(login=s.login, active=True, **fields) for s, fields in new])
    staff_id = {login: sid for sid, login in created.all()}
    roles, spells, conflicts = [], [], []
    for s, fields in new:
        sid = staff_id[s.login]
        roles += [dict(staff_id=sid, role=r) for r in sorted({r.value for r in s.roles})]
        if fields["office_id"] is not None:
            spells.append(dict(staff_id=sid, office_id=fields["office_id"], since=now, until=None))
        conflicts += [dict(staff_id=sid, unit_id=unit_id, person_name=person, kind=kind, reason=reason,
                           case_id=None, status="confirmed", declared_at=None, decided_by_staff_id=None)
                      for unit_id, person, kind, reason in sorted(_wanted_conflicts(s, ids), key=str)]
    for model, rows in ((StaffRole, roles), (StaffOfficeSpell, spells), (ConflictDeclaration, conflicts)):
        if rows:
            await session.execute(insert(model), rows)


def _wanted_conflicts(s: StaffIn, ids: _Ids) -> set[tuple[int | None, str | None, str, str]]:
    return {(ids.units[c.unit] if c.unit else None, c.person, c.kind, c.reason) for c in s.conflicts}


def _declare(session: AsyncSession, staff_id: int, conflicts: set[tuple[int | None, str | None, str, str]]) -> None:
    for unit_id, person, kind, reason in sorted(conflicts, key=str):
        session.add(ConflictDeclaration(staff_id=staff_id, unit_id=unit_id, person_name=person, kind=kind, reason=reason))


async def _joint_unit(session: AsyncSession, ju: JointUnitIn, regions: dict[str, Region], offices: dict[str, Office],
                      stats: dict[str, int]) -> None:
    """Upsert one joint unit; offices and regions not in this file are looked up by code."""

    async def office(code: str) -> Office:
        o = offices.get(code) or await session.scalar(select(Office).where(Office.code == code))
        if o is None:
            raise OrgFileError(f"joint_units: {ju.code}: unknown office {code!r}")
        return o

    async def region(code: str) -> Region:
        r = regions.get(code) or await session.scalar(select(Region).where(Region.code == code))
        if r is None:
            raise OrgFileError(f"joint_units: {ju.code}: unknown region {code!r}")
        return r

    lead = await office(ju.lead)
    want_members = [((await office(c)).id, kind) for c, kind in ju.bodies()]
    want_regions = sorted({(await region(r)).id for r in ju.regions})
    unit = await session.scalar(select(JointUnit).where(JointUnit.code == ju.code))
    if unit is None:
        unit = JointUnit(code=ju.code, name=ju.name, lead_office_id=lead.id, members=[], regions=[])
        session.add(unit)
        stats["added"] += 1
    elif _set(unit, name=ju.name, lead_office_id=lead.id):
        stats["changed"] += 1
    if [(m.office_id, m.kind) for m in unit.members] != want_members:
        unit.members = [JointUnitMember(office_id=oid, kind=kind, position=n) for n, (oid, kind) in enumerate(want_members)]
        stats["changed"] += unit.id is not None
    if sorted(r.region_id for r in unit.regions) != want_regions:
        # A region moves from another unit to this one: the file says where it belongs now.
        await session.execute(delete(JointUnitRegion).where(JointUnitRegion.region_id.in_(want_regions),
                                                            JointUnitRegion.joint_unit_id != (unit.id or 0)))
        unit.regions = [JointUnitRegion(region_id=r) for r in want_regions]
        stats["changed"] += unit.id is not None
    await session.flush()


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

    def names(obj: Unit | JointGroup | Office) -> dict[str, Any]:
        return {"name": obj.name, **opt(name_en=obj.name_en), **({"aliases": obj.aliases} if obj.aliases else {})}

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
    out: dict[str, Any] = {
        "regions": [{"code": r.code, "name": r.name} for r in regions],
        "units": [{"code": u.code, **names(u), **opt(region=rcode.get(u.region_id or 0))} for u in units],
        "joint_groups": [{"code": g.code, **names(g)} for g in groups],
        "offices": [{"code": o.code, **names(o), **opt(joint_group=gcode.get(o.joint_group_id or 0)),
                     "units": stationed.get(o.id, [])} for o in offices],
        "staff": people,
    }
    units_out = []
    for ju in (await session.scalars(select(JointUnit).order_by(JointUnit.id))).all():
        item: dict[str, Any] = {"code": ju.code, "name": ju.name,
                                "regions": sorted(rcode[r.region_id] for r in ju.regions)}
        rooms = [ocode[m.office_id] for m in ju.members if m.kind == "room"]
        locals_ = [ocode[m.office_id] for m in ju.members if m.kind == "local"]
        item.update(opt(room=rooms[0] if rooms else None))
        item["groups"] = [ocode[m.office_id] for m in ju.members if m.kind == "group"]
        item.update(opt(local=locals_[0] if locals_ else None))
        item["lead"] = ocode[ju.lead_office_id]
        units_out.append(item)
    if units_out:
        out["joint_units"] = units_out
    return out


def dump_org(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=120)
