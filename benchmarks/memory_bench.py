"""Resident memory (RSS) when idle and time to the first answer of the real program (`python -m
bot run` as a process), against the floor of `python -c "import aiogram, sqlalchemy"`.

Three kinds of process, started in turn and repeated (interleaved, so drift hits all alike):

- floor: imports aiogram and sqlalchemy, says "ready", waits;
- console: `bot run` on a SQLite file with the console channel; "/help" is written at once, the
  answer is awaited on its standard output;
- telegram: `bot run` with the Telegram channel on (long polling) against the local Bot API
  stand-in of tests/telegram/standin.py (no network); a "/help" update is waiting, the answer is
  the stand-in's first sendMessage.

Every Telegram run shares the database, and the product de-duplicates updates by their
update_id (kept two days), as Telegram re-delivers an update whose offset was not confirmed. A
fresh stand-in numbers its updates from the same start, so each run's update gets an id no
earlier run used: a reused id is (rightly) taken for a re-delivery and never answered.

Time counts from the process start to the first answer; RSS is read from /proc after that and a
second of idleness. Prints min and median of each and the ratios to the floor (target: RSS
≤ 1.2× the floor with Telegram on).

    .venv/bin/python -m benchmarks.memory_bench --repeat 5
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.telegram.standin import BotAPIStandIn, message

ROOT = Path(__file__).resolve().parent.parent
SALT = "memory-bench-installation-salt-0123456789"
KEYS = "b1:bWVtb3J5LWJlbmNoLWtleS0wMTIzNDU2Nzg5YWJjZGU="  # 32 bytes, this benchmark only
IDLE_S = 1.0
# update_ids no earlier Telegram run of this benchmark used (see the module's docstring).
UPDATE_IDS = itertools.count(int(time.time()))


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def env(db: Path, **extra: str) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("LIANZU_")}
    e.update(LIANZU_DATABASE_URL=f"sqlite+aiosqlite:///{db}", LIANZU_LOG_LEVEL="WARNING",
             LIANZU_INSTALLATION_SALT=SALT, LIANZU_ENCRYPTION_KEYS=KEYS, **extra)
    return e


async def read_until(stream: asyncio.StreamReader, marker: str, timeout: float = 600) -> None:
    seen = ""
    async def go() -> None:
        nonlocal seen
        while marker not in seen:
            chunk = await stream.read(4096)
            if not chunk:
                raise RuntimeError(f"output ended before {marker!r}: {seen[-500:]}")
            seen += chunk.decode(errors="replace")
    await asyncio.wait_for(go(), timeout)


async def floor() -> tuple[float, float]:
    t = time.perf_counter()
    p = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "import sys, aiogram, sqlalchemy; print('ready', flush=True); sys.stdin.readline()",
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT)
    assert p.stdout is not None and p.stdin is not None
    await read_until(p.stdout, "ready")
    took = time.perf_counter() - t
    await asyncio.sleep(IDLE_S)
    rss = rss_mib(p.pid)
    p.stdin.write(b"\n")
    await p.stdin.drain()
    await p.wait()
    return took, rss


async def console(db: Path) -> tuple[float, float]:
    t = time.perf_counter()
    p = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, cwd=ROOT, env=env(db, LIANZU_CONSOLE="true"))
    assert p.stdout is not None and p.stdin is not None
    p.stdin.write(b"/help\n")
    await p.stdin.drain()
    await read_until(p.stdout, "/check")  # the public help names /check
    took = time.perf_counter() - t
    await asyncio.sleep(IDLE_S)
    rss = rss_mib(p.pid)
    p.stdin.write(b"/quit\n")
    await p.stdin.drain()
    await asyncio.wait_for(p.wait(), 30)
    return took, rss


async def telegram(db: Path) -> tuple[float, float]:
    standin = BotAPIStandIn()
    await standin.start()
    standin.push(message(7001, "/help") | {"update_id": next(UPDATE_IDS)})
    log = db.with_suffix(".telegram.log")
    t = time.perf_counter()
    with log.open("wb") as err:
        p = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", stdin=subprocess.DEVNULL, stdout=err, stderr=err, cwd=ROOT,
            env=env(db, LIANZU_CONSOLE="false", LIANZU_TELEGRAM_TOKEN=standin.token, LIANZU_TELEGRAM_API_URL=standin.url))
    try:
        async def answered() -> None:
            while not standin.called("sendMessage"):
                if p.returncode is not None:
                    raise RuntimeError(f"bot run exited {p.returncode}: {log.read_text()[-2000:]}")
                await asyncio.sleep(0.01)
        await asyncio.wait_for(answered(), 600)
        took = time.perf_counter() - t
        await asyncio.sleep(IDLE_S)
        rss = rss_mib(p.pid)
    except TimeoutError:
        raise RuntimeError(f"no answer; calls {[c.method for c in standin.calls]}: {log.read_text()[-2000:]}") from None
    finally:
        if p.returncode is None:
            p.terminate()
            await asyncio.wait_for(p.wait(), 30)
        await standin.stop()
    return took, rss


def summary(name: str, xs: list[float], unit: str, base: list[float] | None = None) -> str:
    s = f"{name:9s} min {min(xs):7.2f} {unit}  median {statistics.median(xs):7.2f} {unit}"
    if base:
        s += (f"   ×{min(xs) / min(base):.2f} (min)  ×{statistics.median(xs) / statistics.median(base):.2f} (median)"
              " of the floor")
    return s


async def main(repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        # The first start migrates and loads the demo organisation: not measured.
        subprocess.run([sys.executable, "-m", "bot", "run"], input="/quit\n", text=True, capture_output=True,
                       cwd=ROOT, env=env(db, LIANZU_CONSOLE="true"), check=True, timeout=300)
        got: dict[str, list[tuple[float, float]]] = {"floor": [], "console": [], "telegram": []}
        for _ in range(repeat):
            got["floor"].append(await floor())
            got["console"].append(await console(db))
            got["telegram"].append(await telegram(db))
    print(f"{repeat} runs each, interleaved; RSS after the first answer and {IDLE_S:.0f} s idle")
    f_t, f_m = ([x[0] for x in got["floor"]], [x[1] for x in got["floor"]])
    for name in ("floor", "console", "telegram"):
        ts, ms = [x[0] for x in got[name]], [x[1] for x in got[name]]
        base = None if name == "floor" else f_m
        print("RSS   " + summary(name, ms, "MiB", base))
    for name in ("floor", "console", "telegram"):
        ts = [x[0] for x in got[name]]
        print("first " + summary(name, ts, "s", None if name == "floor" else f_t))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    asyncio.run(main(ap.parse_args().repeat))
