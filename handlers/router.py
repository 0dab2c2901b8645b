"""A Router per feature (built by its ``make_router()``), as in aiogram's examples."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from handlers.context import Actor, Context
from storage.models import Role

CommandHandler = Callable[[Context, str], Awaitable[None]]
ActionHandler = Callable[[Context, str], Awaitable[None]]
# Free text nobody else took (no command, button or conversation): True when it answered.
TextFallback = Callable[[Context], Awaitable[bool]]


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
    # N_()-marked syntax shown by /help ("/status [today|week|month|dates]"); never on a button.
    usage: str | None = None
    # Listed in the /start greeting; False keeps a command to /help (e.g. /bind, a staff note
    # that citizens need not see when they first arrive).
    on_start: bool = True

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


@dataclass(frozen=True)
class Step:
    """One step of a conversation, declared once: what handles input in it, what it asks,
    where Back goes, and where it may go next (with the label the state diagram shows)."""

    handle: Callable[[Any, Context], Awaitable[None]]
    prompt: Callable[[Any, Context], Awaitable[None]] | None = None
    back: enum.Enum | None = None
    goes: Mapping[enum.Enum, str] = field(default_factory=dict)
    ends: str | None = None  # label of the edge that leaves the conversation from here


class Conversation:
    """Explicit states, declared as one table: ``steps`` maps each member of the ``Steps``
    enum to a :class:`Step`. ``go()`` moves and asks; a step that is not in the enum fails at
    import, not on someone's next message. The state diagram in
    ``docs/conversations/<name>.mmd`` is generated from the table (``scripts/diagrams.py``)."""

    name: str = ""
    Steps: type[enum.Enum]
    steps: Mapping[Any, Step] = {}
    first: enum.Enum
    begin_label: str = ""
    # Steps a conversation may start at, other than ``first`` (step → label for the diagram).
    other_entries: Mapping[Any, str] = {}
    notes: tuple[str, ...] = ()  # comment lines at the top of the diagram

    def entries(self) -> dict[enum.Enum, str]:
        return {self.first: self.begin_label, **self.other_entries}

    def step_of(self, ctx: Context) -> enum.Enum | None:
        try:
            return self.Steps(ctx.state.step or self.first.value)
        except ValueError:
            return None

    async def handle(self, ctx: Context) -> None:
        step = self.step_of(ctx)
        if step is None or step not in self.steps:  # a step from an older version: start over politely
            ctx.state.end()
            ctx.reply(ctx._("Sorry, this conversation can no longer be continued. Please start again."))
            return
        await self.steps[step].handle(self, ctx)

    async def open(self, ctx: Context, *, ttl: timedelta, data: dict[str, Any] | None = None,
                   step: enum.Enum | None = None) -> None:
        """Begin this conversation at ``step`` (``first`` by default) and ask its question."""
        at = step or self.first
        ctx.state.begin(self.name, self.Steps(at).value, ttl=ttl, data=data)
        await self.ask(ctx, at)

    async def go(self, ctx: Context, step: enum.Enum) -> None:
        """Move to ``step`` and ask its question."""
        ctx.state.goto(self.Steps(step).value)
        await self.ask(ctx, step)

    async def ask(self, ctx: Context, step: enum.Enum) -> None:
        prompt = self.steps[step].prompt
        if prompt is not None:
            await prompt(self, ctx)

    async def back(self, ctx: Context) -> None:
        step = self.step_of(ctx)
        target = self.steps[step].back if step is not None and step in self.steps else None
        await self.go(ctx, target or self.first)

    async def cancel(self, ctx: Context) -> None:
        ctx.state.end()
        ctx.reply(ctx._("Cancelled. Nothing was stored."))


def diagram(conv: Conversation) -> str:
    """The Mermaid state diagram of a conversation, from its step table."""
    lines = [f"%% {n}" for n in conv.notes] + ["stateDiagram-v2"]
    for entry, label in conv.entries().items():
        lines.append(f"    [*] --> {entry.value}" + (f": {label}" if label else ""))
    for step, spec in conv.steps.items():
        for target, label in spec.goes.items():
            lines.append(f"    {step.value} --> {target.value}" + (f": {label}" if label else ""))
        if spec.back is not None:
            lines.append(f"    {step.value} --> {spec.back.value}: Back")
        if spec.ends is not None:
            lines.append(f"    {step.value} --> [*]" + (f": {spec.ends}" if spec.ends else ""))
    return "\n".join(lines) + "\n"


@dataclass
class Router:
    name: str
    commands: dict[str, CommandSpec] = field(default_factory=dict)
    actions: dict[str, ActionHandler] = field(default_factory=dict)
    conversations: dict[str, Conversation] = field(default_factory=dict)
    text_fallbacks: list[TextFallback] = field(default_factory=list)
    attached: bool = field(default=False, repr=False)  # set by the dispatcher that includes it

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
        usage: str | None = None,
        on_start: bool = True,
    ) -> Callable[[CommandHandler], CommandHandler]:
        def deco(fn: CommandHandler) -> CommandHandler:
            for n in (name, *aliases):
                self.commands[n] = CommandSpec(
                    n, fn, help if n == name else None, audience, frozenset(roles), menu and n == name, order,
                    usage if n == name else None, on_start,
                )
            return fn

        return deco

    def action(self, name: str) -> Callable[[ActionHandler], ActionHandler]:
        def deco(fn: ActionHandler) -> ActionHandler:
            self.actions[name] = fn
            return fn

        return deco

    def text_fallback(self, fn: TextFallback) -> TextFallback:
        """Register ``fn`` for free text that would otherwise get "I'm not sure what you mean"."""
        self.text_fallbacks.append(fn)
        return fn

    def add_conversation(self, conv: Conversation) -> Conversation:
        self.conversations[conv.name] = conv
        return conv
