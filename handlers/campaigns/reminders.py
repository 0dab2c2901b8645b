"""What a campaign task deadline is about, for the minute job: its reference and who each
recipient name in the policy stands for (never anyone with a conflict on the target)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.campaigns.access import target_reasons
from handlers.schedule.ticker import Target, supervisors
from storage.models import (
    Campaign,
    CampaignTarget,
    CampaignTask,
    Deadline,
    MemberRole,
    Office,
    Role,
    Staff,
    StaffRole,
    Subgroup,
    SubgroupMember,
)


async def task_target(session: AsyncSession, d: Deadline) -> Target | None:
    task = await session.scalar(select(CampaignTask).where(CampaignTask.deadline_id == d.id))
    target = await session.get(CampaignTarget, task.target_id) if task else None
    sg = await session.get(Subgroup, task.subgroup_id) if task else None
    c = await session.get(Campaign, sg.campaign_id) if sg else None
    if task is None or target is None or sg is None or c is None:
        return None

    async def clear(ids: list[int]) -> list[int]:
        out = []
        for sid in ids:
            s = await session.get(Staff, sid)
            if s is not None and not await target_reasons(session, s, target):
                out.append(sid)
        return out

    async def recipients(who: str) -> list[int]:
        if who == "supervisor":
            return await clear(await supervisors(session))
        if who == "group_lead" and c.joint_group_id is not None:
            ids = (await session.scalars(select(Staff.id).join(Office, Office.id == Staff.office_id).join(
                StaffRole, StaffRole.staff_id == Staff.id).where(Office.joint_group_id == c.joint_group_id,
                                                                 StaffRole.role == Role.lead.value))).all()
            return await clear(sorted(set(ids)))
        if who == "group_lead":
            return await clear(await supervisors(session))
        # "lead": the subgroup's lead, who was placed there free of conflict.
        return list((await session.scalars(select(SubgroupMember.staff_id).where(
            SubgroupMember.subgroup_id == sg.id, SubgroupMember.role == MemberRole.lead.value))).all())

    return Target(f"{c.reference} #{sg.number} {target.name} · {task.kind}", None, recipients)
