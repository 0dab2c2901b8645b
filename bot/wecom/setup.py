"""Wire the WeCom channel into a running app from the settings."""

from __future__ import annotations

from bot.app import App
from bot.web import WebServer
from bot.wecom.api import WeComAPI
from bot.wecom.channel import NAME, WeComChannel


class _WeComService:
    """Stops the channel cleanly: finish accepted work, close the API session."""

    name = "wecom"

    def __init__(self, channel: WeComChannel) -> None:
        self.channel = channel

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        await self.channel.drain()
        await self.channel.api.close()


def shared_web_server(app: App) -> WebServer:
    for s in app.services:
        if isinstance(s, WebServer):
            return s
    server = WebServer(app.settings.web_host, app.settings.web_port)
    app.services.append(server)
    return server


def install_wecom(app: App) -> WeComChannel:
    st = app.settings
    assert st.wecom_corp_id and st.wecom_agent_id and st.wecom_secret and st.wecom_token and st.wecom_aes_key
    api = WeComAPI(base=st.wecom_api_base, corp_id=st.wecom_corp_id, secret=st.wecom_secret.get_secret_value(),
                   sessionmaker=app.sessionmaker, clock=app.deps.clock)
    channel = WeComChannel(dispatcher=app.dispatcher, api=api, agent_id=st.wecom_agent_id,
                           token=st.wecom_token.get_secret_value(), aes_key=st.wecom_aes_key.get_secret_value(),
                           corp_id=st.wecom_corp_id)
    app.channels[NAME] = channel
    server = shared_web_server(app)
    channel.install(server)
    # Services stop in reverse order: the channel drains its work before the web server goes.
    app.services.append(_WeComService(channel))
    return channel
