"""Inbound speed through the real Telegram webhook path: HTTP in (aiohttp), aiogram, translation,
the neutral dispatcher, sendMessage out over HTTP to the local Bot API stand-in.

Throughput mode (default): USERS simulated people each walk the tip wizard (/report, a unit
search, a unit chosen, people, details, Done, Skip files, Anonymous, /cancel: nine updates,
four of them button presses), all at once over at most CONNECTIONS webhook connections (Telegram's
default is 40). Three bots, phases interleaved and repeated, min and median printed:

- product: Lianzu's Telegram service in webhook mode;
- echo: a bare aiogram bot behind the same webhook handler that echoes every message and
  answers every button press;
- echo+commit: the same echo bot, which also commits one row per update to the same database.

Ratios printed: product / echo+commit (target >= 0.8) and product / echo (target >= 0.35), in
updates per second.

Every bot sits behind the product's webhook handler (``bot.telegram.webhook``): the update is
stored sealed in the inbox, the webhook answers 200, then the update is worked and its inbox row
deleted (the product and echo+commit: in the transaction of the work). An update counts as done
when its work is done (its replies went out) and its inbox row is gone, not when the webhook
answered. ``--echo-intake direct`` puts the echo bots behind a bare handler instead (worked, then
answered; no inbox).

Telegram's side (the webhook client posting updates, the Bot API stand-in taking the replies) runs
in a process of its own by default, as Telegram's servers are not in the bot's process; the bots'
process tells it over a local socket when each update is done. ``--load-side inprocess`` runs it
in the bots' process and event loop instead (the earlier way; ``--profile`` always does).

Latency mode (``--latency``): SENDERS people walk the wizard over and over for SECONDS, each
sending the next update as soon as the previous one was done; p50, p95 and max of the time
from posting an update to the end of its work. Target: p95 <= 1 s with 50 senders for 60 s.

    .venv/bin/python -m benchmarks.inbound_bench [--users 200] [--repeat 3]
    .venv/bin/python -m benchmarks.inbound_bench --latency [--senders 50] [--seconds 60]
    ... --load-side inprocess   (Telegram's side in the bots' process)
    ... --url postgresql+asyncpg://postgres@127.0.0.1/lianzu_bench   (a throwaway database
        named after it is created and dropped)

Run as a module: it reuses the test stand-in of the Bot API.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import multiprocessing
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import aiohttp
from aiogram import Bot, Router
from aiogram import Dispatcher as AiogramDispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import CallbackQuery, Message, Update
from aiohttp import web
from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, create_engine, insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.app import DEMO_ORG
from bot.inbox import Inbox, delete_with
from bot.telegram.service import TelegramService
from bot.telegram.webhook import SECRET_HEADER, make_handler, make_processor
from bot.web import WebServer
from handlers.app import make_deps, make_dispatcher
from handlers.clock import SystemClock
from handlers.config import Config
from storage import migrate
from storage.crypto import Sealer
from storage.db import make_engine, make_sessionmaker, sync_url
from storage.orgfile import import_org, load_org_file
from tests.telegram.standin import BotAPIStandIn, callback, message, user

SECRET = "bench-secret"
PATH = "/telegram/webhook"
TARGET_COMMIT, TARGET_BARE, TARGET_P95 = 0.8, 0.35, 1.0
UPDATE_TIMEOUT = 120.0  # an update not worked by then counts as failed

# One walk through the wizard: text to send, or ("press", suffix of the button's data; "" for
# the first choice that is not navigation).
WALK: list[str | tuple[str, str]] = [
    "/report", "交通警察", ("press", ""), "张某，副总队长", "他收受好处费。",
    ("press", ":done"), ("press", ":done"), ("press", ":anon"), "/cancel",
]
NAVIGATION = (":back", ":cancel", ":unsure")

echo_rows = Table("bench_echo", MetaData(), Column("id", Integer, primary_key=True),
                  Column("chat", BigInteger), Column("text", String(4096)))


class StandIn(BotAPIStandIn):
    """The tests' stand-in, remembering only each chat's newest keyboard (the driver presses it)."""

    def __init__(self) -> None:
        super().__init__()
        self.keyboards: dict[int, tuple[int, list[str]]] = {}
        self.answers = 0
        self.misses = 0  # presses that found no such button (the walk went astray)

    def _message(self, chat_id: int, **content: Any) -> dict[str, Any]:
        m = super()._message(chat_id, **content)
        self._remember(chat_id, m["message_id"], content)
        self.messages.clear()  # nothing reads them back here: keep memory flat
        return m

    def _remember(self, chat_id: int, mid: int, content: dict[str, Any]) -> None:
        self.answers += 1
        rows = (content.get("reply_markup") or {}).get("inline_keyboard")
        if rows:
            self.keyboards[chat_id] = (mid, [b["callback_data"] for row in rows for b in row])

    async def _api(self, request: web.Request) -> web.Response:
        resp = await super()._api(request)
        self.calls.clear()
        return resp

    async def m_editMessageText(self, p: dict[str, Any], f: dict) -> web.Response:  # type: ignore[type-arg]
        key = (int(p["chat_id"]), int(p["message_id"]))
        self._remember(key[0], key[1], p)
        return self._ok({"message_id": key[1], "date": self.date, "chat": {"id": key[0], "type": "private"},
                         "text": p.get("text", "")})

    def press(self, chat_id: int, suffix: str) -> tuple[int, str]:
        mid, data = self.keyboards.get(chat_id, (1, []))
        for d in data:
            if (suffix and d.endswith(suffix)) or (not suffix and not d.endswith(NAVIGATION)):
                return mid, d
        self.misses += 1
        return mid, "x:none"  # an echo bot shows no keyboard: any press will do


OnDone = Callable[[int], None]  # told an update_id once its work is done


class Done:
    """The load side's view: when each update's work ended, by update_id (the webhook answers
    before the work when the update goes through the inbox)."""

    def __init__(self) -> None:
        self.waiting: dict[int, asyncio.Future[None]] = {}

    def expect(self, update_id: int) -> asyncio.Future[None]:
        fut = self.waiting[update_id] = asyncio.get_running_loop().create_future()
        return fut

    def finished(self, update_id: int) -> None:
        fut = self.waiting.pop(update_id, None)
        if fut is not None and not fut.done():
            fut.set_result(None)


def tell_when_done(inbox: Inbox, on_done: OnDone) -> None:
    """An update is done when its work is and its inbox row is deleted (part of its cost)."""
    work = inbox._work

    async def worked(item_id: int, payload: dict[str, Any]) -> None:
        try:
            await work(item_id, payload)
        finally:
            on_done(payload.get("update_id", -1))

    inbox._work = worked  # type: ignore[method-assign]


def intake(name: str, web_server: WebServer, bot: Bot, dp: AiogramDispatcher,
           sessionmaker: async_sessionmaker[AsyncSession], sealer: Sealer, on_done: OnDone, how: str) -> None:
    """The webhook route of an echo bot: the product's own handler and inbox, or a bare handler."""
    if how == "inbox":
        inbox = Inbox(name, sessionmaker, sealer, SystemClock())
        inbox.serve(make_processor(dp, bot))
        tell_when_done(inbox, on_done)
        web_server.add_route("POST", PATH, make_handler(bot, SECRET, inbox))
        return

    async def bare(request: web.Request) -> web.Response:
        payload = await request.json()
        try:
            await dp.feed_update(bot, Update.model_validate(payload, context={"bot": bot}))
        finally:
            on_done(payload.get("update_id", -1))
        return web.json_response({})

    web_server.add_route("POST", PATH, bare)


