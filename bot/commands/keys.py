"""lianzu keys rotate."""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.commands import cli_log
from bot.settings import Settings
from storage.crypto import Sealer, UnknownKeyError
from storage.db import make_engine, make_sessionmaker
from storage.keys import rotate


def register(sub: argparse._SubParsersAction) -> None:
    keys = sub.add_parser("keys", help="encryption keys")
    ks = keys.add_subparsers(dest="keys_command", required=True)
    r = ks.add_parser("rotate", help="re-encrypt everything under the first key in LIANZU_ENCRYPTION_KEYS")
    r.set_defaults(func=cmd_rotate)


def cmd_rotate(settings: Settings, args: argparse.Namespace) -> int:
    sealer = Sealer(settings.keyring)

    async def go() -> dict[str, int]:
        engine = make_engine(settings.database_url)
        try:
            async with make_sessionmaker(engine)() as session, session.begin():
                counts = await rotate(session, sealer)
                await cli_log(session, settings, "keys_rotate", key=sealer.current_key_id, rows=sum(counts.values()))
                return counts
        finally:
            await engine.dispose()

    try:
        counts = asyncio.run(go())
    except UnknownKeyError as exc:
        print(f"Some data is sealed under key {exc.args[0]!r}, which is not in LIANZU_ENCRYPTION_KEYS. "
              "Add it (after the new key) and run again. Nothing was changed.", file=sys.stderr)
        return 2
    total = sum(counts.values())
    print(f"re-encrypted {total} rows under key {sealer.current_key_id!r}: "
          + ", ".join(f"{t} {n}" for t, n in counts.items() if n))
    print("The old keys can now be removed from LIANZU_ENCRYPTION_KEYS.")
    return 0
