"""The one aiohttp web server that channels share (Telegram webhook, WeCom callback).

Channels add their routes to ``WebServer.app`` before it starts; it only listens when some
channel added a route.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from aiohttp.typedefs import Handler

log = logging.getLogger("lianzu.web")


class WebServer:
    name = "web"

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.app = web.Application(client_max_size=32 * 1024 * 1024)
        self._runner: web.AppRunner | None = None
        self.routes_added = False

    def add_route(self, method: str, path: str, handler: Handler) -> None:
        self.app.router.add_route(method, path, handler)
        self.routes_added = True

    async def start(self) -> None:
        if not self.routes_added:
            return
        self._runner = web.AppRunner(self.app, access_log=None)  # access logs would record senders' IPs
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        if self.port == 0:  # tests: learn the port the OS chose
            server = site._server
            assert isinstance(server, asyncio.base_events.Server)
            self.port = server.sockets[0].getsockname()[1]
        log.info("web server on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
