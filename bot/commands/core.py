"""lianzu run | db upgrade | org import | i18n compile."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from bot.app import App, StartupRefused, build_app, check_key_ids, check_secrets, prepare_database
from bot.commands import cli_log
from bot.settings import Settings
from handlers.i18n import compile_catalogs
from storage import migrate
from storage.db import make_engine, make_sessionmaker
from storage.orgfile import OrgFileError, dump_org, export_org, import_org_batched, load_org_file

log = logging.getLogger("lianzu")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="start Lianzu (console channel when no token is set)")
    p.set_defaults(func=cmd_run)

    db = sub.add_parser("db", help="database schema")
    dbs = db.add_subparsers(dest="db_command", required=True)
    up = dbs.add_parser("upgrade", help="apply migrations")
    up.add_argument("revision", nargs="?", default="head")
    up.set_defaults(func=cmd_db_upgrade)

    org = sub.add_parser("org", help="organisation data")
    orgs = org.add_subparsers(dest="org_command", required=True)
    imp = orgs.add_parser("import", help="load regions, units, offices, joint groups and staff from a YAML file")
    imp.add_argument("file", type=Path)
    imp.set_defaults(func=cmd_org_import)
    exp = orgs.add_parser("export", help="write the organisation as it stands, in the import format")
    exp.add_argument("file", type=Path, nargs="?", help="where to write it (default: standard output)")
    exp.set_defaults(func=cmd_org_export)

    i18n = sub.add_parser("i18n", help="translations")
    i18ns = i18n.add_subparsers(dest="i18n_command", required=True)
    comp = i18ns.add_parser("compile", help="compile the gettext catalogs")
    comp.set_defaults(func=cmd_i18n_compile)


def cmd_db_upgrade(settings: Settings, args: argparse.Namespace) -> int:
    migrate.upgrade(settings.database_url, args.revision)
    print(f"database at {args.revision}")
    return 0


def cmd_org_import(settings: Settings, args: argparse.Namespace) -> int:
    try:
        org = load_org_file(args.file)
    except OrgFileError as exc:
        print(f"Organisation file rejected, nothing was imported:\n{exc}", file=sys.stderr)
        return 2

    async def go() -> dict[str, int]:
        await asyncio.to_thread(migrate.upgrade, settings.database_url)
        engine = make_engine(settings.database_url)
        try:
            sm = make_sessionmaker(engine)
            # In batches, so that people using the bot meanwhile are not locked out (SQLite).
            stats = await import_org_batched(sm, org)
            async with sm() as session, session.begin():
                await cli_log(session, settings, "org_import", file=args.file.name, **stats)
            return stats
        finally:
            await engine.dispose()

    stats = asyncio.run(go())
    print(f"imported {args.file}: {stats['added']} added, {stats['changed']} changed "
          f"({len(org.regions)} regions, {len(org.units)} units, {len(org.joint_groups)} joint groups, "
          f"{len(org.offices)} offices, {len(org.staff)} staff)")
    return 0


def cmd_org_export(settings: Settings, args: argparse.Namespace) -> int:
    async def go() -> str:
        engine = make_engine(settings.database_url)
        try:
            async with make_sessionmaker(engine)() as session, session.begin():
                text = dump_org(await export_org(session))
                await cli_log(session, settings, "org_export", file=str(args.file or "-"))
                return text
        finally:
            await engine.dispose()

    text = asyncio.run(go())
    if args.file is None:
        sys.stdout.write(text)
    else:
        args.file.write_text(text, encoding="utf-8")
        print(f"wrote {args.file}")
    return 0


def cmd_i18n_compile(settings: Settings, args: argparse.Namespace) -> int:
    written = compile_catalogs(force=True)
    print(f"compiled {len(written)} catalogs")
    return 0


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    return asyncio.run(run(settings))


async def run(settings: Settings) -> int:
    try:
        check_secrets(settings)
    except StartupRefused as exc:
        print(exc, file=sys.stderr)
        return 2
    if settings.uses_demo_secrets:
        log.warning("using the built-in demo salt/keys: set LIANZU_INSTALLATION_SALT and LIANZU_ENCRYPTION_KEYS in production")
    await prepare_database(settings)
    try:
        await check_key_ids(settings)
    except StartupRefused as exc:
        print(exc, file=sys.stderr)
        return 2
    app = build_app(settings)
    from bot.services import start_services  # channels and clock-driven services

    console = await start_services(app)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except NotImplementedError:  # pragma: no cover (non-Unix)
            pass
    try:
        if console is not None:
            console_task = asyncio.create_task(console.run())
            stop_task = asyncio.create_task(stop.wait())
            await asyncio.wait({console_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
            console_task.cancel()
            if not stop.is_set() and _has_other_channels(app):
                await stop.wait()  # the console closed; the other channels keep running
            stop_task.cancel()
        else:
            log.info("running; press Ctrl-C to stop")
            await stop.wait()
    finally:
        await app.close()
    return 0


def _has_other_channels(app: App) -> bool:
    return any(name != "console" for name in app.channels)