def echo_bot(api_url: str, token: str, commit: AsyncEngine | None) -> tuple[Bot, AiogramDispatcher]:
    bot = Bot(token=token, session=AiohttpSession(api=TelegramAPIServer.from_base(api_url)))
    dp = AiogramDispatcher()
    router = Router()
    # On SQLite its writes take turns as the product's do: the engine (storage.db.make_engine)
    # gives every writer of the process its turn for the one writer, in arrival order.
    sessionmaker = make_sessionmaker(commit) if commit is not None else None

    async def store(chat: int, content: str) -> None:
        if sessionmaker is None:
            return
        async with sessionmaker() as s, s.begin():
            await s.execute(insert(echo_rows).values(chat=chat, text=content))
            await delete_with(s)  # its inbox row ends with its commit, as the product's does

    @router.message()
    async def on_message(m: Message, bot: Bot) -> None:
        await store(m.chat.id, m.text or "")
        await bot.send_message(m.chat.id, m.text or "?")

    @router.callback_query()
    async def on_button(q: CallbackQuery, bot: Bot) -> None:
        await q.answer()
        await store(q.from_user.id, q.data or "")
        await bot.send_message(q.from_user.id, q.data or "?")

    dp.include_router(router)
    return bot, dp


class Driver:
    """Posts updates to one bot's webhook as Telegram would, and times each answer."""

    def __init__(self, http: aiohttp.ClientSession, port: int, standin: StandIn, done: Done) -> None:
        self.url = f"http://127.0.0.1:{port}{PATH}"
        self.http, self.standin, self.done = http, standin, done
        self.latencies: list[float] = []
        self.failures = 0

    async def post(self, update: dict[str, Any]) -> None:
        t0 = time.perf_counter()
        worked = self.done.expect(update["update_id"])
        async with self.http.post(self.url, json=update, headers={SECRET_HEADER: SECRET}) as resp:
            await resp.read()
            if resp.status != 200:
                self.failures += 1
                self.done.waiting.pop(update["update_id"], None)
                return
        try:
            await asyncio.wait_for(worked, UPDATE_TIMEOUT)
        except TimeoutError:
            self.failures += 1
            return
        self.latencies.append(time.perf_counter() - t0)

    async def walk(self, uid: int, ids: itertools.count[int]) -> None:
        frm = user(uid)
        for i, step in enumerate(WALK):
            if isinstance(step, str):
                update = message(uid, step, message_id=10_000 + i, from_user=frm)
            else:
                mid, data = self.standin.press(uid, step[1])
                update = callback(uid, data, message_id=mid, from_user=frm)
            await self.post({"update_id": next(ids), **update})


