"""Start-up: settings → database (migrated, demo loaded) → dispatcher → channels and services."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.channels import registry
from bot.channels.base import ChannelSpec, OutputChannel, Service
from bot.settings import Settings
from handlers.app import make_deps, make_dispatcher
from handlers.clock import Clock, SystemClock
from handlers.config import DEMO_KEYS, DEMO_SALT
from handlers.deps import Deps
from handlers.dispatcher import Dispatcher
from storage import migrate
from storage.crypto import Sealer
from storage.db import make_engine, make_sessionmaker, private_sqlite_file
from storage.keys import unknown_key_ids
from storage.models import Staff

if TYPE_CHECKING:
    from bot.web import WebServer

log = logging.getLogger("lianzu")
DEMO_ORG = Path(__file__).resolve().parent.parent / "storage" / "demo" / "org-demo.yaml"
DEMO_CAMPAIGN = DEMO_ORG.with_name("campaign-demo.yaml")


@dataclass
class App:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    deps: Deps
    dispatcher: Dispatcher
    # Every channel there is (the registry's list); the settings decide which ones start.
    channel_specs: tuple[ChannelSpec, ...] = ()
    # Channels that can push (outbox delivery), by channel name.
    channels: dict[str, OutputChannel] = field(default_factory=dict)
    services: list[Service] = field(default_factory=list)

    def web(self) -> WebServer:
        """The one web server (webhooks, callbacks), created by the first channel that asks;
        it is the first service, so it listens before a channel tells its platform where to post."""
        from bot.web import WebServer  # aiohttp's server side: only when a channel receives posts

        for s in self.services:
            if isinstance(s, WebServer):
                return s
        web = WebServer(self.settings.web_host, self.settings.web_port)
        self.services.insert(0, web)
        return web

    async def close(self) -> None:
        for s in reversed(self.services):
            try:
                await s.stop()
            except Exception:  # stopping one must not keep the others running
                log.exception("stopping %s failed", s.name)
        await self.engine.dispose()


async def prepare_database(settings: Settings) -> None:
    """Apply migrations; on an empty organisation load the configured or demo file."""
    private_sqlite_file(settings.database_url)  # the check below may be the first to open the file
    engine = make_engine(settings.database_url)
    try:
        # Alembic only when there is something to apply: loaded, it stays resident (~10 MiB).
        if not await migrate.at_head(engine):
            await asyncio.to_thread(migrate.upgrade, settings.database_url)
        org_path = settings.org_file or (DEMO_ORG if settings.demo_org else None)
        if org_path is None:
            return
        sm = make_sessionmaker(engine)
        async with sm() as session:
            if await session.scalar(select(func.count()).select_from(Staff)):
                return
        from storage.orgfile import import_org_batched, load_org_file  # YAML: only for this first load

        # In batches: a large organisation must not hold the database's writer for minutes.
        stats = await import_org_batched(sm, load_org_file(Path(org_path)))
        log.info("organisation loaded from %s: %d rows", org_path.name, stats["added"])
        if org_path == DEMO_ORG:
            await load_demo_campaign(settings, engine)
            await load_demo_cases(settings, engine)
    finally:
        await engine.dispose()


class StartupRefused(Exception):
    """Start-up must not go on; the message says what to set or do."""


GENERATE = {
    "LIANZU_INSTALLATION_SALT": 'python -c "import secrets; print(secrets.token_urlsafe(32))"',
    "LIANZU_ENCRYPTION_KEYS": 'python -c "import base64, os; print(\'k1:\' + base64.b64encode(os.urandom(32)).decode())"',
}


def check_secrets(settings: Settings) -> None:
    """With a real channel on, the built-in demo salt and key (public, in the source) are refused:
    anyone could then link receipts and chats and decrypt every tip."""
    channels = [spec.name for spec in registry.CHANNELS if spec.name != "console" and spec.enabled(settings)]
    if not channels:
        return
    demo = []
    if settings.installation_salt.get_secret_value() == DEMO_SALT:
        demo.append("LIANZU_INSTALLATION_SALT")
    if settings.encryption_keys.get_secret_value() == DEMO_KEYS:
        demo.append("LIANZU_ENCRYPTION_KEYS")
    if demo:
        raise StartupRefused(
            f"Refusing to start: the {', '.join(channels)} channel is configured but "
            f"{' and '.join(demo)} {'is' if len(demo) == 1 else 'are'} the built-in demo value, which is public. "
            "Generate your own and keep them safe (losing them loses every tip):\n"
            + "\n".join(f"  {name}: {GENERATE[name]}" for name in demo))


async def check_key_ids(settings: Settings) -> None:
    """Every key id the database holds values under must be configured; otherwise those values
    could never be opened and every read of them would fail later, far from the cause."""
    engine = make_engine(settings.database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            missing = await unknown_key_ids(session, set(settings.keyring))
    finally:
        await engine.dispose()
    if missing:
        raise StartupRefused(
            "Refusing to start: the database holds values sealed under "
            + ", ".join(f"key {kid!r} ({', '.join(tables)})" for kid, tables in sorted(missing.items()))
            + ", not in LIANZU_ENCRYPTION_KEYS. Add the missing key (after the current one) and start again; "
            "then `lianzu keys rotate` re-seals everything under the current key.")


async def load_demo_campaign(settings: Settings, engine: AsyncEngine) -> None:
    """With the demo organisation, a running campaign, so a newcomer sees its subgroups at once."""
    import yaml

    from handlers.campaigns import filespec, service

    deps = make_deps(settings, make_sessionmaker(engine), SystemClock(), Sealer(settings.keyring))
    async with deps.begin() as uow:
        c = await filespec.create_from(uow, yaml.safe_load(DEMO_CAMPAIGN.read_text(encoding="utf-8")))
        sup = await uow.session.scalar(select(Staff).where(Staff.login == "sup1"))
        if sup is not None:
            await service.confirm(uow, sup, c)
        log.info("demo campaign %s loaded", c.reference)


async def load_demo_cases(settings: Settings, engine: AsyncEngine) -> None:
    """With the demo organisation, a case in each state and a declared conflict waiting for an
    administrator (handlers/cases/demo.py)."""
    from handlers.cases import demo

    deps = make_deps(settings, make_sessionmaker(engine), SystemClock(), Sealer(settings.keyring))
    async with deps.begin() as uow:
        made = await demo.seed(uow)
    log.info("demo cases loaded: %s", ", ".join(f"{c.reference} {c.state}" for c in made))


def build_app(settings: Settings, *, clock: Clock | None = None) -> App:
    engine = make_engine(settings.database_url)
    sm = make_sessionmaker(engine)
    specs = registry.CHANNELS
    deps = make_deps(settings, sm, clock or SystemClock(), Sealer(settings.keyring),
                     platform_notes=registry.platform_notes(specs), forget_notes=registry.forget_notes(specs))
    return App(settings=settings, engine=engine, sessionmaker=sm, deps=deps, dispatcher=make_dispatcher(deps),
               channel_specs=specs)
