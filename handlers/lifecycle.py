"""The case lifecycle: which transitions are legal, recording them, and telling listeners.

Every state change goes through :func:`record_transition`, which records who, when and why
and then emits ``case.transition`` on the unit of work's bus, so other features (deadlines,
notices) react in the same transaction.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import update

from handlers.uow import UnitOfWork
from storage.models import Case, CaseSource, CaseState, CaseTransition

S = CaseState
# From each state, where a case may go next (DESIGN.md §1).
ALLOWED: dict[str | None, tuple[CaseState, ...]] = {
    None: (S.received,),
    S.received.value: (S.accepted, S.forwarded),
    S.accepted.value: (S.assigned, S.forwarded),
    S.forwarded.value: (),
    S.assigned.value: (S.acknowledged, S.assigned),  # re-assignment replaces the team
    S.acknowledged.value: (S.disposed, S.assigned),
    S.disposed.value: (S.filed, S.concluded),
    S.filed.value: (S.concluded,),
    S.concluded.value: (S.feedback_given,),
    S.feedback_given.value: (),
}

class IllegalTransition(ValueError):
    def __init__(self, from_state: str | None, to_state: str) -> None:
        self.from_state, self.to_state = from_state, to_state
        self.allowed = [s.value for s in ALLOWED.get(from_state, ())]
        super().__init__(f"{from_state} → {to_state} not allowed; allowed: {', '.join(self.allowed) or 'none'}")


async def open_case(
    uow: UnitOfWork,
    *,
    source: CaseSource,
    now: datetime,
    unit_id: int | None = None,
    region_id: int | None = None,
    tip_id: int | None = None,
    actor_staff_id: int | None = None,
    reason: str = "",
) -> Case:
    """Create a case in state ``received`` with a readable reference (LZ2026-00042)."""
    case = Case(
        reference=f"tmp-{uuid.uuid4().hex[:20]}",
        source=source.value,
        state=S.received.value,
        tip_id=tip_id,
        unit_id=unit_id,
        region_id=region_id,
        created_by_staff_id=actor_staff_id,
        created_at=now,
        updated_at=now,
    )
    session = uow.session
    session.add(case)
    await session.flush()
    case.reference = f"LZ{now.year}-{case.id:05d}"
    transition = CaseTransition(case_id=case.id, from_state=None, to_state=S.received.value,
                                actor_staff_id=actor_staff_id, reason=reason, at=now)
    session.add(transition)
    await session.flush()
    await uow.emit("case.transition", case=case, transition=transition)
    return case


async def record_transition(
    uow: UnitOfWork,
    case: Case,
    to_state: CaseState,
    *,
    now: datetime,
    actor_staff_id: int | None,
    reason: str = "",
) -> CaseTransition:
    if to_state not in ALLOWED.get(case.state, ()):
        raise IllegalTransition(case.state, to_state.value)
    # Taken only from the state this update read: another update (another chat, another
    # instance) that moved the case meanwhile wins, and this one is refused as an illegal step
    # from where the case now is. The UPDATE waits for that update's commit (a row lock on
    # PostgreSQL, the one writer on SQLite) and then finds the state changed.
    moved = await uow.session.execute(
        update(Case).where(Case.id == case.id, Case.state == case.state).values(state=to_state.value)
        .execution_options(synchronize_session=False))
    if moved.rowcount == 0:  # type: ignore[attr-defined]
        await uow.session.refresh(case)
        raise IllegalTransition(case.state, to_state.value)
    transition = CaseTransition(case_id=case.id, from_state=case.state, to_state=to_state.value,
                                actor_staff_id=actor_staff_id, reason=reason, at=now)
    case.state = to_state.value
    case.updated_at = now
    if to_state is S.accepted:
        case.accepted_at = now
    if to_state is S.concluded:
        case.concluded_at = now
    if to_state is S.filed:
        case.filed = True
    uow.session.add(transition)
    await uow.session.flush()
    await uow.emit("case.transition", case=case, transition=transition)
    return transition
