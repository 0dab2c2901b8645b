"""lianzu keys rotate | keys status."""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.settings import Settings
from storage.crypto import Sealer, UnknownKeyError
from storage.db import make_engine, make_sessionmaker
from storage.keys import keys_in_use, rotate


def register(sub: argparse._SubParsersAction) -> None:
    keys = sub.add_parser("keys", help="encryption keys")
    ks = keys.add_subparsers(dest="keys_command", required=True)
    rot = ks.add_parser("rotate", help="re-encrypt everything under the first key in LIANZU_ENCRYPTION_KEYS")
    rot.set_defaults(func=cmd_keys_rotate)
    st = ks.add_parser("status", help="how many sealed rows each key id still holds")
    st.set_defaults(func=cmd_keys_status)


def cmd_keys_rotate(settings: Settings, args: argparse.Namespace) -> int:
    sealer = Sealer(settings.keyring)

    async def go() -> dict[str, int]:
        engine = make_engine(settings.database_url)
        try:
            return await rotate(make_sessionmaker(engine), sealer)
        finally:
            await engine.dispose()

    try:
        counts = asyncio.run(go())
    except UnknownKeyError as exc:
        print(f"Some data is sealed under key {exc.args[0]!r}, which is not in LIANZU_ENCRYPTION_KEYS. "
              "Add it (after the new key) and run again; rows already re-encrypted stay done.", file=sys.stderr)
        return 2
    total = sum(counts.values())
    for table, n in counts.items():
        print(f"{table}: {n} re-encrypted")
    print(f"done: {total} rows now under key {sealer.current_key_id!r}; keys other than it can be removed")
    return 0


def cmd_keys_status(settings: Settings, args: argparse.Namespace) -> int:
    async def go() -> dict[str, int]:
        engine = make_engine(settings.database_url)
        try:
            return await keys_in_use(make_sessionmaker(engine))
        finally:
            await engine.dispose()

    for kid, n in sorted(asyncio.run(go()).items()):
        print(f"{kid}: {n} rows")
    return 0
