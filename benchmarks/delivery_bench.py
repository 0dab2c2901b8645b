"""Outbox delivery rate against Telegram's limits, through the real worker, to a local HTTP
stand-in that enforces them in a strict sliding second (429 with retry_after when exceeded).
Each phase starts from a fresh database; phases are repeated and the minimum and median printed.
Target: ≥ 0.95 of the configured overall limit, 0 throttling errors, 0 duplicates, 0 missing.

``--instances N`` (PostgreSQL, ``--url``): N worker processes, each with its own engine, share one
database and one stand-in, as N ``lianzu run`` instances would; the same target holds for their
combined rate (never above the limit).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict, deque
from pathlib import Path

import aiohttp
from aiohttp import web
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from bot.channels.base import DeliveryError
from bot.delivery import DeliveryWorker, Limits
from handlers.clock import SystemClock
from handlers.config import Config
from handlers.events import Reply
from storage import migrate
from storage.crypto import Sealer
from storage.db import make_engine, make_sessionmaker, sync_url
from storage.models import ChatIdentity, Outbox, Staff, StaffRole

OVERALL, PER_CHAT = 30, 1  # messages per second
ROOT = Path(__file__).resolve().parent.parent


class StandIn:
    """Counts messages and refuses (429) any that exceed the limits in a sliding second."""

    def __init__(self) -> None:
        self.ok = 0
        self.throttled = 0
        self.received: Counter[str] = Counter()
        self.kinds: Counter[str] = Counter()
        self.all: deque[float] = deque()
        self.per: dict[str, deque[float]] = defaultdict(deque)
        self.first = self.last = 0.0
        self.times: list[float] = []
        self.who: list[str] = []

    async def send(self, request: web.Request) -> web.Response:
        data = await request.json()
        now = time.monotonic()
        for q in (self.all, self.per[data["chat"]]):
            while q and now - q[0] >= 1.0:
                q.popleft()
        if len(self.all) >= OVERALL or len(self.per[data["chat"]]) >= PER_CHAT:
            self.throttled += 1
            self.kinds["overall" if len(self.all) >= OVERALL else "per chat"] += 1
            return web.json_response({"ok": False, "error_code": 429, "parameters": {"retry_after": 1}}, status=429)
        self.all.append(now)
        self.per[data["chat"]].append(now)
        self.first = self.first or now
        self.last = now
        self.times.append(now)
        self.who.append(request.headers.get("X-Instance", ""))
        self.ok += 1
        self.received[data["text"]] += 1
        return web.json_response({"ok": True})


class HttpChannel:
    name = "bench"

    def __init__(self, url: str, session: aiohttp.ClientSession) -> None:
        self.url, self.session = url, session

    async def send(self, address: str, reply: Reply) -> None:
        async with self.session.post(self.url, json={"chat": address, "text": reply.text},
                                     headers={"X-Instance": str(os.getpid())}) as r:
            if r.status == 429:
                raise DeliveryError("429", retry_after=(await r.json())["parameters"]["retry_after"])
            r.raise_for_status()


def fresh_database(url: str | None) -> str:
    """A new migrated database: a SQLite file, or the PostgreSQL database of ``url`` recreated."""
    if url is None:
        url = f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    else:
        name = make_url(url).database
        admin = create_engine(make_url(sync_url(url)).set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            c.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    migrate.upgrade(url)
    return url


async def fill(sm, messages: int, chats: int) -> None:  # type: ignore[no-untyped-def]
    clock = SystemClock()
    async with sm() as s, s.begin():
        idents = []
        for i in range(chats):
            st = Staff(login=f"b{i}", name=f"b{i}", role_rows=[StaffRole(role="field")])
            s.add(st)
            await s.flush()
            ident = ChatIdentity(staff_id=st.id, channel="bench", external_id=f"chat{i}", bound_at=clock.now())
            s.add(ident)
            idents.append(ident)
        await s.flush()
        for n in range(messages):
            s.add(Outbox(channel="bench", identity_id=idents[n % chats].id, kind="bench", payload={"text": f"m{n}"},
                         next_attempt_at=clock.now(), created_at=clock.now()))


def make_worker(sm, http: aiohttp.ClientSession, port: int, url: str) -> DeliveryWorker:  # type: ignore[no-untyped-def]
    cfg = Config(database_url=url)
    return DeliveryWorker(sm, {"bench": HttpChannel(f"http://127.0.0.1:{port}/send", http)}, Sealer(cfg.keyring),
                          SystemClock(), cfg, limits={"bench": Limits(OVERALL, 1.0, PER_CHAT, 1.0)}, poll_seconds=0.05)


async def worker_process(url: str, port: int) -> None:
    """One instance: the worker's service loop until SIGTERM; prints what it sent."""
    engine = make_engine(url)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    parent = os.getppid()

    async def orphaned() -> None:  # the measuring process died: never keep sending into a later run
        while os.getppid() == parent:
            await asyncio.sleep(0.5)
        stop.set()

    watch = asyncio.create_task(orphaned())
    async with aiohttp.ClientSession() as http:
        worker = make_worker(make_sessionmaker(engine), http, port, url)
        await worker.start()
        print("ready", flush=True)
        await stop.wait()
        watch.cancel()
        await worker.stop()
        shared = [p.shared for p in worker._pacers.values() if p.shared is not None]
        print(f"sent {worker.sent}, released {getattr(worker, 'released', '?')} (window slots taken {sum(s.taken for s in shared)}, "
              f"in {sum(s.looks for s in shared)} looks)", flush=True)
    await engine.dispose()