async def fresh_database(url: str | None, tmp: Path) -> tuple[str, Callable[[], None]]:
    if url is None:
        return f"sqlite+aiosqlite:///{tmp / 'bench.db'}", lambda: None
    name = f"{make_url(url).database}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(make_url(sync_url(url)).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(url).set(database=name).render_as_string(hide_password=False), drop


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url, drop = await fresh_database(args.url, Path(tmp))
        try:
            await bench(args, url)
        finally:
            drop()


async def bench(args: argparse.Namespace, url: str) -> None:
    await asyncio.to_thread(migrate.upgrade, url)
    engine = make_engine(url)
    async with make_sessionmaker(engine)() as s, s.begin():
        await import_org(s, load_org_file(DEMO_ORG))
    async with engine.begin() as conn:
        await conn.run_sync(echo_rows.metadata.create_all)
    await engine.dispose()
    if args.load_side == "process" and not args.profile:
        await with_load_process(args, url)
        return
    standin = StandIn()
    await standin.start()
    done = Done()
    async with AsyncExitStack() as stack:
        stack.push_async_callback(standin.stop)
        ports, engine = await serve_bots(stack, args, url, standin.url, standin.token, done.finished)
        if args.profile:
            http = await stack.enter_async_context(http_client(args))
            await profile(Driver(http, ports["product"], standin, done), engine, args, itertools.count(1),
                          itertools.count(500_000_000))
            return
        await drive(args, ports, standin, done, make_url(url).get_backend_name())


