"""The restore drill from docs/operations.md: back the database up with the database's own tool,
wipe it, restore it, and the system still works — receipts still open their reports and the
audit trail still verifies. Without the keys, a restored database is of no use."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from handlers.app import make_deps, make_dispatcher
from handlers.clock import ManualClock
from handlers.deps import Deps
from storage.crypto import Sealer
from storage.db import make_engine, make_sessionmaker, sync_url
from tests.conftest import TEST_KEYS, TEST_SALT, make_config
from tests.fakes import Chat
from tests.reporter.conftest import file_anonymous_tip

ROOT = Path(__file__).resolve().parent.parent


def _libpq(url: str) -> str:
    """postgresql+asyncpg://… → postgresql://… for pg_dump and pg_restore."""
    return make_url(sync_url(url)).set(drivername="postgresql").render_as_string(hide_password=False)


def backup(url: str, dest: Path) -> None:
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        # SQLite's online backup (what `sqlite3 lianzu.db ".backup FILE"` does): consistent with WAL.
        with sqlite3.connect(u.database or "") as src, sqlite3.connect(dest) as dst:
            src.backup(dst)
    else:
        subprocess.run(["pg_dump", "--format=custom", f"--file={dest}", _libpq(url)], check=True)


def wipe(url: str) -> None:
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path((u.database or "") + suffix).unlink(missing_ok=True)
        return
    admin = create_engine(make_url(sync_url(url)).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE "{u.database}" WITH (FORCE)'))
        c.execute(text(f'CREATE DATABASE "{u.database}"'))
    admin.dispose()


def restore(url: str, src: Path) -> None:
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        with sqlite3.connect(src) as s, sqlite3.connect(u.database or "") as dst:
            s.backup(dst)
    else:
        subprocess.run(["pg_restore", "--no-owner", f"--dbname={_libpq(url)}", str(src)], check=True)


def audit_verify(url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LIANZU_DATABASE_URL": url, "LIANZU_INSTALLATION_SALT": TEST_SALT,
           "LIANZU_ENCRYPTION_KEYS": TEST_KEYS, "LIANZU_DEMO_ORG": "false", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "bot", "audit", "verify"], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


async def test_dump_wipe_restore_and_receipts_and_audit_still_work(deps: Deps, chat, staff_chat, tmp_path: Path) -> None:
    receipt = await file_anonymous_tip(chat())
    lead = await staff_chat("o02-lead")
    await lead.send("/my")  # leaves entries in the audit trail
    url = deps.config.database_url
    before = audit_verify(url)
    assert before.returncode == 0, before.stdout + before.stderr

    dump = tmp_path / "lianzu.backup"
    backup(url, dump)
    await deps.sessionmaker.kw["bind"].dispose()
    wipe(url)
    restore(url, dump)

    # A fresh process's view of the restored database, with the same keys and salt.
    engine = make_engine(url)
    cfg = make_config(url)
    clock = ManualClock(deps.clock.now())
    again = make_deps(cfg, make_sessionmaker(engine), clock, Sealer(cfg.keyring))
    try:
        c = Chat(make_dispatcher(again), external_id="reporter-after-restore")
        assert "等待受理" in c.text(await c.send(f"/check {receipt}"))
        after = audit_verify(url)
        assert after.returncode == 0 and "intact" in after.stdout, after.stdout + after.stderr

        # The keys are half of the backup: with another salt the same receipt opens nothing.
        other = cfg.model_copy(update={"installation_salt": SecretStr("another-installation-salt-0000")})
        stranger = make_deps(other, make_sessionmaker(engine), clock, Sealer(cfg.keyring))
        s = Chat(make_dispatcher(stranger), external_id="reporter-other-keys")
        assert "等待受理" not in s.text(await s.send(f"/check {receipt}"))
    finally:
        await engine.dispose()
