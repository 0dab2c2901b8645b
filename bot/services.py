"""What ``lianzu run`` starts: every channel the settings turn on (bot.channels.registry), the
outbox delivery worker with each channel's limits, and the scheduler."""

from __future__ import annotations

from bot.app import App
from bot.channels.console import CHANNEL as CONSOLE
from bot.channels.console import ConsoleChannel
from bot.channels.registry import delivery_limits
from bot.delivery import DeliveryWorker
from bot.scheduler import Scheduler


async def start_services(app: App) -> ConsoleChannel | None:
    """Start every configured channel and service; returns the console channel if it is on."""
    for spec in app.channel_specs:
        if spec.enabled(app.settings):
            spec.start(app)
    deps, st = app.deps, app.settings
    app.services.append(DeliveryWorker(deps.sessionmaker, app.channels, deps.sealer, deps.clock, deps.config,
                                       limits=delivery_limits(st, app.channel_specs),
                                       max_attempts=st.delivery_max_attempts))
    app.services.append(Scheduler(deps))
    for service in app.services:
        await service.start()
    console = app.channels.get(CONSOLE)
    return console if isinstance(console, ConsoleChannel) else None
