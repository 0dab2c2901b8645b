"""Which channels and background services ``lianzu run`` starts, from the settings."""

from __future__ import annotations

from bot.app import App
from bot.channels.console import ConsoleChannel
from bot.delivery import DeliveryWorker, Limits
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


def add_wecom(app: App) -> None:
    """WeCom (issue 8): the callback on the shared web server, and the channel for pushes."""
    from wechatpy.enterprise.crypto import WeChatCrypto

    from bot.wecom.callback import WeComCallback
    from bot.wecom.channel import WeComChannel
    from bot.wecom.client import LianzuWeComClient

    s = app.settings
    assert s.wecom_corp_id and s.wecom_secret and s.wecom_token and s.wecom_aes_key and s.wecom_agent_id is not None
    client = LianzuWeComClient(s.wecom_corp_id, s.wecom_secret.get_secret_value(), api_base=s.wecom_api_base,
                               database_url=s.database_url)
    channel = WeComChannel(client, s.wecom_agent_id, app.dispatcher, cards=s.wecom_cards)
    crypto = WeChatCrypto(s.wecom_token.get_secret_value(), s.wecom_aes_key.get_secret_value(), s.wecom_corp_id)
    callback = WeComCallback(crypto, channel, app.dispatcher.handle, max_attachment_bytes=s.max_attachment_bytes,
                             numbered=not s.wecom_cards)
    web = shared_web(app)
    web.add_route("GET", s.wecom_callback_path, callback.verify)
    web.add_route("POST", s.wecom_callback_path, callback.receive)
    app.channels[channel.name] = channel


async def start_services(app: App) -> ConsoleChannel | None:
    """Start every configured service; returns the console channel if it is on."""
    console = None
    if app.settings.console_enabled:
        console = ConsoleChannel(app.dispatcher)
        app.channels["console"] = console
    if app.settings.telegram_token is not None:
        add_telegram(app)
    if app.settings.wecom_enabled:
        add_wecom(app)
    deps = app.deps
    st = app.settings
    limits = {"telegram": Limits(st.telegram_rate_overall, 1.0, st.telegram_rate_per_chat, 1.0),
              "wecom": Limits(1000, 1.0, st.wecom_rate_per_member, 60.0)}
    app.services.append(DeliveryWorker(deps.sessionmaker, app.channels, deps.sealer, deps.clock, deps.config,
                                       limits=limits, max_attempts=st.delivery_max_attempts))
    app.services.append(Scheduler(deps))
    for service in app.services:
        await service.start()
    return console
