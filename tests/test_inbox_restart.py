"""Nothing accepted is lost: a real ``lianzu run`` process that answered WeCom's callback (or
Telegram's webhook post) 200 and is killed before it finished the work answers the message after
a restart. The platforms are the local stand-ins, WeCom's callback is signed and encrypted with
wechatpy's own crypto; the process is killed with SIGKILL while it waits for the platform."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from storage.db import make_engine, make_sessionmaker
from storage.models import InboxItem
from tests.conftest import TEST_KEYS, TEST_SALT
from tests.telegram.standin import BotAPIStandIn, message
from tests.wecom.conftest import start_site
from tests.wecom.standin import AES_KEY, AGENT_ID, CORP_ID, SECRET, TOKEN, ApiStandIn, Simulator

ROOT = Path(__file__).resolve().parent.parent
WEBHOOK_SECRET = "inbox-Test_secret"
START_TIMEOUT = 90.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Program:
    """``python -m bot run`` as a child process, started and killed at will."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs = env, logs
        self.proc: asyncio.subprocess.Process | None = None
        self.runs = 0

    async def start(self, ready: Callable[[], object]) -> None:
        self.runs += 1
        err = open(self.logs / f"run{self.runs}.log", "wb")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=ROOT, env=self.env,
            stdin=asyncio.subprocess.DEVNULL, stdout=err, stderr=err)
        err.close()
        deadline = asyncio.get_running_loop().time() + START_TIMEOUT
        while not await ready():  # type: ignore[misc]
            assert self.proc.returncode is None, self.log()
            assert asyncio.get_running_loop().time() < deadline, "the program did not start\n" + self.log()
            await asyncio.sleep(0.2)

    def log(self) -> str:
        return (self.logs / f"run{self.runs}.log").read_text(errors="replace")[-3000:]

    async def kill(self) -> None:
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 30)
            except TimeoutError:
                await self.kill()


def base_env(db_url: str, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIANZU_")}
    env.update(LIANZU_DATABASE_URL=db_url, LIANZU_INSTALLATION_SALT=TEST_SALT, LIANZU_ENCRYPTION_KEYS=TEST_KEYS,
               LIANZU_WEB_HOST="127.0.0.1", LIANZU_WEB_PORT=str(port), LIANZU_LOG_LEVEL="INFO",
               LIANZU_DEMO_ORG="true")
    return env


async def stored(db_url: str) -> list[InboxItem]:
    engine = make_engine(db_url)
    try:
        async with make_sessionmaker(engine)() as s:
            return list((await s.scalars(select(InboxItem))).all())
    finally:
        await engine.dispose()


async def until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, what
        await asyncio.sleep(0.05)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


async def test_a_wecom_message_answered_200_survives_a_kill(demo_db_url: str, tmp_path: Path,
                                                             http: aiohttp.ClientSession) -> None:
    api = ApiStandIn()
    api.media_gate = asyncio.Event()  # the download hangs: the process is mid-work when killed
    api.media["M1"] = (b"\xff\xd8\xff\xe0 a photo", "image/jpeg", "photo.jpg")
    runner, api_port = await start_site(api.app())
    port = free_port()
    env = base_env(demo_db_url, port)
    env.update(LIANZU_WECOM_CORP_ID=CORP_ID, LIANZU_WECOM_AGENT_ID=str(AGENT_ID), LIANZU_WECOM_SECRET=SECRET,
               LIANZU_WECOM_TOKEN=TOKEN, LIANZU_WECOM_AES_KEY=AES_KEY,
               LIANZU_WECOM_API_BASE=f"http://127.0.0.1:{api_port}/cgi-bin/")
    sim = Simulator(f"http://127.0.0.1:{port}/wecom/callback")
    program = Program(env, tmp_path)

    async def ready() -> bool:
        try:
            async with http.get(sim.url, params=sim.verification("up")) as r:
                return r.status == 200
        except aiohttp.ClientError:
            return False

    user = "wx-reporter-7"
    try:
        await program.start(ready)
        status, _body, _t = await sim.post(http, sim.image_xml(user, "M1"))
        assert status == 200
        await until(lambda: api.media_requests > 0, 30, "the program never fetched the photo")
        await program.kill()  # answered 200, work not finished
        assert api.texts_to(user) == []
        rows = await stored(demo_db_url)
        assert len(rows) == 1 and rows[0].channel == "wecom"
        assert user.encode() not in rows[0].sealed and b"M1" not in rows[0].sealed  # sealed, not plain

        api.media_gate.set()
        await program.start(ready)
        await until(lambda: bool(api.texts_to(user)), 60, "no answer after the restart\n" + program.log())
        answers = api.texts_to(user)
        await asyncio.sleep(0.5)
        assert api.texts_to(user) == answers  # answered once, not twice
        assert await stored(demo_db_url) == []  # handled: the sealed copy is gone
    finally:
        await program.stop()
        await runner.cleanup()


async def test_a_telegram_webhook_update_answered_200_survives_a_kill(demo_db_url: str, tmp_path: Path,
                                                                      http: aiohttp.ClientSession) -> None:
    standin = BotAPIStandIn()
    await standin.start()
    standin.hold_method["getFile"] = asyncio.Event()  # the download hangs: the process is mid-work when killed
    fid = standin.add_file(b"%PDF-1.4 evidence", "documents/evidence.pdf")
    port = free_port()
    env = base_env(demo_db_url, port)
    env.update(LIANZU_TELEGRAM_TOKEN=standin.token, LIANZU_TELEGRAM_API_URL=standin.url,
               LIANZU_TELEGRAM_MODE="webhook", LIANZU_TELEGRAM_WEBHOOK_URL="https://bot.example.org/telegram/webhook",
               LIANZU_TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET)
    url = f"http://127.0.0.1:{port}/telegram/webhook"
    program = Program(env, tmp_path)
    runs_seen = 0

    async def ready() -> bool:
        # Up once it told the stand-in where its webhook is (after the web server listens).
        return len(standin.called("setWebhook")) > runs_seen

    chat = 5550123
    update = message(chat, None, message_id=77, document={"file_id": fid, "file_unique_id": "u" + fid,
                                                          "file_name": "evidence.pdf", "file_size": 17})
    update["update_id"] = 900001
    try:
        await program.start(ready)
        runs_seen = 1
        async with http.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}) as r:
            assert r.status == 200
        await until(lambda: bool(standin.called("getFile")), 30, "the program never asked for the file")
        await program.kill()  # answered 200, work not finished
        assert standin.texts_to(chat) == []
        rows = await stored(demo_db_url)
        assert len(rows) == 1 and rows[0].channel == "telegram"
        assert str(chat).encode() not in rows[0].sealed

        standin.hold_method.pop("getFile").set()
        await program.start(ready)
        await until(lambda: bool(standin.texts_to(chat)), 60, "no answer after the restart\n" + program.log())
        answers = standin.texts_to(chat)
        await asyncio.sleep(0.5)
        assert standin.texts_to(chat) == answers
        assert await stored(demo_db_url) == []
    finally:
        await program.stop()
        await standin.stop()
