"""Mixed subgroups for a campaign (混合编组): who goes where, and why anyone is kept out.

The core (:func:`propose`) is pure, over plain records, so it can be checked on random
organisations and timed; :func:`load_people` and :func:`recent_by_target` read the database.

Rules: targets are split into contiguous, even shares per subgroup; each subgroup gets a lead
(someone with the lead role where possible) and then members spread evenly, preferring the
office least represented in it (so every subgroup mixes offices). Nobody works a target in their
home region, at a unit their office is stationed at or with which they declared a relationship,
or (rotation) a target they inspected recently. Local people (home region or stationed office is
their only bar) may join as liaisons, at most ``liaison_share`` of a subgroup, marked as such.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Campaign,
    CampaignState,
    CampaignTarget,
    ConflictDeclaration,
    Office,
    Role,
    Staff,
    Subgroup,
    SubgroupMember,
    conflict_in_force,
    office_units,
)

# Reasons that bar someone from a target's ordinary work but not from being its local liaison.
LOCAL = frozenset({"home_region", "stationed"})


@dataclass(frozen=True)
class Person:
    id: int
    login: str
    name: str
    office_id: int | None
    home_region_id: int | None
    lead: bool = False
    stationed: frozenset[int] = frozenset()  # units the person's office is stationed at
    declared: frozenset[int] = frozenset()  # units the person declared a relationship with


@dataclass(frozen=True)
class Place:
    """A campaign target as the proposal needs it."""

    key: int
    region_id: int | None
    unit_id: int | None


def reasons_for(p: Person, t: Place, recent: Iterable[int] = ()) -> list[str]:
    """Codes of every reason ``p`` may not do ordinary work at ``t`` (the words are the cases' ones)."""
    out = []
    if t.unit_id is not None and t.unit_id in p.stationed:
        out.append("stationed")
    if t.unit_id is not None and t.unit_id in p.declared:
        out.append("declared_unit")
    if t.region_id is not None and p.home_region_id == t.region_id:
        out.append("home_region")
    if p.id in recent:
        out.append("rotation")
    return out


def group_reasons(p: Person, places: Sequence[Place], recent: Mapping[int, set[int]]) -> list[str]:
    seen: dict[str, None] = {}
    for t in places:
        for r in reasons_for(p, t, recent.get(t.key, ())):
            seen[r] = None
    return list(seen)


def liaison_room(members: int, liaisons: int, share: float) -> bool:
    """Whether one more liaison keeps liaisons at most ``share`` of the subgroup."""
    return liaisons + 1 <= share * (members + liaisons + 1) + 1e-9


@dataclass
class GroupPlan:
    number: int
    target_keys: list[int]
    lead: int | None = None
    members: list[int] = field(default_factory=list)
    liaisons: list[int] = field(default_factory=list)

    def everyone(self) -> list[int]:
        return ([self.lead] if self.lead is not None else []) + self.members + self.liaisons


@dataclass
class Exclusion:
    staff_id: int
    login: str
    name: str
    group: int  # subgroup number; 0: kept out of the whole campaign
    reasons: list[str]


@dataclass
class CampaignProposal:
    groups: list[GroupPlan]
    exclusions: list[Exclusion] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"exclusions": [{"staff_id": e.staff_id, "login": e.login, "name": e.name, "group": e.group,
                                "reasons": e.reasons} for e in self.exclusions]}


