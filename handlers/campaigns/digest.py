"""The running campaigns' lines in the daily digest: counts only, of the targets the reader may see."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.campaigns.access import visible_targets
from handlers.i18n import Gettext
from storage.models import Campaign, CampaignState, CampaignTask, Deadline, Staff


async def digest_lines(session: AsyncSession, staff: Staff, now: datetime, _: Gettext) -> list[str]:
    lines = []
    for c in (await session.scalars(select(Campaign).where(Campaign.state == CampaignState.running.value)
                                    .order_by(Campaign.id))).all():
        ids = [t.id for t in await visible_targets(session, staff, c)]
        if not ids:
            continue
        rows = (await session.execute(select(CampaignTask.done_at, Deadline.due_at).outerjoin(
            Deadline, Deadline.id == CampaignTask.deadline_id).where(CampaignTask.target_id.in_(ids)))).tuples().all()
        done = sum(1 for d, _due in rows if d is not None)
        overdue = sum(1 for d, due in rows if d is None and due is not None and due <= now)
        lines.append(_("Campaign {ref}: {done} of {n} tasks done, {overdue} overdue").format(
            ref=c.reference, done=done, n=len(rows), overdue=overdue))
    return lines
