"""Routes one inbound event to a command, a button action or the active conversation,
inside one database transaction (the per-update session)."""

from __future__ import annotations

import logging
import re
import unicodedata
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.context import Actor, Context, StaffOnly
from handlers.deps import Deps
from handlers.events import MAX_BUTTON_DATA_BYTES, Button, InboundEvent, Reply
from handlers.i18n import Gettext, gettext_for, normalize_language
from handlers.identity import sender_key
from handlers.router import ActionHandler, CommandSpec, Conversation, Router
from handlers.state import StateHandle
from handlers.uow import UnitOfWork
from storage.models import ChatIdentity, ChatPreference, InboundSeen, Staff

log = logging.getLogger("lianzu.dispatcher")

# C0 controls but tab and newlines, DEL, and lone surrogates: never meant, and NUL is refused by
# PostgreSQL text, a surrogate by every UTF-8 encoder.
_JUNK = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
# Every id in button data fits a 32-bit integer column; a longer run of digits is forged.
_MAX_ID_DIGITS = 9
_BUTTON_DATA = re.compile(r"[\x20-\x7e]+")
_LONG_NUMBER = re.compile(rf"\d{{{_MAX_ID_DIGITS + 1},}}", re.ASCII)


def clean_text(text: str | None) -> str | None:
    """What every handler receives: no control characters or lone surrogates; None if nothing is left."""
    if text is None:
        return None
    cleaned = _JUNK.sub("", text)
    return cleaned if cleaned.strip() else None


def valid_button_data(data: str) -> bool:
    """Button data is ours: printable ASCII within the platform limit, ids of at most 9 digits."""
    return (len(data) <= MAX_BUTTON_DATA_BYTES and _BUTTON_DATA.fullmatch(data) is not None
            and _LONG_NUMBER.search(data) is None)


def menu_number(text: str) -> int | None:
    """"2", "２", "②" or "²" typed for the second entry of a numbered menu."""
    t = unicodedata.normalize("NFKC", text.strip())
    return int(t) if t.isascii() and t.isdecimal() and len(t) <= 3 else None


class RouterAlreadyAttached(RuntimeError):
    pass


