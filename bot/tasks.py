"""Small helpers for the background loops that services run."""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger("lianzu.tasks")
# How long one cancellation may take to land before it is repeated.
CANCEL_RETRY_SECONDS = 1.0


async def cancel_quietly(task: asyncio.Task[None] | None) -> None:
    """Cancel a service loop and wait for it; its own errors were already logged.

    A single ``cancel()`` is not enough on Python 3.11: ``asyncio.wait_for`` swallows a
    cancellation that arrives just as its inner await completes, and a ``while True`` loop then
    carries on for ever (a stop that never returned hung the test suite). So the cancellation
    is repeated until the task is done.
    """
    if task is None:
        return
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=CANCEL_RETRY_SECONDS)
        if not task.done():
            log.warning("task %s ignored a cancellation: cancelling it again", task.get_name())
    try:
        task.result()
    except (asyncio.CancelledError, Exception):
        pass
