"""Who may see or do what in a campaign (need-to-know).

A person with a conflict on a target (their office stationed at it, a declared relationship, their
home region) sees nothing of that target, exactly as if it were not part of the campaign; a local
liaison is the one exception, for the target they were placed at. Members see their own subgroup;
supervisors and the organising group's leads see the whole campaign; evaluations are for
supervisors only.
"""

from __future__ import annotations

import enum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.access import Hears
from handlers.campaigns.proposal import LOCAL, Person, place_of, reasons_for
from storage.crypto import Sealer
from storage.models import (
    Campaign,
    CampaignTarget,
    ConflictDeclaration,
    MemberRole,
    Office,
    Role,
    Staff,
    Subgroup,
    SubgroupMember,
    conflict_in_force,
    office_units,
)


class CA(str, enum.Enum):
    view = "view"  # progress of the targets one may see
    manage = "manage"  # confirm or change subgroups, end the campaign, rate a subgroup
    report = "report"  # report progress on one's own subgroup's tasks
    rate_host = "rate_host"  # a subgroup lead rates the host
    evaluations = "evaluations"  # read the two-way evaluations


async def person_of(session: AsyncSession, staff: Staff) -> Person:
    stationed = set((await session.scalars(select(office_units.c.unit_id).where(
        office_units.c.office_id == staff.office_id))).all()) if staff.office_id else set()
    declared = {u for u in (await session.scalars(select(ConflictDeclaration.unit_id).where(
        ConflictDeclaration.staff_id == staff.id, conflict_in_force()))).all() if u is not None}
    return Person(staff.id, staff.login, staff.name, staff.office_id, staff.home_region_id, Role.lead in staff.roles,
                  frozenset(stationed), frozenset(declared))


async def target_reasons(session: AsyncSession, staff: Staff, target: CampaignTarget) -> list[str]:
    return reasons_for(await person_of(session, staff), place_of(target))


async def membership(session: AsyncSession, staff: Staff, campaign: Campaign) -> SubgroupMember | None:
    m: SubgroupMember | None = await session.scalar(
        select(SubgroupMember).join(Subgroup, Subgroup.id == SubgroupMember.subgroup_id)
        .where(Subgroup.campaign_id == campaign.id, SubgroupMember.staff_id == staff.id))
    return m


async def overseer(session: AsyncSession, staff: Staff, campaign: Campaign) -> bool:
    """A supervisor, or a lead of the organising joint group."""
    if staff.roles & {Role.supervisor, Role.admin}:
        return True
    if Role.lead not in staff.roles or staff.office_id is None or campaign.joint_group_id is None:
        return False
    office = await session.get(Office, staff.office_id)
    return office is not None and office.joint_group_id == campaign.joint_group_id


async def visible_targets(session: AsyncSession, staff: Staff, campaign: Campaign) -> list[CampaignTarget]:
    person = await person_of(session, staff)
    member = await membership(session, staff, campaign)
    see_all = await overseer(session, staff, campaign)
    out = []
    for t in campaign.targets:
        reasons = reasons_for(person, place_of(t))
        own = member is not None and t.subgroup_id == member.subgroup_id
        if own and member is not None and member.role == MemberRole.liaison.value and set(reasons) <= LOCAL:
            out.append(t)  # the local liaison of this target
        elif not reasons and (see_all or own):
            out.append(t)
    return out


async def allowed(session: AsyncSession, staff: Staff | None, campaign: Campaign, action: CA, *,
                  subgroup_id: int | None = None) -> bool:
    if staff is None:
        return False
    targets = await visible_targets(session, staff, campaign)
    if not targets:
        return False
    if action is CA.view:
        return True
    # Managing or reading evaluations means seeing every target: nobody with a conflict on any.
    conflict_free = len(targets) == len(campaign.targets)
    for t in campaign.targets if conflict_free else ():
        conflict_free = conflict_free and not await target_reasons(session, staff, t)
    if action is CA.manage:
        return conflict_free and await overseer(session, staff, campaign)
    if action is CA.evaluations:
        return conflict_free and bool(staff.roles & {Role.supervisor, Role.admin})
    member = await membership(session, staff, campaign)
    if member is None or (subgroup_id is not None and member.subgroup_id != subgroup_id):
        return False
    if action is CA.report:
        return True
    if action is CA.rate_host:
        return member.role == MemberRole.lead.value
    return False


def hears(campaign: Campaign, sg: Subgroup) -> Hears:
    """What a notice about a subgroup is checked against: it names the subgroup's targets, so only
    someone who may see every one of them is told (a conflict declared after placement counts)."""

    async def check(session: AsyncSession, sealer: Sealer, staff: Staff) -> bool:
        named = {t.id for t in campaign.targets if t.subgroup_id == sg.id}
        return named <= {t.id for t in await visible_targets(session, staff, campaign)}

    return check
