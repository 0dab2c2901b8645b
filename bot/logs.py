"""Logging. Log lines carry references and counts; never what a person typed, never who
an anonymous reporter is."""

from __future__ import annotations

import logging

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