class Dispatcher:
    def __init__(self, deps: Deps, routers: list[Router] | None = None) -> None:
        self.deps = deps
        self.routers: list[Router] = []
        self.commands: dict[str, CommandSpec] = {}
        self.actions: dict[str, ActionHandler] = {}
        self.conversations: dict[str, Conversation] = {}
        for r in routers or []:
            self.include(r)

    def include(self, router: Router) -> None:
        # Like aiogram: a router attaches once; tests rebuild them with make_router().
        if router.attached:
            raise RouterAlreadyAttached(router.name)
        router.attached = True
        self.routers.append(router)
        for name, spec in router.commands.items():
            if name in self.commands:
                raise ValueError(f"command /{name} registered twice")
            self.commands[name] = spec
        self.actions.update(router.actions)
        self.conversations.update(router.conversations)

    # -- entry point -------------------------------------------------------------------

    async def handle(self, event: InboundEvent) -> list[Reply]:
        cfg = self.deps.config
        event = self._cleaned(event)
        if event.chat_type == "group":
            # Nothing from a group is stored: tips are only taken in private.
            _ = gettext_for(normalize_language(event.sender.language_code, cfg.default_language))
            return [Reply(text=_("Tip-offs are taken only in a private chat with me. Please open a private chat. Nothing from this group was stored."))]
        if event.text is not None and len(event.text) > cfg.max_text_chars:
            _ = await self._gettext_outside(event)
            return [
                Reply(
                    text=_("That message is too long ({n} characters; the limit is {limit}). "
                           "Nothing was stored. Please send it in several shorter parts.").format(
                        n=len(event.text), limit=cfg.max_text_chars
                    )
                )
            ]
        try:
            async with self.deps.begin() as uow:
                if event.dedupe_key and not await self._first_time(uow.session, event):
                    return []
                ctx = await self._context(uow, event)
                await self._route(ctx)
                self._remember_menu(ctx)
                await ctx.state.save(uow.session)
            return ctx.replies
        except Exception:
            # Log the failure, never the content. The transaction rolled back, so the
            # conversation is exactly where it was before this message.
            log.exception("handler failed", extra={"channel": event.channel})
            _ = await self._gettext_outside(event)
            return [
                Reply(
                    text=_("Sorry, something went wrong on our side. Nothing was changed and what you "
                           "entered before is kept. Please send your last message again.")
                )
            ]

    # -- pieces ------------------------------------------------------------------------

    @staticmethod
    def _cleaned(event: InboundEvent) -> InboundEvent:
        """Clean the input once, here, so no handler meets a NUL, a surrogate or a forged id."""
        update: dict[str, object] = {}
        text = clean_text(event.text)
        if text != event.text:
            update["text"] = text
        if event.button is not None and not valid_button_data(event.button):
            # A forged or mangled button: answered as a stale one, reaching no handler.
            update["button"] = "x:invalid"
        if event.attachment is not None:
            name = clean_text(event.attachment.filename) or "file"
            if name != event.attachment.filename:
                update["attachment"] = event.attachment.model_copy(update={"filename": name})
        return event.model_copy(update=update) if update else event

    async def _gettext_outside(self, event: InboundEvent) -> Gettext:
        """Translations for an answer given outside the update's transaction (refusals, errors)."""
        async with self.deps.sessionmaker() as s:
            return gettext_for(await self._language(s, event, None))

    async def _first_time(self, session: AsyncSession, event: InboundEvent) -> bool:
        # Keyed hash: some platforms' keys hold the sender (WeCom events: FromUserName + CreateTime).
        key = sender_key(self.deps.config.salt, event.channel, event.dedupe_key or "", purpose="dedupe")
        if await session.get(InboundSeen, (event.channel, key)) is not None:
            return False
        try:
            async with session.begin_nested():
                session.add(InboundSeen(channel=event.channel, key=key, seen_at=self.deps.clock.now()))
        except IntegrityError:  # a concurrent worker took it
            return False
        return True

    async def _actor(self, session: AsyncSession, event: InboundEvent) -> Actor:
        ident = await session.scalar(
            select(ChatIdentity).where(
                ChatIdentity.channel == event.channel,
                ChatIdentity.external_id == event.sender.external_id,
                ChatIdentity.blocked_at.is_(None),
            )
        )
        if ident is None:
            return Actor()
        staff = await session.get(Staff, ident.staff_id)
        if staff is None or not staff.active:
            return Actor()
        return Actor(staff=staff, identity=ident)

    async def _language(self, session: AsyncSession, event: InboundEvent, actor: Actor | None) -> str:
        cfg = self.deps.config
        if actor and actor.staff and actor.staff.language:
            return actor.staff.language
        pref = await session.get(ChatPreference, self.preference_key(event))
        if pref is not None:
            return pref.language
        return normalize_language(event.sender.language_code, cfg.default_language)

    def preference_key(self, event: InboundEvent) -> str:
        return sender_key(self.deps.config.salt, event.channel, event.sender.external_id, purpose="preference")

    async def _context(self, uow: UnitOfWork, event: InboundEvent) -> Context:
        session = uow.session
        actor = await self._actor(session, event)
        lang = await self._language(session, event, actor)
        key = sender_key(self.deps.config.salt, event.channel, event.sender.external_id)
        state = await StateHandle.load(session, key, self.deps.sealer, self.deps.clock.now())
        return Context(
            event=event, uow=uow, deps=self.deps, actor=actor, lang=lang, state=state,
            sender_key=key, dispatcher=self,
        )

    async def _route(self, ctx: Context) -> None:
        event = ctx.event
        _ = ctx._
        if ctx.state.expired_conversation:
            ctx.state.end()
            ctx.reply(_("Your unfinished conversation expired and its draft was deleted. You can start again at any time."))
            if event.button or (event.text and not event.command):
                return

        # "2" on a channel that shows buttons as numbers means the second button.
        if event.numbered_menus and event.button is None and event.text and ctx.state.menu:
            n = menu_number(event.text)
            if n is not None:
                if 1 <= n <= len(ctx.state.menu):
                    event = event.model_copy(update={"button": ctx.state.menu[n - 1], "text": None})
                    ctx.event = event

        if event.button is not None:
            await self._button(ctx, event.button)
            return

        cmd = event.command
        if cmd is not None:
            name, args = cmd
            spec = self.commands.get(name)
            if spec is not None and spec.allowed(ctx.actor):
                try:
                    await spec.handler(ctx, args)
                    return
                except StaffOnly:
                    pass
            ctx.reply(
                _("I don't know the command /{name}. Nothing was changed. Send /help to see what you can do.").format(
                    name=name[:32]
                )
            )
            return

        if ctx.state.active:
            conv = self.conversations.get(ctx.state.conversation or "")
            if conv is not None:
                await conv.handle(ctx)
                return
            ctx.state.end()

        if event.text is None and event.attachment is None:
            ctx.reply(_("I received an empty message. Nothing was changed. Send /help to see what you can do."))
            return
        ctx.reply(
            _("I'm not sure what you mean. Nothing was stored. Send /help to see what you can do."),
            buttons=self.menu_buttons(ctx),
        )

    async def _button(self, ctx: Context, data: str) -> None:
        try:
            if await self._press(ctx, data):
                return
        except StaffOnly:
            pass
        ctx.reply(
            ctx._("That button belongs to an earlier conversation and no longer works. Nothing was changed. "
                  "Send /help to see what you can do.")
        )

    async def _press(self, ctx: Context, data: str) -> bool:
        """Run what a button stands for; False when it stands for nothing (any more)."""
        kind, _sep, rest = data.partition(":")
        if kind == "c":
            token, _sep, value = rest.partition(":")
            conv = self.conversations.get(ctx.state.conversation or "")
            if conv is not None and token and token == ctx.state.token:
                ctx.button_value = value
                await conv.handle(ctx)
                return True
        elif kind == "a":
            name, _sep, arg = rest.partition(":")
            handler = self.actions.get(name)
            if handler is not None:
                await handler(ctx, arg)
                return True
        elif kind == "cmd":
            spec = self.commands.get(rest)
            if spec is not None and spec.allowed(ctx.actor):
                await spec.handler(ctx, "")
                return True
        return False

    def _remember_menu(self, ctx: Context) -> None:
        if not ctx.event.numbered_menus:
            return
        for reply in reversed(ctx.replies):
            if reply.buttons:
                ctx.state.menu = [b.data for b in reply.flat_buttons()]
                return
        if ctx.replies:
            ctx.state.menu = []

    async def remember_menu(self, channel: str, external_id: str, reply: Reply) -> None:
        """A channel that shows buttons as numbered text calls this after pushing a reply with
        buttons, so that "1" answers the notice just shown. (Pushes go only to staff and named
        reporters; anonymous reporters are never pushed anything.)"""
        data = [b.data for b in reply.flat_buttons()]
        if not data:
            return
        key = sender_key(self.deps.config.salt, channel, external_id)
        async with self.deps.begin() as uow:
            state = await StateHandle.load(uow.session, key, self.deps.sealer, self.deps.clock.now())
            state.menu = data
            await state.save(uow.session)

    # -- used by /start and /help ------------------------------------------------------

    def visible_commands(self, ctx: Context) -> list[CommandSpec]:
        specs = [s for s in self.commands.values() if s.help and s.listed_for(ctx.actor)]
        return sorted(specs, key=lambda s: (s.order, s.name))

    def menu_buttons(self, ctx: Context) -> list[list[Button]]:
        return [
            [Context.command_button(ctx._(s.help or s.name), s.name)]
            for s in self.visible_commands(ctx)
            if s.menu
        ]


def draft_ttl(ctx: Context) -> timedelta:
    return timedelta(hours=ctx.config.draft_ttl_hours)
