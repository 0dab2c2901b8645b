"""Updates from many chats handled at once: every one is answered (SQLite's single writer makes
them take turns, never fail with "database is locked"), and a platform's re-delivery racing
the original is answered once."""

from __future__ import annotations

import asyncio

from handlers.dispatcher import Dispatcher
from handlers.events import Reply
from handlers.i18n import gettext_for
from tests.fakes import make_event

SORRY = ("Sorry, something went wrong on our side. Nothing was changed and what you entered before is kept. "
         "Please send your last message again.")


async def test_many_chats_at_once_are_all_answered(dispatcher: Dispatcher) -> None:
    _ = gettext_for("zh_CN")

    async def walk(i: int) -> list[Reply]:
        replies: list[Reply] = []
        for n, text in enumerate(["/report", "交通警察", "/cancel"]):
            replies += await dispatcher.handle(make_event(text, channel="telegram", external_id=f"{i}",
                                                          dedupe_key=f"{i}:{n}"))
        return replies

    results = await asyncio.gather(*(walk(i) for i in range(30)))
    for replies in results:
        assert all(r.text != _(SORRY) for r in replies)
        assert replies[-1].text == _("Your report was cancelled and everything you entered has been deleted.")


async def test_a_redelivery_racing_the_original_is_answered_once(dispatcher: Dispatcher) -> None:
    results = await asyncio.gather(*(
        dispatcher.handle(make_event("/start", channel="telegram", external_id="42", dedupe_key="update-1"))
        for _n in range(6)))
    assert sum(1 for replies in results if replies) == 1
