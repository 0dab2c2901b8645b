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


def cmd_audit_rekey(settings: Settings, args: argparse.Namespace) -> int:
    """``lianzu audit rekey``: a trail begun before the audit key existed is checked as it stands,
    then re-signed under the key; the re-signing is itself recorded (old head and counts)."""
    from storage import audit

    try:
        anchor = audit.Anchor.parse(args.against_digest) if args.against_digest else None
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2

    async def go() -> audit.RekeyResult:
        engine = make_engine(settings.database_url)
        try:
            async with make_sessionmaker(engine)() as session, session.begin():
                before = await audit.anchor(session)
                result = await audit.rekey(session, key=settings.audit_mac_key, against=anchor,
                                           apply=not args.dry_run)
                if result.ok and result.plain and not args.dry_run:
                    await cli_log(session, settings, "audit_rekey", plain=result.plain, keyed=result.keyed,
                                  old_head=result.old_head, old_count=before.count)
                return result
        finally:
            await engine.dispose()

    result = asyncio.run(go())
    if not result.ok:
        where = f"at entry {result.first_bad_id}" if result.first_bad_id else "at the end"
        print(f"audit trail BROKEN {where}: {result.problem}. Nothing was changed.", file=sys.stderr)
        return 1
    if not result.plain:
        print(f"nothing to re-sign: all {result.keyed} entries are already under the audit key")
        return 0
    if args.dry_run:
        print(f"would re-sign {result.plain} entries of the old plain chain and re-chain {result.keyed} keyed ones "
              f"(old head {result.old_head}); run again without --dry-run")
        return 0
    print(f"re-signed {result.plain} entries of the old plain chain and re-chained {result.keyed} keyed ones "
          f"under the audit key (old head {result.old_head}, recorded in the trail). Anchors from earlier "
          "digests no longer apply; check against the next digest's.")
    return 0