async def serve_bots(stack: AsyncExitStack, args: argparse.Namespace, url: str, api_url: str, token: str,
                     on_done: OnDone) -> tuple[dict[str, int], AsyncEngine]:
    """The three bots behind their webhooks (this process), talking to the Bot API at ``api_url``;
    ``on_done`` is told each update_id once its work is done. Returns their ports and the engine."""
    engine = make_engine(url)
    stack.push_async_callback(engine.dispose)
    cfg = Config(database_url=url)
    sessionmaker = make_sessionmaker(engine)
    deps = make_deps(cfg, sessionmaker, SystemClock(), Sealer(cfg.keyring))
    servers: dict[str, WebServer] = {name: WebServer("127.0.0.1", 0) for name in ("product", "echo", "echo+commit")}
    service = TelegramService(make_dispatcher(deps), token=token, api_url=api_url, mode="webhook",
                              web=servers["product"], webhook_url="https://x" + PATH, webhook_path=PATH,
                              webhook_secret=SECRET)
    assert service.inbox is not None
    tell_when_done(service.inbox, on_done)
    bots = []
    for name, commit in (("echo", None), ("echo+commit", engine)):
        bot, dp = echo_bot(api_url, token, commit)
        bots.append(bot)
        intake(name, servers[name], bot, dp, sessionmaker, deps.sealer, on_done, args.echo_intake)
    for server in servers.values():
        await server.start()
        stack.push_async_callback(server.stop)
    await service.start()
    stack.push_async_callback(service.stop)
    for b in bots:
        stack.push_async_callback(b.session.close)
    return {name: server.port for name, server in servers.items()}, engine


def http_client(args: argparse.Namespace) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=args.connections))


async def drive(args: argparse.Namespace, ports: dict[str, int], standin: StandIn, done: Done, backend: str) -> None:
    """The load side: Telegram posting updates to the bots' webhooks, in whichever process it runs."""
    async with http_client(args) as http:
        drivers = {name: Driver(http, port, standin, done) for name, port in ports.items()}
        ids = itertools.count(1)
        uids = itertools.count(500_000_000)
        if args.latency:
            await latency(drivers["product"], args, ids, uids, backend)
        else:
            await throughput(drivers, args, ids, uids, backend, standin)


# -- the load side in a process of its own -------------------------------------------------
# Telegram's servers are not in the bot's process: here the Bot API stand-in and the webhook
# client run in a second process, so the bots' process spends its CPU on the bots alone. The
# bots' process tells the load side over a local socket when each update's work is done.


