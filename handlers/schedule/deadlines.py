"""Deadlines from the policy table, kept in step with the case lifecycle.

A transition or an assignment creates the deadlines whose trigger it is; reaching the state a
deadline asks for meets it; forwarding or concluding cancels what no longer applies.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.config import Config
from handlers.events import Reply
from handlers.i18n import gettext_for
from handlers.lifecycle import listen
from handlers.policy import load_policy
from handlers.workdays import add_working_days
from storage.crypto import Sealer
from storage.models import Assignment, AssignmentMember, Case, CaseTransition, Deadline, Outbox, Tip

# Which states meet a deadline of each kind.
MEETS = {
    "accept": {"accepted", "forwarded"},
    "dispose": {"disposed", "filed", "concluded"},
    "feedback_acceptance": {"accepted_notified"},
    "feedback_result": {"feedback_given"},
}
# States after which a kind no longer applies.
CANCELS = {"forwarded": {"dispose", "acknowledge", "feedback_result"},
           "concluded": {"acknowledge", "dispose", "accept"}}


def _config(session: AsyncSession) -> Config:
    return session.info.get("config") or Config()


async def _named(session: AsyncSession, case: Case) -> bool:
    if case.tip_id is None:
        return False
    tip = await session.get(Tip, case.tip_id)
    return tip is not None and not tip.anonymous


async def create(session: AsyncSession, case: Case, trigger: str, start: datetime, *, member_id: int | None = None) -> list[Deadline]:
    cfg = _config(session)
    policy = load_policy(cfg.policy_file)
    out = []
    for kind, rule in policy.for_trigger(trigger, case.source, await _named(session, case)):
        due = add_working_days(start, rule.working_days, cfg.tz)
        d = Deadline(case_id=case.id, member_id=member_id, kind=kind, due_at=due, created_at=start)
        session.add(d)
        out.append(d)
    await session.flush()
    return out


async def meet(session: AsyncSession, case_id: int, kinds: set[str], now: datetime, *, member_id: int | None = None) -> None:
    q = select(Deadline).where(Deadline.case_id == case_id, Deadline.kind.in_(kinds), Deadline.met_at.is_(None),
                               Deadline.cancelled_at.is_(None))
    if member_id is not None:
        q = q.where(Deadline.member_id == member_id)
    for d in (await session.scalars(q)).all():
        d.met_at = now


@listen("case.transition")
async def on_transition(session: AsyncSession, case: Case, transition: CaseTransition) -> None:
    now, to = transition.at, transition.to_state
    await meet(session, case.id, {k for k, states in MEETS.items() if to in states}, now)
    if to in CANCELS:
        for d in (await session.scalars(select(Deadline).where(
                Deadline.case_id == case.id, Deadline.kind.in_(CANCELS[to]), Deadline.met_at.is_(None),
                Deadline.cancelled_at.is_(None)))).all():
            d.cancelled_at = now
    if to == "assigned":  # a new team replaces the old one's acknowledgement deadlines
        for d in (await session.scalars(select(Deadline).where(
                Deadline.case_id == case.id, Deadline.kind == "acknowledge", Deadline.met_at.is_(None),
                Deadline.cancelled_at.is_(None)))).all():
            d.cancelled_at = now
    await create(session, case, f"case:{to}", now)
    if to == "accepted":
        await _tell_named_reporter_of_acceptance(session, case, now)


@listen("assignment.confirmed")
async def on_assignment(session: AsyncSession, case: Case, assignment: Assignment) -> None:
    for m in assignment.members:
        await create(session, case, "assignment:confirmed", assignment.confirmed_at or assignment.created_at, member_id=m.id)


@listen("member.acknowledged")
async def on_acknowledged(session: AsyncSession, case: Case, member: AssignmentMember) -> None:
    await meet(session, case.id, {"acknowledge"}, member.acknowledged_at, member_id=member.id)  # type: ignore[arg-type]


async def _tell_named_reporter_of_acceptance(session: AsyncSession, case: Case, now: datetime) -> None:
    """受理告知: a named reporter who left a chat address is told at once, which meets the deadline."""
    tip = await session.get(Tip, case.tip_id) if case.tip_id else None
    if tip is None or tip.anonymous or tip.reporter_chat_enc is None:
        return
    sealer: Sealer | None = session.info.get("sealer")
    if sealer is None:
        return
    channel, _sep, external_id = sealer.open_text(tip.key_id, tip.reporter_chat_enc).partition("\x1f")
    _ = gettext_for(tip.language)
    reply = Reply(text=_("Your report has been accepted and will be handled. You can follow it with /check and your receipt."))
    k, blob = sealer.seal_text(external_id)
    session.add(Outbox(channel=channel, identity_id=None, address_enc=blob, key_id=k, kind="reporter_accepted",
                       payload=reply.model_dump(mode="json"), dedupe_key=f"accepted:{case.id}",
                       next_attempt_at=now, created_at=now))
    await meet(session, case.id, {"feedback_acceptance"}, now)
