"""lianzu staff invite|bindings|revoke|deactivate|reactivate, lianzu audit verify."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from bot.commands import cli_log
from bot.commands.keys import cmd_audit_rekey
from bot.settings import Settings
from handlers.app import make_deps
from handlers.cases import binding
from handlers.clock import SystemClock
from handlers.uow import UnitOfWork
from storage import audit
from storage.crypto import Sealer
from storage.db import make_engine, make_sessionmaker
from storage.models import Staff


def register(sub: argparse._SubParsersAction) -> None:
    staff = sub.add_parser("staff", help="staff accounts and their chats")
    ss = staff.add_subparsers(dest="staff_command", required=True)
    inv = ss.add_parser("invite", help="print a one-time code; the person sends /bind CODE from their chat")
    inv.add_argument("login")
    inv.set_defaults(func=cmd_invite)
    ls = ss.add_parser("bindings", help="list linked chats")
    ls.set_defaults(func=cmd_bindings)
    rv = ss.add_parser("revoke", help="unlink a staff member's chats")
    rv.add_argument("login")
    rv.add_argument("--channel")
    rv.set_defaults(func=cmd_revoke)
    de = ss.add_parser("deactivate", help="stop a staff member's access at once (chats blocked, codes destroyed, "
                                          "leads and supervisors told of open cases); history is kept")
    de.add_argument("login")
    de.set_defaults(func=cmd_deactivate)
    re_ = ss.add_parser("reactivate", help="allow a deactivated staff member again (they bind with a new code)")
    re_.add_argument("login")
    re_.set_defaults(func=cmd_reactivate)

    au = sub.add_parser("audit", help="the audit trail")
    aus = au.add_subparsers(dest="audit_command", required=True)
    v = aus.add_parser("verify", help="check the hash chain; report the first tampered or missing entry")
    v.add_argument("--expect-count", type=int, help="entry count printed by an earlier run (detects truncation)")
    v.add_argument("--expect-head", help="head hash printed by an earlier run")
    v.add_argument("--against-digest", metavar="HEAD:COUNT",
                   help="the audit anchor from a daily digest (detects deleted or rewritten entries since then)")
    v.set_defaults(func=cmd_verify)
    rk = aus.add_parser("rekey", help="re-sign a trail begun before the audit key existed (checked first)")
    rk.add_argument("--against-digest", metavar="HEAD:COUNT",
                    help="the newest audit anchor from a digest: proves the keyed part was not rewritten")
    rk.add_argument("--dry-run", action="store_true", help="check and count, change nothing")
    rk.set_defaults(func=cmd_audit_rekey)

T = TypeVar("T")


def _run(settings: Settings, fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def go() -> T:
        engine = make_engine(settings.database_url)
        try:
            async with make_sessionmaker(engine)() as session, session.begin():
                return await fn(session)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def run_uow(settings: Settings, fn: Callable[[UnitOfWork], Awaitable[T]]) -> T:
    """A unit of work like the running program's, for actions that queue notices."""
    async def go() -> T:
        engine = make_engine(settings.database_url)
        try:
            deps = make_deps(settings, make_sessionmaker(engine), SystemClock(), Sealer(settings.keyring))
            async with deps.begin() as uow:
                return await fn(uow)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def cmd_invite(settings: Settings, args: argparse.Namespace) -> int:
    now = datetime.now(UTC)
    async def go(s: AsyncSession) -> str | None:
        code = await binding.invite(s, args.login, now=now, ttl=timedelta(hours=settings.invite_ttl_hours),
                                    salt=settings.salt)
        await cli_log(s, settings, "invite", login=args.login[:64], issued=code is not None)
        return code

    code = _run(settings, go)
    if code is None:
        print(f"No active staff member with login {args.login!r}.")
        return 2
    print(f"One-time code for {args.login}: {code}")
    print(f"Valid for {settings.invite_ttl_hours:g} hours. In their chat: /bind {code}")
    return 0


def cmd_bindings(settings: Settings, args: argparse.Namespace) -> int:
    rows = _run(settings, binding.bindings)
    for ident, staff in rows:
        print(f"{staff.login}\t{staff.name}\t{ident.channel}\t{ident.bound_at:%Y-%m-%d}" + ("\tblocked" if ident.blocked_at else ""))
    if not rows:
        print("No chats are linked.")
    return 0


def cmd_revoke(settings: Settings, args: argparse.Namespace) -> int:
    async def go(s: AsyncSession) -> int:
        n = await binding.revoke(s, args.login, args.channel)
        await cli_log(s, settings, "revoke", login=args.login[:64], channel=args.channel, n=n)
        return n

    n = _run(settings, go)
    print(f"{n} linked chats removed for {args.login}.")
    return 0 if n else 1


def cmd_deactivate(settings: Settings, args: argparse.Namespace) -> int:
    async def go(uow: UnitOfWork) -> binding.Deactivation | None:
        done = await binding.deactivate(uow, args.login)
        await cli_log(uow.session, settings, "deactivate", login=args.login[:64], done=done is not None,
                      open_cases=len(done.open_cases) if done else 0)
        return done

    done = run_uow(settings, go)
    if done is None:
        print(f"No staff member with login {args.login!r}. Nothing was changed.")
        return 2
    # Case references are need-to-know: the leads and supervisors who may see them were told.
    print(f"{args.login} deactivated: {done.chats} linked chats blocked, outstanding codes destroyed.")
    print(f"Open cases needing a replacement: {len(done.open_cases)} ({done.told} notices queued to their leads "
          "and supervisors).")
    return 0


def cmd_reactivate(settings: Settings, args: argparse.Namespace) -> int:
    async def go(s: AsyncSession) -> Staff | None:
        staff = await binding.reactivate(s, args.login)
        await cli_log(s, settings, "reactivate", login=args.login[:64], done=staff is not None)
        return staff

    staff = _run(settings, go)
    if staff is None:
        print(f"No staff member with login {args.login!r}. Nothing was changed.")
        return 2
    print(f"{args.login} is active again; they bind their chats with a new code (lianzu staff invite).")
    return 0


def cmd_verify(settings: Settings, args: argparse.Namespace) -> int:
    try:
        anchor = audit.Anchor.parse(args.against_digest) if args.against_digest else None
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    result = _run(settings, lambda s: audit.verify(s, key=settings.audit_mac_key, expect_count=args.expect_count,
                                                   expect_head=args.expect_head, against=anchor))
    if result.ok:
        print(f"audit trail intact: {result.checked} entries, head {result.head}")
        print(f"keep for the next check: --expect-count {result.checked} --expect-head {result.head}")
        return 0
    where = f"at entry {result.first_bad_id}" if result.first_bad_id else "at the end"
    print(f"audit trail BROKEN {where}: {result.problem}")
    return 1
