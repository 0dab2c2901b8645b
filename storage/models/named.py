"""Who is named in a case's report (被反映人): the people text of the case's tip matched against
staff names once, when the case is opened and again whenever staff are added or renamed, so that
the access policy, the figures and every notice read one small table instead of decrypting tips.

``case_named_staff`` holds (case, staff member) for each staff member whose name occurs in the
tip's people text. ``case_named_pending`` holds the cases whose matches must be worked out again
(an organisation import added or renamed someone, or the database predates the table): whoever
checks access next does it, with the keys (:func:`settle`).

Declared person conflicts are matched the same way. ``case_person_conflicts`` holds (case,
declaration, staff member) for each declaration whose person's name occurs in the case's people
text, whatever the declaration's status: whether it counts (pending or confirmed, not refused) is
read from the declaration itself, so confirming or refusing one needs no matching, and a withdrawn
one takes its rows with it (cascade). A declaration is matched against every case once, by the
first access check after it is made (``person_conflicts_matched`` records that it was); a case
is matched against every declaration when it is opened or pending.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, ForeignKey, delete, event, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, Session, SessionTransaction, mapped_column

from storage.base import Base
from storage.crypto import Sealer
from storage.db import insert_for
from storage.models.cases import Case
from storage.models.org import ConflictDeclaration, Staff
from storage.models.tips import Tip


class CaseNamedStaff(Base):
    __tablename__ = "case_named_staff"
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True, index=True)


class CaseNamedPending(Base):
    __tablename__ = "case_named_pending"
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)


class CasePersonConflict(Base):
    __tablename__ = "case_person_conflicts"
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    declaration_id: Mapped[int] = mapped_column(ForeignKey("conflict_declarations.id", ondelete="CASCADE"),
                                                primary_key=True, index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)


class PersonConflictMatched(Base):
    __tablename__ = "person_conflicts_matched"
    declaration_id: Mapped[int] = mapped_column(ForeignKey("conflict_declarations.id", ondelete="CASCADE"),
                                                primary_key=True)


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


def _person_rows(matcher: Matcher, cases: list[tuple[int, str | None]], staff_of: dict[int, int]) -> list[dict[str, int]]:
    """(case, declaration, staff member) for each declared person named in each case."""
    return [dict(case_id=cid, declaration_id=did, staff_id=staff_of[did])
            for cid, people in cases for did in sorted(matcher.named(people))]


async def _declarations(session: AsyncSession, ids: list[int] | None = None) -> list[tuple[int, int, str | None]]:
    """Person declarations (id, staff member, name), all or these."""
    q = select(ConflictDeclaration.id, ConflictDeclaration.staff_id, ConflictDeclaration.person_name).where(
        ConflictDeclaration.person_name.is_not(None))
    if ids is not None:
        q = q.where(ConflictDeclaration.id.in_(ids))
    return list((await session.execute(q)).tuples())


async def _people(session: AsyncSession, sealer: Sealer, case_ids: list[int] | None) -> list[tuple[int, str | None]]:
    """The opened people text of these cases (every case whose tip names somebody: ``None``)."""
    q = select(Case.id, Tip.key_id, Tip.people_enc).join(Tip, Tip.id == Case.tip_id).where(Tip.people_enc.is_not(None))
    if case_ids is not None:
        q = q.where(Case.id.in_(case_ids))
    return [(cid, sealer.open_text(key_id, blob) if blob is not None else None)
            for cid, key_id, blob in (await session.execute(q)).tuples()]


async def match_cases(session: AsyncSession, sealer: Sealer, case_ids: list[int]) -> None:
    """Work out again who is named in each of these cases and whose declared person conflicts
    they touch, and take them off the pending list."""
    if not case_ids:
        return
    matcher = Matcher((await session.execute(select(Staff.id, Staff.name))).tuples())
    decls = await _declarations(session)
    people = await _people(session, sealer, case_ids)
    rows = [dict(case_id=cid, staff_id=sid) for cid, text in people for sid in sorted(matcher.named(text))]
    await session.execute(delete(CaseNamedStaff).where(CaseNamedStaff.case_id.in_(case_ids)))
    if rows:
        # Another instance may be settling the same cases at the same moment (PostgreSQL).
        await session.execute(insert_for(session, CaseNamedStaff).values(rows).on_conflict_do_nothing())
    await session.execute(delete(CasePersonConflict).where(CasePersonConflict.case_id.in_(case_ids)))
    person_rows = _person_rows(Matcher((d, n) for d, _s, n in decls), people, {d: sid for d, sid, _n in decls})
    if person_rows:
        await session.execute(insert_for(session, CasePersonConflict).values(person_rows).on_conflict_do_nothing())
    await session.execute(delete(CaseNamedPending).where(CaseNamedPending.case_id.in_(case_ids)))


async def match_declarations(session: AsyncSession, sealer: Sealer) -> None:
    """Person declarations made since the last check, matched once against every case."""
    new = list((await session.scalars(select(ConflictDeclaration.id).where(
        ConflictDeclaration.person_name.is_not(None),
        ~exists().where(PersonConflictMatched.declaration_id == ConflictDeclaration.id)))).all())
    if not new:
        return
    decls = await _declarations(session, new)
    rows = _person_rows(Matcher((d, n) for d, _s, n in decls), await _people(session, sealer, None),
                        {d: sid for d, sid, _n in decls})
    if rows:
        await session.execute(insert_for(session, CasePersonConflict).values(rows).on_conflict_do_nothing())
    await session.execute(insert_for(session, PersonConflictMatched).values(
        [dict(declaration_id=d) for d in new]).on_conflict_do_nothing())


def any_pending() -> ColumnElement[bool]:
    """Whether anything waits to be matched (a case, or a person declaration not yet matched): a
    column a caller's own statement can carry (the database evaluates it once), so that
    :func:`settle` need not look in a round trip of its own."""
    return or_(exists().where(CaseNamedPending.case_id.is_not(None)),
               exists().where(ConflictDeclaration.person_name.is_not(None),
                              ~exists().where(PersonConflictMatched.declaration_id == ConflictDeclaration.id)))


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
    await match_declarations(session, sealer)
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


@event.listens_for(Session, "after_flush")
def _declared(session: Session, _context: Any) -> None:
    """A person conflict declared in this transaction is matched by the next check in it too,
    not only in the next transaction."""
    if any(isinstance(o, ConflictDeclaration) and o.person_name for o in session.new):
        if (txn := session.get_transaction()) is not None:
            _SETTLED.discard(txn)
