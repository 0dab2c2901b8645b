"""Small helpers for the background loops that services run."""

from __future__ import annotations

import asyncio


async def cancel_quietly(task: asyncio.Task[None] | None) -> None:
    """Cancel a service loop and wait for it; its own errors were already logged."""
    if task is None:
        return
    task.cancel()
    try:
        await task
    except (asyncio.CancelledError, Exception):
        pass
