"""`lianzu run` as an operator starts it: a real process on an empty database, talked to
through the console."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from storage.db import make_engine, make_sessionmaker
from storage.models import Office, Staff

ROOT = Path(__file__).resolve().parent.parent


async def test_run_on_an_empty_database_migrates_loads_demo_and_chats(tmp_path: Path, templates) -> None:
    # An empty database (no schema at all) for this backend.
    url = templates.fresh("empty")
    from storage import migrate

    migrate.downgrade(url, "base")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIANZU_")}
    # This checkout's code, not an installed copy (the process runs in tmp_path).
    env.update(LIANZU_DATABASE_URL=url, LIANZU_LOG_LEVEL="WARNING", PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        input="/help\n/as o03-lead\n/start\n/quit\n",
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    assert "联组" in out and "可用命令" in out           # Chinese first
    assert "Now acting as o03-lead" in out               # the demo organisation is there
    assert "组长" in out
    assert "Traceback" not in proc.stderr
    engine = make_engine(url)
    async with make_sessionmaker(engine)() as s:
        assert await s.scalar(select(func.count()).select_from(Office)) == 47  # 45 stationed offices, a commission office and a local commission (the joint unit)
        assert await s.scalar(select(func.count()).select_from(Staff)) == 204  # with the joint unit's four
    await engine.dispose()


def test_wrong_setting_stops_start_up_with_its_name(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIANZU_")}
    env.update(LIANZU_TIMEZONE="Nowhere/Atlantis", PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "bot", "run"], input="", capture_output=True, text=True,
                          cwd=tmp_path, env=env, timeout=60)
    assert proc.returncode == 2
    assert "LIANZU_TIMEZONE" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "lianzu.db").exists()  # nothing was created
