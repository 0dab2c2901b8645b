"""Which channels and background services ``lianzu run`` starts, from the settings."""

from __future__ import annotations

from bot.app import App
from bot.channels.console import ConsoleChannel


async def start_services(app: App) -> ConsoleChannel | None:
    """Start every configured service; returns the console channel if it is on."""
    console = None
    if app.settings.console_enabled:
        console = ConsoleChannel(app.dispatcher)
        app.channels["console"] = console
    if app.settings.wecom_enabled:  # WeCom: callback on the shared web server, active messages out
        from bot.wecom.setup import install_wecom

        install_wecom(app)
    for service in app.services:
        await service.start()
    return console