async def phase(messages: int, chats: int, instances: int, url: str | None) -> tuple[float, int, int, int]:
    url = fresh_database(url)
    engine = make_engine(url)
    sm = make_sessionmaker(engine)
    standin = StandIn()
    app = web.Application()
    app.router.add_post("/send", standin.send)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    procs: list[asyncio.subprocess.Process] = []
    notes: list[str] = []
    async with aiohttp.ClientSession() as http:
        worker = None
        if instances == 0:  # in this process, as `lianzu run` runs it
            await fill(sm, messages, chats)
            worker = make_worker(sm, http, port, url)
            t, t0 = time.perf_counter(), time.monotonic()
            await worker.start()
        else:
            env = {**os.environ, "PYTHONPATH": str(ROOT)}
            for _ in range(instances):
                procs.append(await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "benchmarks.delivery_bench", "--worker", "--url", url, "--port", str(port),
                    cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE))
            for p in procs:
                assert p.stdout is not None
                assert (await p.stdout.readline()).strip() == b"ready"
            await fill(sm, messages, chats)
            t, t0 = time.perf_counter(), time.monotonic()
        last, stalled = standin.ok, time.perf_counter()
        while standin.ok < messages:
            await asyncio.sleep(0.01)
            if standin.ok != last:
                last, stalled = standin.ok, time.perf_counter()
            elif time.perf_counter() - stalled > 30:  # stuck: say where, then stop
                async with sm() as s:
                    rows = (await s.execute(select(Outbox.status, func.count()).group_by(Outbox.status))).all()
                print(f"  STALLED at {standin.ok} of {messages}: outbox {dict(rows)}")  # type: ignore[arg-type]
                break
        elapsed = time.perf_counter() - t
        await asyncio.sleep(0.5)  # anything sent twice would arrive now
        if worker is not None:
            await worker.stop()
            shared = [p.shared for p in worker._pacers.values() if p.shared is not None]
            if shared:
                notes.append(f"sent {worker.sent} (window slots taken {sum(s.taken for s in shared)}, "
                             f"in {sum(s.looks for s in shared)} looks)")
        for p in procs:
            p.send_signal(signal.SIGTERM)
            out, _ = await p.communicate()
            notes.append(out.decode().strip())
        async with sm() as s:
            unsent = await s.scalar(select(func.count()).select_from(Outbox).where(Outbox.status != "sent"))
    await runner.cleanup()
    await engine.dispose()
    missing = sum(1 for n in range(messages) if not standin.received[f"m{n}"])
    duplicates = sum(k - 1 for k in standin.received.values() if k > 1)
    fraction = messages / elapsed / OVERALL
    # From the first arrival to the last: the rate while sending, without start-up.
    steady = (messages - 1) / (standin.last - standin.first) / OVERALL if standin.last > standin.first else 0.0
    print(f"  {messages} messages to {chats} chats in {elapsed:.2f} s: {messages / elapsed:.1f} msg/s = "
          f"{fraction:.3f} of the limit (first to last arrival {steady:.3f}); throttled {standin.throttled} "
          f"{dict(standin.kinds)}, duplicates {duplicates}, missing {missing}, rows not marked sent {unsent}"
          + (f"; instances: {', '.join(notes)}" if notes else ""))
    if standin.times:  # arrivals per second since the fill: where the time went
        per = Counter(int(x - t0) for x in standin.times)
        print("  arrivals per second: " + " ".join(str(per[k]) for k in range(max(per) + 1)))
        if instances:
            for w in sorted(set(standin.who)):
                pw = Counter(int(x - t0) for x, y in zip(standin.times, standin.who, strict=True) if y == w)
                print(f"    {w:>8}: " + " ".join(str(pw[k]) for k in range(max(per) + 1)))
        # How long each slot of the window took to come round: a full window's span apart
        # (the limit's period) is the best a strict window allows; the rest is slack.
        ts = standin.times
        gaps = sorted(ts[i] - ts[i - OVERALL] for i in range(OVERALL, len(ts)))
        if gaps:
            q = [gaps[int(f * (len(gaps) - 1))] for f in (0.0, 0.5, 0.9, 0.99)]
            print(f"  arrival n to n+{OVERALL}: min {q[0]:.3f}, median {q[1]:.3f}, p90 {q[2]:.3f}, p99 {q[3]:.3f} s")
    return fraction, standin.throttled, duplicates, missing


