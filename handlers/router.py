"""A Router per feature (built by its ``make_router()``), as in aiogram's examples."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from handlers.context import Actor, Context
from storage.models import Role

CommandHandler = Callable[[Context, str], Awaitable[None]]
ActionHandler = Callable[[Context, str], Awaitable[None]]


class Audience(str, enum.Enum):
    anyone = "anyone"  # shown to everybody
    public = "public"  # outside people (reporters); staff may still use it
    staff = "staff"  # bound staff only; invisible otherwise


@dataclass
class CommandSpec:
    name: str
    handler: CommandHandler
    help: str | None  # N_()-marked, translated when shown
    audience: Audience = Audience.anyone
    roles: frozenset[Role] = frozenset()
    menu: bool = False  # offered as a button by /start
    order: int = 100

    def allowed(self, actor: Actor) -> bool:
        if self.audience is Audience.staff and not actor.is_staff:
            return False
        if self.roles and not (actor.roles & self.roles):
            return False
        return True

    def listed_for(self, actor: Actor) -> bool:
        if not self.allowed(actor):
            return False
        return not (self.audience is Audience.public and actor.is_staff and not self.menu)


class Conversation:
    """Explicit states: ``on_<step>`` handles input in that step. A state diagram of each
    conversation lives in ``docs/conversations/<name>.mmd``."""

    name: str = ""

    async def handle(self, ctx: Context) -> None:
        step = ctx.state.step or "start"
        method = getattr(self, f"on_{step}", None)
        if method is None:  # a step from an older version: start over politely
            ctx.state.end()
            ctx.reply(ctx._("Sorry, this conversation can no longer be continued. Please start again."))
            return
        await method(ctx)

    async def cancel(self, ctx: Context) -> None:
        ctx.state.end()
        ctx.reply(ctx._("Cancelled. Nothing was stored."))


@dataclass
class Router:
    name: str
    commands: dict[str, CommandSpec] = field(default_factory=dict)
    actions: dict[str, ActionHandler] = field(default_factory=dict)
    conversations: dict[str, Conversation] = field(default_factory=dict)

    def command(
        self,
        name: str,
        *,
        help: str | None = None,
        audience: Audience = Audience.anyone,
        roles: tuple[Role, ...] = (),
        menu: bool = False,
        order: int = 100,
        aliases: tuple[str, ...] = (),
    ) -> Callable[[CommandHandler], CommandHandler]:
        def deco(fn: CommandHandler) -> CommandHandler:
            for n in (name, *aliases):
                self.commands[n] = CommandSpec(
                    n, fn, help if n == name else None, audience, frozenset(roles), menu and n == name, order
                )
            return fn

        return deco

    def action(self, name: str) -> Callable[[ActionHandler], ActionHandler]:
        def deco(fn: ActionHandler) -> ActionHandler:
            self.actions[name] = fn
            return fn

        return deco

    def add_conversation(self, conv: Conversation) -> Conversation:
        self.conversations[conv.name] = conv
        return conv
