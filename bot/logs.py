"""Logging. Log lines carry references and counts; never what a person typed, never who
an anonymous reporter is."""

from __future__ import annotations

import logging

import structlog


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
    # Library chatter would otherwise interleave with the console chat.
    for noisy in ("aiosqlite", "sqlalchemy.engine", "alembic.runtime.migration", "apscheduler", "aiogram.event"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
