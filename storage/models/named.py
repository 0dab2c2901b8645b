"""Who is named in a case's report (被反映人): the people text of the case's tip matched against
staff names once, when the case is opened and again whenever staff are added or renamed, so that
the access policy, the figures and every notice read one small table instead of decrypting tips.

``case_named_staff`` holds (case, staff member) for each staff member whose name occurs in the
tip's people text. ``case_named_pending`` holds the cases whose matches must be worked out again
(an organisation import added or renamed someone, or the database predates the table): whoever
checks access next does it, with the keys (:func:`settle`).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable

from sqlalchemy import Exists, ForeignKey, delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, SessionTransaction, mapped_column

from storage.base import Base
from storage.crypto import Sealer
from storage.db import insert_for
from storage.models.cases import Case
from storage.models.org import Staff
from storage.models.tips import Tip


class CaseNamedStaff(Base):
    __tablename__ = "case_named_staff"
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True, index=True)


class CaseNamedPending(Base):
    __tablename__ = "case_named_pending"
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)


class Matcher:
    """The matcher: a staff member is named when their whole name occurs in the people text.
    Every staff member is checked at once: each substring of the text of a name's length is
    looked up, so a text costs (its length × the distinct name lengths) look-ups,
    whatever the number of staff."""

    def __init__(self, staff: Iterable[tuple[int, str | None]]) -> None:
        self.by_name: dict[str, list[int]] = {}
        for sid, name in staff:
            if name:
                self.by_name.setdefault(name, []).append(sid)
        self.lengths = sorted({len(n) for n in self.by_name})

    def named(self, people: str | None) -> set[int]:
        out: set[int] = set()
        if not people:
            return out
        for n in self.lengths:
            for i in range(len(people) - n + 1):
                out.update(self.by_name.get(people[i:i + n], ()))
        return out


# Transactions whose pending cases are already matched: settled once per transaction. The sync
# session's transaction object lives exactly as long as the transaction (the async proxy may not).
_SETTLED: weakref.WeakSet[SessionTransaction] = weakref.WeakSet()


async def match_cases(session: AsyncSession, sealer: Sealer, case_ids: list[int]) -> None:
    """Work out again who is named in each of these cases, and take them off the pending list."""
    if not case_ids:
        return
    matcher = Matcher((await session.execute(select(Staff.id, Staff.name))).tuples())
    rows = []
    for cid, key_id, blob in (await session.execute(
            select(Case.id, Tip.key_id, Tip.people_enc).join(Tip, Tip.id == Case.tip_id)
            .where(Case.id.in_(case_ids), Tip.people_enc.is_not(None)))).tuples():
        people = sealer.open_text(key_id, blob) if blob is not None else None
        rows += [dict(case_id=cid, staff_id=sid) for sid in sorted(matcher.named(people))]
    await session.execute(delete(CaseNamedStaff).where(CaseNamedStaff.case_id.in_(case_ids)))
    if rows:
        # Another instance may be settling the same cases at the same moment (PostgreSQL).
        await session.execute(insert_for(session, CaseNamedStaff).values(rows).on_conflict_do_nothing())
    await session.execute(delete(CaseNamedPending).where(CaseNamedPending.case_id.in_(case_ids)))


def any_pending() -> Exists:
    """Whether any case waits to be matched: a column a caller's own statement can carry (the
    database evaluates it once), so that :func:`settle` need not look in a round trip of its own."""
    return exists().where(CaseNamedPending.case_id.is_not(None))


async def settle(session: AsyncSession, sealer: Sealer, *, pending: bool | None = None) -> None:
    """Match the pending cases, if any: once per transaction, one indexed look-up when none are.
    ``pending`` is :func:`any_pending` as a statement of this transaction just read it: when it
    is false, there is nothing to look for."""
    txn = session.sync_session.get_transaction()
    if txn is not None and txn in _SETTLED:
        return
    if pending is False and txn is not None:
        _SETTLED.add(txn)
        return
    ids = list((await session.scalars(select(CaseNamedPending.case_id).order_by(CaseNamedPending.case_id))).all())
    await match_cases(session, sealer, ids)
    if (txn := session.sync_session.get_transaction()) is not None:
        _SETTLED.add(txn)


async def rematch_all(session: AsyncSession) -> None:
    """Staff were added or renamed: every case whose tip names somebody is matched again (by the
    next access check, which holds the keys). Closed cases too: /case hides them as well."""
    await session.execute(insert_for(session, CaseNamedPending).from_select(
        ["case_id"], select(Case.id).join(Tip, Tip.id == Case.tip_id).where(
            Tip.people_enc.is_not(None),
            ~exists().where(CaseNamedPending.case_id == Case.id))).on_conflict_do_nothing())
    if (txn := session.sync_session.get_transaction()) is not None:
        _SETTLED.discard(txn)
