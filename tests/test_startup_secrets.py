"""Start-up refuses what would silently endanger tips: public demo secrets with a real channel on,
values sealed under a key that is not configured; and the SQLite files are private."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import inspect as sa_inspect

from storage import migrate
from storage.base import Base
from storage.db import make_engine, make_sessionmaker
from storage.keys import SEALED
from storage.models import ConversationState
from tests.conftest import TEST_KEYS, TEST_SALT

OTHER_KEYS = "k2:" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVowMTIzNDU="  # 32 bytes, tests only

CHANNEL_ENV = {
    "telegram": {"LIANZU_TELEGRAM_TOKEN": "123456:ABCDEF"},
    "wecom": {"LIANZU_WECOM_CORP_ID": "ww1", "LIANZU_WECOM_AGENT_ID": "1000002", "LIANZU_WECOM_SECRET": "s",
              "LIANZU_WECOM_TOKEN": "t", "LIANZU_WECOM_AES_KEY": "a" * 43},
}


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIANZU_")}
    env.update(LIANZU_LOG_LEVEL="WARNING", **extra)
    return env


def _run(tmp_path: Path, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", "run"], input=stdin, capture_output=True, text=True,
                          cwd=tmp_path, env=env, timeout=120)


@pytest.mark.parametrize("channel", sorted(CHANNEL_ENV))
@pytest.mark.parametrize("own", ["none", "salt", "keys"])
def test_a_real_channel_refuses_the_demo_secrets(tmp_path: Path, channel: str, own: str) -> None:
    extra = dict(CHANNEL_ENV[channel])
    if own == "salt":
        extra["LIANZU_INSTALLATION_SALT"] = TEST_SALT
    if own == "keys":
        extra["LIANZU_ENCRYPTION_KEYS"] = TEST_KEYS
    proc = _run(tmp_path, _env(**extra))
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert ("LIANZU_INSTALLATION_SALT" in proc.stderr) == (own != "salt")
    assert ("LIANZU_ENCRYPTION_KEYS" in proc.stderr) == (own != "keys")
    assert "os.urandom(32)" in proc.stderr or "token_urlsafe" in proc.stderr  # how to make them
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "lianzu.db").exists()  # refused before anything was created


def test_every_table_with_a_key_id_is_checked() -> None:
    checked = {model.__tablename__ for model, _col, _cols in SEALED}
    with_key_id = {t.name for t in Base.metadata.sorted_tables if "key_id" in t.c}
    assert with_key_id == checked


async def test_values_under_an_unconfigured_key_stop_start_up_naming_it(tmp_path: Path, demo_db_url: str) -> None:
    url = demo_db_url
    engine = make_engine(url)
    async with make_sessionmaker(engine)() as s, s.begin():
        s.add(ConversationState(key="x" * 64, conversation="tip", step="details", data={}, key_id="gone-2024",
                                sealed=b"\0" * 40, token="t", updated_at=datetime.now(UTC)))
    await engine.dispose()
    proc = _run(tmp_path, _env(LIANZU_DATABASE_URL=url, LIANZU_ENCRYPTION_KEYS=OTHER_KEYS,
                               LIANZU_INSTALLATION_SALT=TEST_SALT), "/quit\n")
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "'gone-2024'" in proc.stderr and "conversation_states" in proc.stderr
    assert "LIANZU_ENCRYPTION_KEYS" in proc.stderr and "Traceback" not in proc.stderr


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


async def test_sqlite_files_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    old = os.umask(0o022)  # the usual umask: files would be world-readable by default
    try:
        db = tmp_path / "lianzu.db"
        url = f"sqlite+aiosqlite:///{db}"
        migrate.upgrade(url)
        engine = make_engine(url)
        async with make_sessionmaker(engine)() as s, s.begin():
            s.add(ConversationState(key="y" * 64, data={}, token="t", updated_at=datetime.now(UTC)))
            async with engine.connect() as c:
                await c.run_sync(lambda sync: sa_inspect(sync).get_table_names())
            sides = [Path(str(db) + suffix) for suffix in ("-wal", "-shm")]
            assert all(p.exists() for p in sides)
            assert [_mode(p) for p in (db, *sides)] == [0o600] * 3
        await engine.dispose()
        # An existing world-readable file is tightened when opened.
        os.chmod(db, 0o644)
        engine = make_engine(url)
        await engine.dispose()
        assert _mode(db) == 0o600
    finally:
        os.umask(old)


def test_lianzu_run_makes_its_files_private(tmp_path: Path) -> None:
    proc = _run(tmp_path, _env(), "/help\n/quit\n")
    assert proc.returncode == 0, proc.stderr[-2000:]
    files = [p for p in tmp_path.iterdir() if p.name.startswith("lianzu.db")]
    assert {p.name for p in files} >= {"lianzu.db", "lianzu.db-jobs"}
    assert {p.name: _mode(p) for p in files} == {p.name: 0o600 for p in files}