async def with_load_process(args: argparse.Namespace, url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    here, there = ctx.Pipe()
    proc = ctx.Process(target=load_process, args=(there, args, make_url(url).get_backend_name()), daemon=True)
    proc.start()
    try:
        api_url, token = await asyncio.to_thread(here.recv)
        writers: list[asyncio.StreamWriter] = []

        async def connected(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            writers.append(w)

        done_server = await asyncio.start_server(connected, "127.0.0.1", 0)
        done_port = done_server.sockets[0].getsockname()[1]

        def on_done(update_id: int) -> None:
            for w in writers:
                w.write(b"%d\n" % update_id)

        async with AsyncExitStack() as stack:
            ports, _engine = await serve_bots(stack, args, url, api_url, token, on_done)
            here.send((ports, done_port))
            await asyncio.to_thread(here.recv)  # the load side finished
        done_server.close()
    finally:
        await asyncio.to_thread(proc.join, 30)
        if proc.is_alive():
            proc.kill()


def load_process(conn: Any, args: argparse.Namespace, backend: str) -> None:
    asyncio.run(load_side(conn, args, backend))


async def load_side(conn: Any, args: argparse.Namespace, backend: str) -> None:
    standin = StandIn()
    await standin.start()
    try:
        conn.send((standin.url, standin.token))
        ports, done_port = await asyncio.to_thread(conn.recv)
        done = Done()
        reader, writer = await asyncio.open_connection("127.0.0.1", done_port)

        async def listen() -> None:
            while line := await reader.readline():
                done.finished(int(line))

        listener = asyncio.create_task(listen())
        try:
            await drive(args, ports, standin, done, backend)
        finally:
            listener.cancel()
            writer.close()
    finally:
        await standin.stop()
        conn.send("finished")


async def throughput(drivers: dict[str, Driver], args: argparse.Namespace, ids: itertools.count[int],
                     uids: itertools.count[int], backend: str, standin: StandIn) -> None:
    rates: dict[str, list[float]] = {name: [] for name in drivers}
    # A warm-up walk per bot (imports, connections, caches), not counted.
    for d in drivers.values():
        await asyncio.gather(*(d.walk(next(uids), ids) for _ in range(5)))
    n = args.users * len(WALK)
    for rep in range(args.repeat):
        order = list(drivers) if rep % 2 == 0 else list(reversed(drivers))  # interleaved, both ways
        for name in order:
            d = drivers[name]
            failures, answers, misses = d.failures, standin.answers, standin.misses
            t0 = time.perf_counter()
            await asyncio.gather(*(d.walk(next(uids), ids) for _ in range(args.users)))
            elapsed = time.perf_counter() - t0
            rates[name].append(n / elapsed)
            answered = standin.answers - answers
            print(f"  round {rep + 1} {name:12} {n / elapsed:7.1f} updates/s "
                  f"({n} updates, {answered} messages out, {d.failures - failures} failed)", flush=True)
            if name == "product" and standin.misses != misses:
                print(f"  !! product: {standin.misses - misses} presses found no button (the walk went astray)")
            if d.failures != failures or answered < n:
                print(f"  !! {name}: {d.failures - failures} failed updates, {answered} answers for {n} updates")

    def fig(xs: list[float]) -> str:
        return f"min {min(xs):.1f}, median {statistics.median(xs):.1f}"

    print(f"\n{backend}, {args.users} users x {len(WALK)} updates, {args.connections} connections, "
          f"{args.repeat} rounds, echo intake {args.echo_intake} (updates/s):")
    for name, xs in rates.items():
        print(f"  {name:12} {fig(xs)}")
    for base, target in (("echo+commit", TARGET_COMMIT), ("echo", TARGET_BARE)):
        # Ratios per round (phases of one round ran back to back), then min and median.
        ratios = [p / b for p, b in zip(rates["product"], rates[base], strict=True)]
        verdict = "OK" if statistics.median(ratios) >= target else "MISSED"
        print(f"  product / {base:12} min {min(ratios):.2f}x, median {statistics.median(ratios):.2f}x "
              f"(target >= {target}x): {verdict}")


async def latency(d: Driver, args: argparse.Namespace, ids: itertools.count[int], uids: itertools.count[int],
                  backend: str) -> None:
    await asyncio.gather(*(d.walk(next(uids), ids) for _ in range(5)))  # warm-up
    d.latencies.clear()
    stop = time.perf_counter() + args.seconds

    async def sender() -> None:
        uid = next(uids)
        while time.perf_counter() < stop:
            await d.walk(uid, ids)

    t0 = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(args.senders)))
    elapsed = time.perf_counter() - t0
    xs = sorted(d.latencies)
    p95 = xs[int(0.95 * (len(xs) - 1))]
    verdict = "OK" if p95 <= TARGET_P95 and not d.failures else "MISSED"
    print(f"{backend}, {args.senders} senders for {elapsed:.0f} s: {len(xs)} updates ({len(xs) / elapsed:.1f}/s), "
          f"{d.failures} failed; latency p50 {statistics.median(xs) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
          f"max {xs[-1] * 1000:.0f} ms (target p95 <= {TARGET_P95 * 1000:.0f} ms): {verdict}")


