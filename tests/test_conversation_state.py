"""A half-finished conversation survives a restart, expires when it should, and an error
never loses what was typed before."""

from __future__ import annotations

import enum
from datetime import timedelta

from sqlalchemy import func, select

from handlers.app import make_deps, make_dispatcher
from handlers.context import Context
from handlers.deps import Deps
from handlers.dispatcher import Dispatcher
from handlers.router import Conversation, Router, Step
from storage.crypto import Sealer
from storage.db import make_engine, make_sessionmaker
from storage.models import ConversationState
from tests.fakes import Chat


class Q(enum.Enum):
    name = "name"
    colour = "colour"


class Survey(Conversation):
    """Two questions, then a summary: the smallest conversation with a draft."""

    name = "survey"
    Steps = Q
    first = Q.name

    async def on_name(self, ctx: Context) -> None:
        if ctx.text == "boom":
            raise RuntimeError("simulated failure")
        ctx.state.secret["name"] = ctx.text
        await self.go(ctx, Q.colour)

    async def ask_colour(self, ctx: Context) -> None:
        ctx.reply("colour?", buttons=[[ctx.button("red", "red"), ctx.button("blue", "blue")]])

    async def on_colour(self, ctx: Context) -> None:
        if ctx.button_value is None:
            ctx.reply("please press a button")
            return
        ctx.reply(f"{ctx.state.secret['name']} likes {ctx.button_value}")
        ctx.state.end()

    steps = {Q.name: Step(on_name, goes={Q.colour: "name"}), Q.colour: Step(on_colour, ask_colour, ends="colour")}


def with_survey(deps: Deps) -> Dispatcher:
    d = make_dispatcher(deps)
    r = Router("survey")
    r.add_conversation(Survey())

    @r.command("survey")
    async def start(ctx: Context, args: str) -> None:
        ctx.state.begin("survey", "name", ttl=timedelta(hours=ctx.config.draft_ttl_hours))
        ctx.reply("name?")

    d.include(r)
    return d


async def test_conversation_survives_a_restart(deps: Deps) -> None:
    c = Chat(with_survey(deps))
    await c.send("/survey")
    await c.send("Ada")
    # Simulated restart: a new engine, session factory and dispatcher on the same database.
    await deps.sessionmaker.kw["bind"].dispose()
    engine = make_engine(deps.config.database_url)
    deps2 = make_deps(deps.config, make_sessionmaker(engine), deps.clock, Sealer(deps.config.keyring))
    c2 = Chat(with_survey(deps2), history=c.history)
    replies = await c2.press_value("blue")
    assert replies[0].text == "Ada likes blue"
    await engine.dispose()


async def test_draft_text_is_sealed_not_plain(deps: Deps) -> None:
    c = Chat(with_survey(deps))
    await c.send("/survey")
    await c.send("Distinctive-Name-XYZ")
    async with deps.sessionmaker() as s:
        row = (await s.scalars(select(ConversationState))).one()
        assert row.sealed and b"Distinctive-Name-XYZ" not in row.sealed
        assert "Distinctive-Name-XYZ" not in str(row.data)
        assert row.key != c.external_id and c.external_id not in row.key


async def test_draft_expires_after_the_configured_time(deps: Deps, clock) -> None:
    c = Chat(with_survey(deps))
    await c.send("/survey")
    await c.send("Ada")
    clock.advance(hours=deps.config.draft_ttl_hours + 1)
    replies = await c.press_value("blue")
    assert "过期" in replies[0].text
    async with deps.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(ConversationState)) == 0


async def test_an_error_keeps_the_conversation_where_it_was(deps: Deps) -> None:
    c = Chat(with_survey(deps))
    await c.send("/survey")
    replies = await c.send("boom")
    assert "出现问题" in replies[0].text and "保留" in replies[0].text
    replies = await c.send("Ada")  # still asking for the name
    assert replies[0].text == "colour?"


async def test_typing_instead_of_pressing_keeps_the_step(deps: Deps) -> None:
    c = Chat(with_survey(deps))
    await c.send("/survey")
    await c.send("Ada")
    assert (await c.send("green"))[0].text == "please press a button"
    assert (await c.press_value("red"))[0].text == "Ada likes red"


async def test_button_from_an_older_conversation_is_stale(deps: Deps) -> None:
    c = Chat(with_survey(deps))
    await c.send("/survey")
    await c.send("Ada")
    old_button = c.history[-1].flat_buttons()[0].data
    await c.send("/cancel")
    await c.send("/survey")
    replies = await c.send(None, button=old_button)
    assert "已失效" in replies[0].text
    assert (await c.send("Bob"))[0].text == "colour?"


async def test_cancel_forgets_the_draft(deps: Deps) -> None:
    c = Chat(with_survey(deps))
    await c.send("/survey")
    await c.send("Ada")
    assert "已取消" in (await c.send("/cancel"))[0].text
    async with deps.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(ConversationState)) == 0
    assert "没有可取消" in (await c.send("/cancel"))[0].text


async def test_numbered_menus_accept_the_number(deps: Deps) -> None:
    c = Chat(with_survey(deps))
    await c.send("/survey", numbered_menus=True)
    await c.send("Ada", numbered_menus=True)
    assert (await c.send("2", numbered_menus=True))[0].text == "Ada likes blue"
