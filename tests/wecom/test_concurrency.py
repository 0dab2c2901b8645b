"""The WeCom callback answers at once and works afterwards: one person's messages are still
answered in the order they were sent, while other people's are worked on at the same time."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest

from handlers.deps import Deps
from handlers.dispatcher import Dispatcher
from handlers.events import InboundEvent, Reply
from handlers.i18n import gettext_for
from tests.wecom.conftest import WeCom, make_wecom


@pytest.fixture
async def jittery(deps: Deps, dispatcher: Dispatcher) -> AsyncIterator[tuple[WeCom, list[str]]]:
    """WeCom whose handling takes a random number of event-loop turns (no real time), and the
    order in which the dispatcher started on each person's messages."""
    rnd = random.Random(7)
    started: list[str] = []

    async def handle(event: InboundEvent, **options: Any) -> list[Reply]:
        started.append(event.sender.external_id)
        for _n in range(rnd.randint(0, 60)):
            await asyncio.sleep(0)
        return await dispatcher.handle(event, **options)

    async for w in make_wecom(deps, dispatcher, handle=handle):
        yield w, started


async def test_each_persons_messages_are_answered_in_order(jittery: tuple[WeCom, list[str]]) -> None:
    wecom, started = jittery
    _ = gettext_for("zh_CN")
    unknown = _("I don't know the command /{name}. Nothing was changed. Send /help to see what you can do.")
    people, per_person = ["li", "wang", "zhao"], 5
    rnd = random.Random(3)
    queue = [p for p in people for _n in range(per_person)]
    rnd.shuffle(queue)
    sent = dict.fromkeys(people, 0)
    for person in queue:  # one after another, as WeCom calls back; each answered at once
        status, _body, _t = await wecom.sim.post(wecom.http, wecom.sim.text_xml(person, f"/m{sent[person]}"))
        assert status == 200
        sent[person] += 1
    await wecom.callback.drain()
    for person in people:
        firsts = [t.split("\n")[0] for t in wecom.api.texts_to(person)]
        assert firsts == [unknown.format(name=f"m{i}").split("\n")[0] for i in range(per_person)], person
    assert len(started) == len(queue)
