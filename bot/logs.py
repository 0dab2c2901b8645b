"""Logging. Log lines carry references and counts; never what a person typed, never who
an anonymous reporter is."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

import structlog

# Libraries that log SQL parameters, raw updates (which hold chat ids) or file contents at DEBUG/INFO. They
# stay at WARNING whatever LIANZU_LOG_LEVEL says: confidentiality is not traded for debugging.
IDENTITY_LEAKING_LOGGERS = (
    "aiosqlite",
    "asyncpg",
    "sqlalchemy.engine",
    "sqlalchemy.pool",
    "aiogram",  # the parent: covers aiogram.event, .dispatcher, .middlewares, .webhook, .scene
    "aiogram.event",
    "aiogram.dispatcher",
    "aiohttp.access",
    "aiohttp.server",
    "urllib3.connectionpool",
    "wechatpy",
    # File libraries print what they parse (Pillow: EXIF tags and PNG chunks at DEBUG).
    "PIL",
    "pypdf",
)
NOISY = ("alembic.runtime.migration", "apscheduler")


def quiet_libraries() -> None:
    for name in IDENTITY_LEAKING_LOGGERS + NOISY:
        logging.getLogger(name).setLevel(logging.WARNING)


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(level=getattr(logging, level.upper(), logging.INFO), format="%(message)s")
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.dev.ConsoleRenderer(colors=False),
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    quiet_libraries()


@contextmanager
def logs_held_back(*streams: object, limit: int = 1000) -> Iterator[None]:
    """While a terminal chat runs, log lines that would be written to its streams wait and
    are written after it ends, so they never land in the middle of a conversation (the last
    ``limit`` of them; a count says how many more there were)."""
    root = logging.getLogger()
    held = [h for h in root.handlers
            if type(h) is logging.StreamHandler and any(h.stream is s for s in streams)]
    if not held:
        yield
        return
    waiting: deque[logging.LogRecord] = deque(maxlen=limit)
    seen = 0

    class Hold(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            nonlocal seen
            seen += 1
            waiting.append(record)

    hold = Hold(level=min(h.level for h in held))
    for h in held:
        root.removeHandler(h)
    root.addHandler(hold)
    try:
        yield
    finally:
        root.removeHandler(hold)
        for h in held:
            root.addHandler(h)
        if seen > len(waiting):
            root.warning("%d earlier log lines of the console session were dropped", seen - len(waiting))
        for record in waiting:
            for h in held:
                if record.levelno >= h.level:
                    h.handle(record)
