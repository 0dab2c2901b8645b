"""签收 wherever the member is: what a member still owes on a case, and how /my and /case offer it.

The button is the same ``a:ack:<member id>`` action the assignment notice carries, so a 签收 from
/my, /case or the notice is one and the same step."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.context import Context
from handlers.events import Button
from handlers.i18n import N_
from storage.models import Assignment, AssignmentMember, Case, Deadline, MemberRole, Staff

ACK_LABEL = N_("✔ Acknowledge (签收)")


async def own_member(session: AsyncSession, staff: Staff, case: Case) -> AssignmentMember | None:
    """The speaker's place on the case's confirmed team, if any."""
    m: AssignmentMember | None = await session.scalar(
        select(AssignmentMember).join(Assignment, Assignment.id == AssignmentMember.assignment_id)
        .where(Assignment.case_id == case.id, Assignment.status == "confirmed", AssignmentMember.staff_id == staff.id))
    return m


async def owed_until(session: AsyncSession, member: AssignmentMember) -> datetime | None:
    """The due date of the member's open 签收 deadline; None when nothing is owed."""
    if member.acknowledged_at is not None or member.role == MemberRole.liaison.value:
        return None
    due: datetime | None = await session.scalar(select(Deadline.due_at).where(
        Deadline.member_id == member.id, Deadline.met_at.is_(None), Deadline.cancelled_at.is_(None))
        .order_by(Deadline.due_at).limit(1))
    return due


async def case_deadline(session: AsyncSession, case: Case) -> datetime | None:
    """The case's own next deadline, without anyone's 签收 (which /my shows per person)."""
    due: datetime | None = await session.scalar(select(Deadline.due_at).where(
        Deadline.case_id == case.id, Deadline.subject == "case", Deadline.met_at.is_(None),
        Deadline.cancelled_at.is_(None)).order_by(Deadline.due_at).limit(1))
    return due


def ack_button(ctx: Context, member: AssignmentMember) -> Button:
    return ctx.action(ctx._(ACK_LABEL), "ack", str(member.id))


async def offer(ctx: Context, case: Case) -> list[list[Button]]:
    """The 签收 button for the speaker on /case, when they still owe it."""
    staff = ctx.actor.staff
    member = await own_member(ctx.session, staff, case) if staff else None
    if member is None or await owed_until(ctx.session, member) is None:
        return []
    return [[ack_button(ctx, member)]]
