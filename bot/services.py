"""Which channels and background services ``lianzu run`` starts, from the settings."""

from __future__ import annotations

from bot.app import App
from bot.channels.console import ConsoleChannel
from bot.delivery import DeliveryWorker
from bot.scheduler import Scheduler


async def start_services(app: App) -> ConsoleChannel | None:
    """Start every configured service; returns the console channel if it is on."""
    console = None
    if app.settings.console_enabled:
        console = ConsoleChannel(app.dispatcher)
        app.channels["console"] = console
    deps = app.deps
    app.services.append(DeliveryWorker(deps.sessionmaker, app.channels, deps.sealer, deps.clock, deps.config))
    app.services.append(Scheduler(deps.sessionmaker, deps.config, deps.clock, deps.sealer))
    for service in app.services:
        await service.start()
    return console
