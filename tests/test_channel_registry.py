"""Channels are wired through one registry: a new channel is its package plus one line in
``bot.channels.registry.CHANNELS``; start-up, delivery limits and the tip wizard follow."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select

from bot.app import build_app
from bot.channels import registry
from bot.channels.base import ChannelSpec, Limits
from bot.channels.memory import CollectingChannel
from bot.delivery import DeliveryWorker
from bot.services import start_services
from bot.settings import Settings, load_settings
from handlers.clock import ManualClock
from handlers.events import Reply
from handlers.i18n import N_, gettext_for
from storage.models import ChatIdentity, Staff
from tests.conftest import TEST_KEYS, TEST_SALT
from tests.fakes import Chat
from tests.reporter.conftest import to_files_step

PIGEON_NOTE = "The pigeon's keeper can read every note tied to its leg."


@dataclass
class Loft:
    """The pigeon channel's one service."""

    name: str = "loft"
    running: bool = False

    async def start(self) -> None:
        self.running = True

    async def stop(self) -> None:
        self.running = False


def start_pigeon(app) -> None:  # type: ignore[no-untyped-def]
    app.channels["pigeon"] = CollectingChannel(name="pigeon")
    app.services.append(Loft())


PIGEON = ChannelSpec(name="pigeon", enabled=lambda s: True, start=start_pigeon, platform_note=PIGEON_NOTE,
                     limits=lambda s: Limits(5, 1.0, 2, 60.0))


async def test_a_new_channel_needs_only_its_spec_and_one_registry_line(demo_db_url: str,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "CHANNELS", (*registry.CHANNELS, PIGEON))  # the one line
    settings = load_settings(_env_file=None, database_url=demo_db_url, installation_salt=TEST_SALT,
                             encryption_keys=TEST_KEYS, web_port=0)
    assert not settings.console_enabled  # another channel is on: no terminal chat unless asked for
    app = build_app(settings, clock=ManualClock())
    try:
        assert await start_services(app) is None
        pigeon = app.channels["pigeon"]
        assert set(app.channels) == {"pigeon"}
        assert next(s for s in app.services if s.name == "loft").running  # type: ignore[attr-defined]

        # Delivery keeps to its limits and pushes through it.
        worker = next(s for s in app.services if isinstance(s, DeliveryWorker))
        assert worker.limits["pigeon"] == Limits(5, 1.0, 2, 60.0)
        await worker.stop()  # drain by hand from here: no race with its loop
        async with app.sessionmaker() as s, s.begin():
            staff = await s.scalar(select(Staff).where(Staff.login == "o01-lead"))
            s.add(ChatIdentity(staff_id=staff.id, channel="pigeon", external_id="coop-7", bound_at=app.deps.clock.now()))
        async with app.deps.begin() as uow:
            await uow.outbox.to_staff(staff.id, lambda _: Reply(text="new case"), about=None, kind="test", dedupe_key="pigeon-1")
        assert await worker.drain_once() == 1
        assert [r.text for r in pigeon.to("coop-7")] == ["new case"]  # type: ignore[attr-defined]

        # The tip wizard tells a reporter on it what the platform can see.
        c = Chat(dispatcher=app.dispatcher, external_id="someone", channel="pigeon")
        await to_files_step(c)
        replies = await c.press(N_("Skip"))
        assert PIGEON_NOTE in replies[-1].text
    finally:
        await app.close()


def test_every_registered_channel_is_complete() -> None:
    names = [c.name for c in registry.CHANNELS]
    assert names == ["console", "telegram", "wecom"] and len(set(names)) == len(names)
    zh, en = gettext_for("zh_CN"), gettext_for("en")
    for spec in registry.CHANNELS:
        assert spec.settings is None or issubclass(Settings, spec.settings)
        assert zh(spec.platform_note) != spec.platform_note and en(spec.platform_note) == spec.platform_note


def test_defaults_are_what_they_were(monkeypatch: pytest.MonkeyPatch) -> None:
    for k in ("LIANZU_CONSOLE", "LIANZU_TELEGRAM_TOKEN", "LIANZU_WECOM_CORP_ID"):
        monkeypatch.delenv(k, raising=False)
    s = load_settings(_env_file=None)
    assert [c.name for c in registry.CHANNELS if c.enabled(s)] == ["console"]
    assert registry.delivery_limits(s) == {"telegram": Limits(30, 1.0, 1, 1.0), "wecom": Limits(1000, 1.0, 30, 60.0)}
    s = load_settings(_env_file=None, telegram_token="1:x", telegram_rate_per_chat=0.5, wecom_rate_per_member=20)
    assert [c.name for c in registry.CHANNELS if c.enabled(s)] == ["telegram"]
    assert registry.delivery_limits(s)["telegram"] == Limits(30, 1.0, 0.5, 1.0)
    assert registry.delivery_limits(s)["wecom"] == Limits(1000, 1.0, 20, 60.0)
    s = load_settings(_env_file=None, telegram_token="1:x", console=True)
    assert [c.name for c in registry.CHANNELS if c.enabled(s)] == ["console", "telegram"]
