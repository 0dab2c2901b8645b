"""A year without holiday data: the administrators hear of it in the digest, a reporter never
does, and nothing is logged in the middle of a conversation."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from handlers.deps import Deps
from handlers.schedule.digest import send_digests
from tests.cases.conftest import outbox_to
from tests.conftest import bind_staff
from tests.reporter.conftest import file_anonymous_tip


async def test_the_admins_digest_warns_of_a_year_without_holidays_and_the_reporter_sees_nothing(
        chat, deps: Deps, clock, caplog) -> None:
    await bind_staff(deps, "admin", "staff-admin")
    await bind_staff(deps, "sup1", "staff-sup1")
    clock.set(datetime(2030, 11, 20, 1, 0, tzinfo=UTC))  # the next 60 days reach into 2031
    caplog.set_level(logging.INFO, logger="lianzu")
    c = chat()
    await file_anonymous_tip(c)
    assert "节假日" not in c.text() and "2031" not in c.text()
    assert not [r for r in caplog.records if "2031" in r.getMessage() or "holiday" in r.getMessage().lower()]
    async with deps.begin() as uow:
        await send_digests(uow)
    warning = (await outbox_to(deps, "admin"))[-1].payload["text"]
    assert "2030、2031" in warning and "[holidays.YEAR]" in warning
    assert "2031" not in str((await outbox_to(deps, "sup1"))[-1].payload["text"])  # for administrators
    clock.set(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))  # covered by the library: nothing to say
    async with deps.begin() as uow:
        await send_digests(uow)
    assert "[holidays.YEAR]" not in (await outbox_to(deps, "admin"))[-1].payload["text"]
