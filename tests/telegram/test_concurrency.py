"""Chats at once, each in order: a chat whose answer is held up does not hold up another, and
one chat's messages are answered in the order they were sent, however the work interleaves."""

from __future__ import annotations

import asyncio
import random

from handlers.i18n import gettext_for
from tests.telegram.conftest import Running
from tests.telegram.standin import message


async def test_a_chat_held_up_does_not_hold_up_another(tg: Running) -> None:
    slow, other = tg.phone(7001), tg.phone(7002)
    tg.standin.hold[slow.uid] = asyncio.Event()
    held = asyncio.create_task(slow.send("/start"))
    await tg.standin.wait_for(lambda: bool(tg.standin.sent_to(slow.uid)))  # its answer is stuck on the way
    answered = asyncio.create_task(other.send("/start"))
    await tg.standin.wait_for(lambda: bool(tg.standin.shown_in(other.uid)))
    assert not tg.standin.shown_in(slow.uid) and not held.done()
    tg.standin.hold[slow.uid].set()
    await asyncio.wait_for(asyncio.gather(held, answered), 5)
    assert tg.standin.shown_in(slow.uid)[0] == tg.standin.shown_in(other.uid)[0]


async def test_one_chats_messages_are_answered_in_order_however_work_interleaves(polling: Running) -> None:
    standin = polling.standin
    _ = gettext_for("zh_CN")
    unknown = _("I don't know the command /{name}. Nothing was changed. Send /help to see what you can do.")
    overtaken = 0
    per_chat = 6
    for seed in range(4):
        rnd = random.Random(seed)
        standin.jitter = lambda rnd=rnd: rnd.randint(0, 40)  # type: ignore[misc]
        chats = [8000 + 10 * seed + i for i in range(4)]
        # A random interleaving of the chats' messages, each chat's own in sequence.
        queue = [c for c in chats for _n in range(per_chat)]
        rnd.shuffle(queue)
        sent = {c: 0 for c in chats}
        order: list[tuple[int, int]] = []
        for n, c in enumerate(queue):
            standin.push(message(c, f"/m{sent[c]}", message_id=1000 + n))
            order.append((c, sent[c]))
            sent[c] += 1
        await standin.wait_for(lambda chats=chats: all(len(standin.shown_in(c)) >= per_chat for c in chats), 20)
        for c in chats:
            answers = [t.split("\n")[0] for t in standin.shown_in(c)]
            assert answers == [unknown.format(name=f"m{i}").split("\n")[0] for i in range(per_chat)], (seed, c)
        # The chats really were worked on at once: across chats, answers left in another order.
        answered = [(int(call.params["chat_id"]), call.params["text"]) for call in standin.called("sendMessage")
                    if int(call.params["chat_id"]) in chats]
        firsts = [c for c, _t in answered]
        overtaken += firsts != [c for c, _i in order]
    assert overtaken, "every chat waited for the others: nothing was handled at once"
