"""Which channels and background services ``lianzu run`` starts, from the settings."""

from __future__ import annotations

from bot.app import App
from bot.channels.console import ConsoleChannel
from bot.delivery import DeliveryWorker
from bot.scheduler import Scheduler
from bot.web import WebServer


def shared_web(app: App) -> WebServer:
    """The one web server (webhooks, callbacks); listed first so it listens before a
    channel tells its platform where to post."""
    for s in app.services:
        if isinstance(s, WebServer):
            return s
    web = WebServer(app.settings.web_host, app.settings.web_port)
    app.services.insert(0, web)
    return web


def add_telegram(app: App) -> None:
    """Telegram (issue 7): registers the channel for pushes and its polling/webhook service."""
    from bot.telegram.service import TelegramService

    s = app.settings
    assert s.telegram_token is not None
    service = TelegramService(
        app.dispatcher,
        token=s.telegram_token.get_secret_value(),
        api_url=s.telegram_api_url,
        mode=s.telegram_mode,
        web=shared_web(app) if s.telegram_mode == "webhook" else None,
        webhook_url=s.telegram_webhook_url,
        webhook_path=s.telegram_webhook_path,
        webhook_secret=s.telegram_webhook_secret.get_secret_value() if s.telegram_webhook_secret else None,
    )
    app.channels[service.channel.name] = service.channel
    app.services.append(service)


async def start_services(app: App) -> ConsoleChannel | None:
    """Start every configured service; returns the console channel if it is on."""
    console = None
    if app.settings.console_enabled:
        console = ConsoleChannel(app.dispatcher)
        app.channels["console"] = console
    if app.settings.telegram_token is not None:
        add_telegram(app)
    deps = app.deps
    app.services.append(DeliveryWorker(deps.sessionmaker, app.channels, deps.sealer, deps.clock, deps.config))
    app.services.append(Scheduler(deps.sessionmaker, deps.config, deps.clock, deps.sealer))
    for service in app.services:
        await service.start()
    return console
