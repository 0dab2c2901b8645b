"""The WeCom channel as ``lianzu run`` knows it (issue 8): on when the app's settings are set;
the callback on the shared web server, and the channel for pushes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.channels.base import ChannelSpec, Limits
from bot.wecom import CHANNEL
from bot.wecom.settings import WeComSettings
from handlers.i18n import N_

if TYPE_CHECKING:
    from bot.app import App
    from bot.settings import Settings

# WeCom states no overall rate for active messages; per member it drops what goes over.
OVERALL_PER_SECOND = 1000


def enabled(settings: Settings) -> bool:
    return settings.wecom_enabled


def limits(settings: Settings) -> Limits:
    """Per member and minute, from the settings (30 by default)."""
    return Limits(OVERALL_PER_SECOND, 1.0, settings.wecom_rate_per_member, 60.0)


def start(app: App) -> None:
    from wechatpy.enterprise.crypto import WeChatCrypto  # wechatpy only when WeCom is on

    from bot.inbox import Inbox
    from bot.wecom.callback import WeComCallback
    from bot.wecom.channel import WeComChannel
    from bot.wecom.client import LianzuWeComClient

    s = app.settings
    assert s.wecom_corp_id and s.wecom_secret and s.wecom_token and s.wecom_aes_key and s.wecom_agent_id is not None
    client = LianzuWeComClient(s.wecom_corp_id, s.wecom_secret.get_secret_value(), api_base=s.wecom_api_base,
                               database_url=s.database_url)
    channel = WeComChannel(client, s.wecom_agent_id, app.dispatcher, cards=s.wecom_cards)
    crypto = WeChatCrypto(s.wecom_token.get_secret_value(), s.wecom_aes_key.get_secret_value(), s.wecom_corp_id)
    deps = app.deps
    inbox = Inbox(CHANNEL, deps.sessionmaker, deps.sealer, deps.clock)
    callback = WeComCallback(crypto, channel, app.dispatcher.handle, inbox,
                             max_attachment_bytes=s.max_attachment_bytes, numbered=not s.wecom_cards)
    web = app.web()
    web.add_route("GET", s.wecom_callback_path, callback.verify)
    web.add_route("POST", s.wecom_callback_path, callback.receive)
    app.channels[channel.name] = channel
    app.services.append(inbox)  # started after the web server: replays what a previous process left


SPEC = ChannelSpec(
    name=CHANNEL,
    enabled=enabled,
    start=start,
    platform_note=N_("Your enterprise's WeCom administrators may be able to see that you wrote to this app."),
    limits=limits,
    settings=WeComSettings,
    forget_note=N_("WeCom does not let me delete messages: please delete this conversation yourself. Your "
                   "enterprise's WeCom administrators may keep copies of the messages in their records, which "
                   "neither you nor I can remove."),
)
