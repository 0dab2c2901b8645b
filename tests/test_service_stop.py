"""Stopping a service returns even when its loop swallowed a cancellation (Python 3.11's
``asyncio.wait_for`` does that when the cancel lands as its inner await completes: a stop that
never returned once hung the whole test suite)."""

from __future__ import annotations

import asyncio

from bot.tasks import cancel_quietly


async def test_a_loop_that_eats_one_cancel_is_still_stopped() -> None:
    rounds = 0

    async def stubborn() -> None:
        nonlocal rounds
        while True:
            rounds += 1
            try:
                await asyncio.sleep(0.01)
            except asyncio.CancelledError:
                if rounds < 3:
                    continue  # what a swallowed cancellation looks like from outside
                raise

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0.05)
    await asyncio.wait_for(cancel_quietly(task), 10)
    assert task.done() and task.cancelled()


async def test_a_loop_that_ends_with_an_error_is_stopped_quietly() -> None:
    async def failing() -> None:
        raise RuntimeError("already logged by the loop")

    task = asyncio.create_task(failing())
    await asyncio.sleep(0)
    await cancel_quietly(task)
    assert task.done()
