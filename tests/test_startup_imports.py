"""``lianzu run`` loads heavy libraries only when they are used (issue 15 item 6): on an
up-to-date database no Alembic (with Mako and Pygments), and until something is sealed or a unit
searched, no cryptography and no rapidfuzz. The migration scripts' heads are read without
Alembic and agree with it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from alembic.script import ScriptDirectory

from storage import migrate
from storage.db import make_engine
from tests.conftest import TEST_KEYS, TEST_SALT

ROOT = Path(__file__).resolve().parent.parent

# As ``python -m bot run`` does: every sub-command module is imported to build the parser.
START = """
import asyncio, importlib, json, sys
from bot.commands import MODULES
for name in MODULES:
    importlib.import_module(name)
from bot.settings import load_settings
from bot.app import build_app, check_key_ids, prepare_database
from bot.services import start_services

async def main():
    settings = load_settings()
    await prepare_database(settings)
    await check_key_ids(settings)
    app = build_app(settings)
    await start_services(app)
    loaded = sorted({m.split(".")[0] for m in sys.modules})
    await app.close()
    print(json.dumps(loaded))

asyncio.run(main())
"""


def test_script_heads_read_without_alembic_agree_with_alembic() -> None:
    script = ScriptDirectory.from_config(migrate.alembic_config("sqlite+aiosqlite:///unused.db"))
    assert migrate.script_heads() == set(script.get_heads())


async def test_at_head_tells_an_up_to_date_database_from_an_empty_one(templates) -> None:  # type: ignore[no-untyped-def]
    current, empty = make_engine(templates.fresh("empty")), make_engine(templates.fresh("empty"))
    try:
        assert await migrate.at_head(current)
        migrate.downgrade(str(empty.url.render_as_string(hide_password=False)), "base")
        assert not await migrate.at_head(empty)
    finally:
        await current.dispose()
        await empty.dispose()


def test_a_start_on_an_up_to_date_database_loads_no_alembic_cryptography_or_rapidfuzz(templates) -> None:  # type: ignore[no-untyped-def]
    url = templates.fresh("demo")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIANZU_")}
    env.update(LIANZU_DATABASE_URL=url, LIANZU_LOG_LEVEL="WARNING", LIANZU_CONSOLE="false",
               LIANZU_INSTALLATION_SALT=TEST_SALT, LIANZU_ENCRYPTION_KEYS=TEST_KEYS)
    proc = subprocess.run([sys.executable, "-c", START], capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    loaded = set(json.loads(proc.stdout.strip().splitlines()[-1]))
    assert {"bot", "handlers", "sqlalchemy", "apscheduler"} <= loaded  # it really started
    assert not loaded & {"alembic", "mako", "pygments", "cryptography", "rapidfuzz", "matplotlib", "PIL", "openpyxl", "pypinyin"}
