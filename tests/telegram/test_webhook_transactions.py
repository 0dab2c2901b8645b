"""A webhook update's stored row ends in the transaction of its work: stored (one write), worked
and deleted together (a second), not deleted in a third write of its own."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, func, select

from handlers.dispatcher import Dispatcher
from storage.models import InboxItem
from tests.telegram.conftest import Running
from tests.telegram.standin import message


async def test_the_inbox_row_is_deleted_in_the_work_s_own_transaction(webhook: Running,
                                                                       dispatcher: Dispatcher) -> None:
    engine = dispatcher.deps.sessionmaker.kw["bind"].sync_engine
    transactions: dict[int, list[str]] = {}  # connection → statements of its open transaction
    finished: list[list[str]] = []

    def executed(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        transactions.setdefault(id(conn), []).append(statement.lstrip().split("\n")[0][:60].lower())

    def ended(conn: Any) -> None:
        finished.append(transactions.pop(id(conn), []))

    event.listen(engine, "before_cursor_execute", executed)
    event.listen(engine, "commit", ended)
    try:
        assert await webhook.deliver(message(7001, "/help")) == 200
    finally:
        event.remove(engine, "before_cursor_execute", executed)
        event.remove(engine, "commit", ended)

    assert webhook.standin.texts_to(7001), "the update was answered"
    work = [t for t in finished if any("inbound_seen" in s for s in t)]
    assert len(work) == 1
    assert any(s.startswith("delete from inbox") for s in work[0]), work[0]
    assert not [t for t in finished if t and all(s.startswith("delete from inbox") for s in t)], \
        "no transaction of its own for the delete"
    async with dispatcher.deps.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(InboxItem)) == 0