def split_targets(places: Sequence[Place], n: int) -> list[list[Place]]:
    """Contiguous, even shares (targets sorted by region, so a subgroup's targets lie together
    and fewer people are barred from it by home region)."""
    ordered = sorted(places, key=lambda t: (t.region_id or 0, t.unit_id or 0, t.key))
    n = max(1, min(n, len(ordered)))
    return [ordered[len(ordered) * g // n: len(ordered) * (g + 1) // n] for g in range(n)]


def propose(people: Sequence[Person], places: Sequence[Place], subgroups: int, liaison_share: float, *,
            recent: Mapping[int, set[int]] | None = None) -> CampaignProposal:
    recent = recent or {}
    shares = split_targets(places, subgroups)
    n = len(shares)
    plan = CampaignProposal([GroupPlan(g + 1, [t.key for t in shares[g]]) for g in range(n)])
    why = {p.id: [group_reasons(p, shares[g], recent) for g in range(n)] for p in people}
    eligible = {p.id: [g for g in range(n) if not why[p.id][g]] for p in people}
    size = [0] * n
    offices: list[Counter[int | None]] = [Counter() for _ in range(n)]
    placed: set[int] = set()

    def put(p: Person, g: int) -> None:
        size[g] += 1
        offices[g][p.office_id] += 1
        placed.add(p.id)

    def best(p: Person, options: list[int]) -> int:
        # Smallest subgroup first (even spread), then the one with fewest of the person's office (mixing).
        return min(options, key=lambda g: (size[g], offices[g][p.office_id], g))

    # Leads: the subgroups with fewest possible leads choose first, taking the least flexible lead.
    leads = [p for p in people if p.lead and eligible[p.id]]
    for g in sorted(range(n), key=lambda g: (sum(1 for p in leads if g in eligible[p.id]), g)):
        options = [p for p in leads if p.id not in placed and g in eligible[p.id]]
        if options:
            chosen = min(options, key=lambda p: (len(eligible[p.id]), p.id))
            plan.groups[g].lead = chosen.id
            put(chosen, g)
    # Everyone else, least flexible first, so the flexible fill what is left evenly.
    for p in sorted((p for p in people if p.id not in placed and eligible[p.id]),
                    key=lambda p: (len(eligible[p.id]), p.id)):
        g = best(p, eligible[p.id])
        plan.groups[g].members.append(p.id)
        put(p, g)
    for grp in plan.groups:  # no one with the lead role could go there: its first member leads
        if grp.lead is None and grp.members:
            grp.lead = grp.members.pop(0)
    # Local liaisons, within the share.
    for p in people:
        if p.id in placed:
            continue
        for g in range(n):
            if why[p.id][g] and set(why[p.id][g]) <= LOCAL and plan.groups[g].lead is not None and \
                    liaison_room(size[g], len(plan.groups[g].liaisons), liaison_share):
                plan.groups[g].liaisons.append(p.id)
                placed.add(p.id)
                break
    for p in people:
        for g in range(n):
            if why[p.id][g]:
                plan.exclusions.append(Exclusion(p.id, p.login, p.name, g + 1, why[p.id][g]))
        if p.id not in placed:
            local_only = any(why[p.id][g] and set(why[p.id][g]) <= LOCAL for g in range(n))
            plan.exclusions.append(Exclusion(p.id, p.login, p.name, 0,
                                             ["liaison_share"] if local_only else ["no_subgroup"]))
    return plan


# -- from the database --------------------------------------------------------------------------


async def load_people(session: AsyncSession, joint_group_id: int | None) -> list[Person]:
    """Active field officers and leads of the group's offices (of every office without a group)."""
    q = select(Staff).join(Office, Office.id == Staff.office_id).where(Staff.active.is_(True)).order_by(Staff.id)
    if joint_group_id is not None:
        q = q.where(Office.joint_group_id == joint_group_id)
    staff = [s for s in (await session.scalars(q)).all() if s.roles & {Role.field, Role.lead}]
    stationed: dict[int, set[int]] = {}
    for office_id, unit_id in (await session.execute(select(office_units.c.office_id, office_units.c.unit_id))).tuples():
        stationed.setdefault(office_id, set()).add(unit_id)
    declared: dict[int, set[int]] = {}
    for sid, uid in (await session.execute(select(ConflictDeclaration.staff_id, ConflictDeclaration.unit_id)
                                           .where(ConflictDeclaration.unit_id.is_not(None), conflict_in_force()))).tuples():
        if uid is not None:
            declared.setdefault(sid, set()).add(uid)
    return [Person(s.id, s.login, s.name, s.office_id, s.home_region_id, Role.lead in s.roles,
                   frozenset(stationed.get(s.office_id or 0, ())), frozenset(declared.get(s.id, ())))
            for s in staff]


def place_of(t: CampaignTarget) -> Place:
    # Home region bars work in a place (a region, a project there), as cross inspection does for
    # cases; a unit target is barred by the stationed office and declared relationships.
    return Place(t.id, None if t.kind == "unit" else t.region_id, t.unit_id)


def same_target(a: CampaignTarget, b: CampaignTarget) -> bool:
    return (a.kind, a.region_id, a.unit_id, a.name) == (b.kind, b.region_id, b.unit_id, b.name)


async def recent_by_target(session: AsyncSession, campaign: Campaign, months: int) -> dict[int, set[int]]:
    """Rotation: for each target, who was in the subgroup inspecting the same target in a
    confirmed campaign that ended less than ``months`` before this one starts."""
    if months <= 0:
        return {}
    since: date = campaign.starts_on - timedelta(days=30 * months)
    rows = (await session.execute(
        select(CampaignTarget, SubgroupMember.staff_id)
        .join(Subgroup, Subgroup.id == CampaignTarget.subgroup_id)
        .join(SubgroupMember, SubgroupMember.subgroup_id == Subgroup.id)
        .join(Campaign, Campaign.id == CampaignTarget.campaign_id)
        .where(Campaign.id != campaign.id, Campaign.state != CampaignState.proposed.value,
               Campaign.ends_on >= since, Campaign.starts_on <= campaign.starts_on))).tuples().all()
    out: dict[int, set[int]] = {}
    for t in campaign.targets:
        for old, sid in rows:
            if same_target(t, old):
                out.setdefault(t.id, set()).add(sid)
    return out

