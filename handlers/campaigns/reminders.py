"""What a campaign deadline is about, for the minute job: a task of a subgroup at a target, or a
member's 签收 of their notice; who each recipient name in the policy stands for (never anyone
with a conflict on a target concerned), and how the reminder and the escalation are worded:
the campaign, the subgroup, the target and the task, never "case"."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.campaigns.access import target_reasons
from handlers.campaigns.service import TASK_WORDS, target_names
from handlers.config import SUPPORTED_LANGUAGES
from handlers.events import Button, Reply
from handlers.i18n import Gettext, lang_of
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


def _recipients(session: AsyncSession, c: Campaign, sg: Subgroup, targets: Sequence[CampaignTarget],
                member: SubgroupMember | None = None) -> Callable[[str], Awaitable[list[int]]]:
    async def clear(ids: list[int]) -> list[int]:
        out = []
        for sid in ids:
            s = await session.get(Staff, sid)
            if s is None:
                continue
            if not any([await target_reasons(session, s, t) for t in targets]):
                out.append(sid)
        return out

    async def recipients(who: str) -> list[int]:
        if who == "member":
            return [member.staff_id] if member is not None else []
        if who == "supervisor":
            return await clear(await supervisors(session))
        if who == "group_lead" and c.joint_group_id is not None:
            ids = (await session.scalars(select(Staff.id).join(Office, Office.id == Staff.office_id).join(
                StaffRole, StaffRole.staff_id == Staff.id).where(Office.joint_group_id == c.joint_group_id,
                                                                 StaffRole.role == Role.lead.value))).all()
            return await clear(sorted(set(ids)))
        if who == "group_lead":
            return await clear(await supervisors(session))
        # "lead": the subgroup's lead, who was placed there free of conflict; never the member
        # whose own 签收 is late (the escalation then goes a level up).
        leads = (await session.scalars(select(SubgroupMember.staff_id).where(
            SubgroupMember.subgroup_id == sg.id, SubgroupMember.role == MemberRole.lead.value))).all()
        return [sid for sid in leads if member is None or sid != member.staff_id]

    return recipients


async def task_target(session: AsyncSession, d: Deadline) -> Target | None:
    task = await session.scalar(select(CampaignTask).where(CampaignTask.deadline_id == d.id))
    target = await session.get(CampaignTarget, task.target_id) if task else None
    sg = await session.get(Subgroup, task.subgroup_id) if task else None
    c = await session.get(Campaign, sg.campaign_id) if sg else None
    if task is None or target is None or sg is None or c is None:
        return None
    ref, n, place, kind = c.reference, sg.number, target.name, task.kind
    places = {lang: (await target_names(session, [target], lang))[target.id] for lang in SUPPORTED_LANGUAGES}

    def words(_: Gettext, what: str, when: str, overdue: bool) -> Reply:
        task_words, place = _(TASK_WORDS.get(kind, kind)), places[lang_of(_)]
        if overdue:
            return Reply(text=_("Overdue (督办): campaign {ref}, subgroup {n}, {target}: the task \"{task}\" was due "
                                "{when}. Open it with /campaign {ref}.").format(
                ref=ref, n=n, target=place, task=task_words, when=when))
        return Reply(text=_("Reminder: campaign {ref}, subgroup {n}, {target}: finish the task \"{task}\" by "
                            "{when}.").format(ref=ref, n=n, target=place, task=task_words, when=when))

    return Target(f"{ref} #{n} {place} · {kind}", None, _recipients(session, c, sg, [target]), words)


async def member_target(session: AsyncSession, d: Deadline) -> Target | None:
    """A member's 签收 of the campaign notice: reminded with the one-tap button, escalated to the
    subgroup's lead (then up) with the member named."""
    m = await session.scalar(select(SubgroupMember).where(SubgroupMember.deadline_id == d.id))
    sg = await session.get(Subgroup, m.subgroup_id) if m else None
    c = await session.get(Campaign, sg.campaign_id) if sg else None
    staff = await session.get(Staff, m.staff_id) if m else None
    if m is None or sg is None or c is None or staff is None:
        return None
    targets = (await session.scalars(select(CampaignTarget).where(CampaignTarget.subgroup_id == sg.id)
                                     .order_by(CampaignTarget.id))).all()
    ref, n, mid, name = c.reference, sg.number, m.id, staff.name

    def words(_: Gettext, what: str, when: str, overdue: bool) -> Reply:
        if overdue:
            return Reply(text=_("Overdue (督办): {name} has not acknowledged (签收) campaign {ref}, subgroup {n}; it "
                                "was due {when}. Open it with /campaign {ref}.").format(
                name=name, ref=ref, n=n, when=when))
        return Reply(text=_("Reminder: campaign {ref}, subgroup {n}: please acknowledge your place (签收) by "
                            "{when}.").format(ref=ref, n=n, when=when),
                     buttons=[[Button(label=_("✔ Acknowledge (签收)"), data=f"a:cack:{mid}")]])

    return Target(f"{ref} #{n} · {name}", None, _recipients(session, c, sg, targets, m), words)
