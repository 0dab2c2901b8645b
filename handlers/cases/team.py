"""回避 from inside a case: a team member says "我需要回避" with a reason. They leave the team at
once (the membership stays as history), their open 签收 deadline is cancelled, the conflict is
recorded on the case so they see nothing more of it, and the lead is told and asked for a
replacement (or, when the lead steps aside, the group's leads or the supervisors are)."""

from __future__ import annotations

import enum

from sqlalchemy import select

from handlers.access import Action
from handlers.cases import conflicts, routing, service
from handlers.cases.replies import INPUT_TTL, act_on_case, not_found
from handlers.context import Context
from handlers.events import Button, Reply
from handlers.i18n import Gettext
from handlers.router import Conversation, Step
from handlers.uow import UnitOfWork
from storage.models import (
    Assignment,
    AssignmentMember,
    Case,
    Deadline,
    MemberRole,
    Staff,
)


async def current_member(uow: UnitOfWork, staff: Staff, case: Case) -> AssignmentMember | None:
    member: AssignmentMember | None = await uow.session.scalar(
        select(AssignmentMember).join(Assignment, Assignment.id == AssignmentMember.assignment_id)
        .where(Assignment.case_id == case.id, Assignment.status == "confirmed", AssignmentMember.staff_id == staff.id,
               AssignmentMember.left_at.is_(None)))
    return member


async def recuse(uow: UnitOfWork, staff: Staff, case: Case, reason: str) -> AssignmentMember:
    member = await current_member(uow, staff, case)
    if member is None:
        raise service.Denied()
    now = uow.now()
    member.left_at = now
    # The same declaration as /conflict: it counts at once, an administrator confirms or refuses it.
    await conflicts.declare(uow, staff, kind="self", reason=reason, case=case)
    for d in (await uow.session.scalars(select(Deadline).where(
            Deadline.member_id == member.id, Deadline.met_at.is_(None), Deadline.cancelled_at.is_(None)))).all():
        d.cancelled_at = now
    await uow.session.flush()
    await service.log(uow, staff, case, "recuse", now, member=member.id, reason=reason)
    lead = await uow.session.scalar(select(AssignmentMember.staff_id).where(
        AssignmentMember.assignment_id == member.assignment_id, AssignmentMember.role == MemberRole.lead.value,
        AssignmentMember.left_at.is_(None)))
    if lead is not None and lead != staff.id:
        told = [lead]
    else:
        from handlers.schedule.ticker import group_leads

        told = [s for s in await group_leads(uow.session, case) if s != staff.id]
    ref, cid, name = case.reference, case.id, staff.name

    def render(_: Gettext) -> Reply:
        return Reply(text=_("{name} stepped aside (回避) from case {ref} and has left the team. Please choose a "
                            "replacement.").format(name=name, ref=ref),
                     buttons=[[Button(label=_("Choose a replacement"), data=f"a:case:{cid}.replace")]])

    for sid in told:
        await uow.outbox.to_staff(sid, render, about=case, kind="recused", dedupe_key=f"recused:{member.id}:{sid}")
    # Once everyone still on the team has acknowledged, the case moves on without the leaver.
    return member


class RC(enum.Enum):
    reason = "reason"


class Recuse(Conversation):
    """我需要回避: the reason, then the person leaves the team."""

    name = "recuse"
    Steps = RC
    first = RC.reason
    begin_label = "I need to step aside (on /case)"
    notes = ("A team member steps aside from a case. /cancel ends it.",)

    async def start(self, ctx: Context, case: Case) -> None:
        await self.open(ctx, ttl=INPUT_TTL, data={"case_id": case.id})

    async def ask_reason(self, ctx: Context) -> None:
        ctx.reply(ctx._("Why do you need to step aside? (one sentence, recorded; the lead is told you left, not why)"))

    async def on_reason(self, ctx: Context) -> None:
        reason = (ctx.text or "").strip()

        async def act(staff: Staff, case: Case) -> None:
            await recuse(ctx.uow, staff, case, reason)
            ctx.reply(ctx._("You have left the team of case {ref} (回避). The lead has been asked for a replacement.")
                      .format(ref=case.reference))

        await act_on_case(ctx, reason, Action.acknowledge, act)

    steps = {RC.reason: Step(on_reason, ask_reason, ends="reason typed (left the team, lead told)")}


RECUSE = Recuse()


async def verb_recuse(ctx: Context, staff: Staff, case: Case) -> None:
    if await current_member(ctx.uow, staff, case) is None:
        not_found(ctx, "")
        return
    await RECUSE.start(ctx, case)


async def verb_replace(ctx: Context, staff: Staff, case: Case) -> None:
    """The team editor, starting from the current team without the people who left."""
    from handlers.cases.conversations import TEAM_EDITOR

    rows = (await ctx.session.scalars(select(AssignmentMember).join(Assignment, Assignment.id == AssignmentMember.assignment_id)
                                      .where(Assignment.case_id == case.id, Assignment.status == "confirmed",
                                             AssignmentMember.left_at.is_(None)))).all()
    lead = next((m.staff_id for m in rows if m.role == MemberRole.lead.value), None)
    p = routing.Proposal(case.joint_group_id, lead_id=lead,
                         member_ids=[m.staff_id for m in rows if m.role == MemberRole.member.value])
    await TEAM_EDITOR.start(ctx, case, p)
    if any(m.role == MemberRole.liaison.value for m in rows):
        ctx.state.data["liaisons"] = [m.staff_id for m in rows if m.role == MemberRole.liaison.value]

