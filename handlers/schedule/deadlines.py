"""Deadlines kept in step with the work, entirely from the deadline policy.

A signal (a case entering a state, a team confirmed, a member's 签收, a named reporter told of
acceptance) meets and cancels the open deadlines whose kinds say so, then creates the ones it
starts. Nothing here names a deadline kind: the policy file does.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from handlers.events import Reply
from handlers.i18n import Gettext
from handlers.uow import UnitOfWork
from storage.models import Assignment, AssignmentMember, Case, CaseTransition, Deadline, Tip


async def _named(uow: UnitOfWork, case: Case) -> bool:
    if case.tip_id is None:
        return False
    tip = await uow.session.get(Tip, case.tip_id)
    return tip is not None and not tip.anonymous


async def settle(uow: UnitOfWork, signal: str, now: datetime, *, case_id: int, member_id: int | None = None) -> None:
    """Meet and cancel the open deadlines of a case (or of one member in it) that ``signal`` ends."""
    met, cancelled = uow.policy.met_by(signal), uow.policy.cancelled_by(signal)
    if not met and not cancelled:
        return
    q = select(Deadline).where(Deadline.case_id == case_id, Deadline.kind.in_(met | cancelled),
                               Deadline.met_at.is_(None), Deadline.cancelled_at.is_(None))
    if member_id is not None:
        q = q.where(Deadline.member_id == member_id)
    for d in (await uow.session.scalars(q)).all():
        if d.kind in met:
            d.met_at = now
        else:
            d.cancelled_at = now


async def start_case_deadlines(uow: UnitOfWork, case: Case, signal: str, start: datetime) -> list[Deadline]:
    out = []
    for kind, rule in uow.policy.started_by(signal, source=case.source, named=await _named(uow, case)):
        if rule.subject != "case":
            continue
        d = Deadline(subject="case", case_id=case.id, kind=kind, due_at=uow.policy.due(kind, start), created_at=start)
        uow.session.add(d)
        out.append(d)
    await uow.session.flush()
    return out


async def on_transition(uow: UnitOfWork, case: Case, transition: CaseTransition) -> None:
    signal, now = f"case:{transition.to_state}", transition.at
    await settle(uow, signal, now, case_id=case.id)
    await start_case_deadlines(uow, case, signal, now)
    if transition.to_state == "accepted":
        await _tell_named_reporter_of_acceptance(uow, case, now)


async def on_assignment(uow: UnitOfWork, case: Case, assignment: Assignment) -> None:
    start = assignment.confirmed_at or assignment.created_at
    named = await _named(uow, case)
    for m in assignment.members:
        for kind, rule in uow.policy.started_by("assignment:confirmed", source=case.source, named=named,
                                                member_role=m.role):
            if rule.subject == "member":
                uow.session.add(Deadline(subject="member", case_id=case.id, member_id=m.id, kind=kind,
                                         due_at=uow.policy.due(kind, start), created_at=start))
    await uow.session.flush()


async def on_acknowledged(uow: UnitOfWork, case: Case, member: AssignmentMember) -> None:
    await settle(uow, "member:acknowledged", member.acknowledged_at or uow.now(), case_id=case.id,
                 member_id=member.id)


async def open_member_deadlines(uow: UnitOfWork, member_id: int) -> list[Deadline]:
    return list((await uow.session.scalars(select(Deadline).where(
        Deadline.member_id == member_id, Deadline.met_at.is_(None), Deadline.cancelled_at.is_(None))
        .order_by(Deadline.due_at))).all())


async def _tell_named_reporter_of_acceptance(uow: UnitOfWork, case: Case, now: datetime) -> None:
    """受理告知: a named reporter who left a chat address is told at once, which meets the deadline."""
    tip = await uow.session.get(Tip, case.tip_id) if case.tip_id else None
    if tip is None:
        return

    def render(_: Gettext) -> Reply:
        return Reply(text=_("Your report has been accepted and will be handled. You can follow it with /check and "
                            "your receipt."))

    if await uow.outbox.to_reporter(tip, render, kind="reporter_accepted", dedupe_key=f"accepted:{case.id}"):
        await settle(uow, "reporter:told_accepted", now, case_id=case.id)
