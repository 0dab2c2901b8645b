"""A terminal chat: for trying Lianzu out and for end-to-end tests.

Buttons show as numbered choices; type the number. ``/as LOGIN`` acts as a staff member of
the loaded organisation, ``/as anonymous`` as an outside person; ``/attach PATH`` sends a
file; ``/quit`` leaves.
"""

from __future__ import annotations

import asyncio
import mimetypes
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from pydantic import BaseModel, Field
from sqlalchemy import select

from bot.channels.base import ChannelSpec
from bot.logs import logs_held_back
from handlers.dispatcher import Dispatcher
from handlers.events import InboundEvent, InboundFile, Reply, Sender
from handlers.i18n import N_
from handlers.render import numbered_text
from storage.models import ChatIdentity, Staff

if TYPE_CHECKING:
    from bot.app import App
    from bot.settings import Settings

CHANNEL = "console"
OUTSIDER = "operator"


class ConsoleChannel:
    name = CHANNEL

    def __init__(self, dispatcher: Dispatcher, *, out: TextIO | None = None, language_code: str | None = None) -> None:
        self.dispatcher = dispatcher
        self.out = out or sys.stdout
        self.language_code = language_code
        self.external_id = OUTSIDER
        self.acting_as: str | None = None

    # Pushes from the outbox to a console identity are printed with their addressee. Their
    # buttons become that identity's numbered menu, so "1" after "/as LOGIN" answers the notice.
    async def send(self, address: str, reply: Reply) -> None:
        self._print(reply, prefix=f"[→ {address.removeprefix('as:')}] ")
        if reply.buttons:
            await self.dispatcher.remember_menu(CHANNEL, address, reply)

    def _print(self, reply: Reply, prefix: str = "") -> None:
        text = numbered_text(reply)
        for f in reply.files:
            text += f"\n[{f.kind}: {f.filename}, {len(f.data)} bytes]"
        self.out.write(prefix + text.replace("\n", "\n" + " " * len(prefix)) + "\n\n")
        self.out.flush()

    async def act_as(self, login: str) -> str:
        """Bind this console to a demo staff member (creating the console identity)."""
        if login in ("anonymous", "anon", "-"):
            self.external_id, self.acting_as = OUTSIDER, None
            return "Now acting as an outside person (anonymous). / 现在以外部人员身份操作。"
        async with self.dispatcher.deps.sessionmaker() as session, session.begin():
            staff = await session.scalar(select(Staff).where(Staff.login == login))
            if staff is None:
                return f"No staff member with login {login!r}. / 没有该登录名的工作人员。"
            ext = f"as:{login}"
            ident = await session.scalar(
                select(ChatIdentity).where(ChatIdentity.channel == CHANNEL, ChatIdentity.external_id == ext)
            )
            if ident is None:
                session.add(ChatIdentity(staff_id=staff.id, channel=CHANNEL, external_id=ext,
                                         bound_at=self.dispatcher.deps.clock.now()))
            name = staff.name
        self.external_id, self.acting_as = ext, login
        return f"Now acting as {login} ({name}). / 现在以 {name} 身份操作。"

    def event(self, text: str | None = None, *, attachment: InboundFile | None = None) -> InboundEvent:
        return InboundEvent(
            channel=CHANNEL,
            sender=Sender(channel=CHANNEL, external_id=self.external_id, language_code=self.language_code),
            text=text,
            attachment=attachment,
            numbered_menus=True,
            received_at=datetime.now(UTC),
        )

    async def handle_line(self, line: str) -> bool:
        """Process one typed line; False when the operator wants to leave."""
        line = line.rstrip("\n")
        stripped = line.strip()
        if stripped in ("/quit", "/exit"):
            return False
        if stripped.startswith("/as"):
            self.out.write(await self.act_as(stripped[3:].strip() or "anonymous") + "\n\n")
            return True
        attachment = None
        text: str | None = line
        if stripped.startswith("/attach "):
            path = Path(stripped[8:].strip()).expanduser()
            limit = self.dispatcher.deps.config.max_attachment_bytes
            try:
                data, size = read_at_most(path, limit)
            except OSError as exc:
                self.out.write(f"Cannot read {path}: {exc.strerror} / 无法读取文件\n\n")
                return True
            ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            kind = "photo" if ctype.startswith("image/") else "document"
            attachment = InboundFile(filename=path.name, content_type=ctype, size=size, data=data, kind=kind)
            text = None
        for reply in await self.dispatcher.handle(self.event(text, attachment=attachment)):
            self._print(reply)
        return True

    async def run(self, read_line: Callable[[], str] | None = None) -> None:
        """Read lines until end of input or /quit."""
        reader = read_line or sys.stdin.readline
        lines: asyncio.Queue[str] = asyncio.Queue()
        loop = asyncio.get_running_loop()

        def pump() -> None:  # a daemon thread, so a blocked read never holds up shutdown
            while True:
                line = reader()
                loop.call_soon_threadsafe(lines.put_nowait, line)
                if not line:
                    return

        # Log lines wait until the chat ends: they never appear inside it.
        with logs_held_back(sys.stdout, sys.stderr, self.out):
            threading.Thread(target=pump, name="console-input", daemon=True).start()
            await self._chat(lines)

    async def _chat(self, lines: asyncio.Queue[str]) -> None:
        self.out.write("Lianzu console. /help for commands, /as LOGIN to act as staff, /quit to leave.\n"
                       "联组 控制台。/help 查看命令，/as 登录名 以工作人员身份操作，/quit 退出。\n\n")
        await self.handle_line("/start")
        while True:
            self.out.write(f"{self.acting_as or 'you'}> ")
            self.out.flush()
            line = await lines.get()
            if not line:  # end of input
                return
            if not await self.handle_line(line):
                return


def read_at_most(path: Path, limit: int) -> tuple[bytes | None, int]:
    """(the bytes, their count), or (None, limit + 1) when there are more than ``limit``: a
    device (/dev/zero), a pipe or a huge file is never read beyond the limit."""
    with path.open("rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        return None, limit + 1
    return data, len(data)


class ConsoleSettings(BaseModel):
    console: bool | None = Field(default=None, description="console channel; on when no other channel is configured")


def enabled(settings: Settings) -> bool:
    """LIANZU_CONSOLE if set; otherwise on exactly when no other channel is."""
    if settings.console is not None:
        return settings.console
    from bot.channels import registry  # the registry lists this module

    return not any(spec.enabled(settings) for spec in registry.CHANNELS if spec.name != CHANNEL)


def start(app: App) -> None:
    app.channels[CHANNEL] = ConsoleChannel(app.dispatcher)  # ``lianzu run`` reads its input


SPEC = ChannelSpec(
    name=CHANNEL,
    enabled=enabled,
    start=start,
    platform_note=N_("This terminal is operated locally; nothing about you is recorded."),
    settings=ConsoleSettings,
    forget_note=N_("I cannot clear this terminal: close the window or clear the screen yourself, and delete any "
                   "copy of the conversation you made."),
)