async def profile(d: Driver, engine: AsyncEngine, args: argparse.Namespace, ids: itertools.count[int],
                  uids: itertools.count[int]) -> None:
    """USERS walks of the product under cProfile; SQL statements and aiosqlite thread hops per update."""
    import cProfile
    import pstats

    from sqlalchemy import event
    from sqlalchemy.engine.interfaces import CacheStats

    await asyncio.gather(*(d.walk(next(uids), ids) for _ in range(5)))  # warm-up
    counts = {"statements": 0, "hops": 0, "commits": 0, "connects": 0, "compiled": 0}
    uncached: dict[str, int] = {}

    took: dict[str, list[float]] = {}  # statement → seconds from sending it to its result

    def on_execute(conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool) -> None:
        conn.info["bench_sent"] = time.perf_counter()
        counts["statements"] += 1
        if context is not None and context.compiled is not None and context.cache_hit is not CacheStats.CACHE_HIT:
            # Compiled for this execution: its statement had no cache key or was new.
            counts["compiled"] += 1
            uncached[statement[:100]] = uncached.get(statement[:100], 0) + 1

    def on_result(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent = conn.info.pop("bench_sent", None)
        if sent is not None:
            took.setdefault(statement.split("\n")[0][:60], []).append(time.perf_counter() - sent)

    def on_commit(*_: Any) -> None:
        counts["commits"] += 1

    event.listen(engine.sync_engine, "before_cursor_execute", on_execute)
    event.listen(engine.sync_engine, "after_cursor_execute", on_result)
    event.listen(engine.sync_engine, "commit", on_commit)

    def on_connect(*_: Any) -> None:
        counts["connects"] += 1

    event.listen(engine.sync_engine, "connect", on_connect)
    hop_patch = None
    if engine.dialect.name == "sqlite":
        import aiosqlite.core

        queued = aiosqlite.core.SimpleQueue.put_nowait  # every hop to a connection's thread is one put

        def put_nowait(self: Any, item: Any) -> None:
            counts["hops"] += 1
            queued(self, item)

        hop_patch = put_nowait
        aiosqlite.core.SimpleQueue = type("CountingQueue", (aiosqlite.core.SimpleQueue,), {"put_nowait": put_nowait})
    prof = cProfile.Profile()
    n = args.users * len(WALK)
    t0, cpu0 = time.perf_counter(), time.process_time()
    prof.enable()
    await asyncio.gather(*(d.walk(next(uids), ids) for _ in range(args.users)))
    prof.disable()
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    print(f"{n} updates in {elapsed:.1f} s ({cpu / n * 1000:.1f} ms CPU each, profiled); per update: "
          f"{counts['statements'] / n:.1f} statements, {counts['commits'] / n:.1f} commits, "
          f"{counts['compiled'] / n:.2f} compiled (not from the cache), {counts['connects'] / n:.2f} new connections"
          + (f", {counts['hops'] / n:.1f} thread hops" if hop_patch else "")
          + " (inbox, dispatcher and every other transaction included)")
    for stmt, k in sorted(uncached.items(), key=lambda kv: -kv[1])[:10]:
        print(f"  compiled {k} times: {stmt}")
    # A statement that has to wait for SQLite's one writer (busy handler) stands out here.
    print("statements, from sending to result (ms; the event loop's delay included):")
    for stmt, xs in sorted(took.items(), key=lambda kv: -sum(kv[1]))[:10]:
        xs.sort()
        print(f"  {len(xs):5d} x median {statistics.median(xs) * 1000:6.2f}, p90 {xs[int(0.9 * (len(xs) - 1))] * 1000:6.2f}"
              f"  {stmt}")
    prof.dump_stats(args.profile)
    pstats.Stats(prof).sort_stats("cumulative").print_stats(40)
    pstats.Stats(prof).sort_stats("tottime").print_stats(30)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--url", help="PostgreSQL URL (a throwaway database named after it is used); default SQLite")
    p.add_argument("--users", type=int, default=200)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--connections", type=int, default=40, help="webhook connections at once (Telegram: 40)")
    p.add_argument("--echo-intake", choices=("inbox", "direct"), default="inbox",
                   help="the echo bots behind the product's webhook handler and inbox (default), or a bare one")
    p.add_argument("--load-side", choices=("process", "inprocess"), default="process",
                   help="Telegram's side (the webhook client and the Bot API stand-in) in a process of its own "
                        "(default), or in the bots' process and event loop (--profile always does that)")
    p.add_argument("--profile", metavar="FILE", help="USERS walks of the product under cProfile (stats to FILE)")
    p.add_argument("--latency", action="store_true", help="latency mode: SENDERS for SECONDS, p95")
    p.add_argument("--senders", type=int, default=50)
    p.add_argument("--seconds", type=float, default=60)
    asyncio.run(run(p.parse_args(argv)))


if __name__ == "__main__":
    main(sys.argv[1:])

