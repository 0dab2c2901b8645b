"""``lianzu`` sub-commands, one module per area; each has ``register(subparsers)``."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from handlers.config import Config

MODULES = [
    "bot.commands.core",
    "bot.commands.keys",
    "bot.commands.staff",
    "bot.commands.report",
    "bot.commands.campaign",
]


async def cli_log(session: AsyncSession, settings: Config, action: str, **detail: object) -> None:
    """Audit a CLI action in the caller's transaction; the actor is the operating-system account."""
    import getpass
    from datetime import UTC, datetime

    from storage import audit

    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        user = "?"
    await audit.append(session, key=settings.audit_mac_key, at=datetime.now(UTC), action=f"cli:{action}",
                       actor_label=f"cli:{user}"[:64], detail=dict(detail))