async def main(messages: int, chats: int, repeat: int, kinds: list[int], url: str | None) -> None:
    if url is not None:
        # Two runs on one database drop it under each other: workers of one then send into the
        # other's stand-in, which looks like messages marked sent but never received, or a stall.
        admin = create_engine(make_url(sync_url(url)).set(database="postgres"), isolation_level="AUTOCOMMIT")
        hold = admin.connect()
        if not hold.execute(text("SELECT pg_try_advisory_lock(hashtext(:n))"), {"n": f"bench:{make_url(url).database}"}).scalar():
            sys.exit(f"another benchmark run is using the database {make_url(url).database}: wait, or give another --url")
    # Several kinds (e.g. one worker and three instances) run interleaved, round by round: each
    # meets the same load on the machine, and the one worker shows what the machine allows then.
    results: dict[int, list[tuple[float, int, int, int]]] = {k: [] for k in kinds}
    for _ in range(repeat):
        for k in kinds:
            print(f"{k} instances:" if k else "one worker in the process:")
            results[k].append(await phase(messages, chats, k, url))
    for k, rs in results.items():
        fr = [r[0] for r in rs]
        who = f"{k} instances together" if k else "one worker"
        print(f"fraction of the limit ({OVERALL} msg/s overall, {PER_CHAT}/s per chat), {who}, {repeat} runs: "
              f"min {min(fr):.3f}, median {statistics.median(fr):.3f} (target ≥ 0.95, ≤ 1); "
              f"throttling errors {sum(r[1] for r in rs)}, duplicates {sum(r[2] for r in rs)}, "
              f"missing {sum(r[3] for r in rs)} (target 0 each)")
    if url is not None:
        hold.close()
        admin.dispose()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=600)
    ap.add_argument("--chats", type=int, default=60)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--instances", default="0",
                    help="worker processes sharing one PostgreSQL database (needs --url); 0: one worker in this "
                         "process; several, comma-separated (0,3): phases of each, interleaved")
    ap.add_argument("--url", help="PostgreSQL URL of a database to recreate for each phase (default: a SQLite file)")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        asyncio.run(worker_process(a.url, a.port))
    else:
        kinds = [int(k) for k in a.instances.split(",")]
        if any(kinds) and not (a.url or "").startswith("postgresql"):
            ap.error("--instances needs --url postgresql+asyncpg://…: several instances share PostgreSQL, not SQLite")
        asyncio.run(main(a.messages, a.chats, a.repeat, kinds, a.url))
