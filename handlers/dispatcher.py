"""Routes one inbound event to a command, a button action or the active conversation,
inside one database transaction (the per-update session)."""

from __future__ import annotations

import asyncio
import logging
import re
import unicodedata
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, and_, bindparam, delete, insert, literal, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.context import Actor, Context, StaffOnly
from handlers.deps import Deps
from handlers.events import MAX_BUTTON_DATA_BYTES, Button, InboundEvent, Reply
from handlers.i18n import Gettext, gettext_for, normalize_language, same_words
from handlers.identity import sender_key
from handlers.router import ActionHandler, CommandSpec, Conversation, Router
from handlers.state import StateHandle
from handlers.uow import UnitOfWork
from storage.db import deferred, send_deferred
from storage.models import ChatIdentity, ChatPreference, ConversationState, InboundSeen, Staff

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


# The statements of every update, built once: a statement built per call costs more CPU in
# construction and cache-key generation than its execution (the key is kept on the object).
# The de-duplication key: a plain INSERT sent with the commit (storage.db.deferred); a
# re-delivery's fails on the primary key (``_key_taken``) and its transaction rolls back.
_RECORD_KEY = deferred(insert(cast(Table, InboundSeen.__table__)))
# Who is writing, their chat's language preference and conversation state: one row, each part
# NULL where there is none.
_ONE = select(literal(1).label("one")).subquery()
_LOAD = (
    select(ChatIdentity, Staff, ChatPreference, ConversationState)
    .select_from(_ONE)
    .outerjoin(ChatIdentity, and_(ChatIdentity.channel == bindparam("channel"),
                                  ChatIdentity.external_id == bindparam("external_id"),
                                  ChatIdentity.blocked_at.is_(None)))
    .outerjoin(Staff, and_(Staff.id == ChatIdentity.staff_id, Staff.active.is_(True)))
    .outerjoin(ChatPreference, ChatPreference.key == bindparam("preference_key"))
    .outerjoin(ConversationState, ConversationState.key == bindparam("state_key"))
)


class RouterAlreadyAttached(RuntimeError):
    pass


class StorageUnavailable(Exception):
    """The database could not be reached; nothing of the event was stored."""


def unavailable(exc: BaseException) -> bool:
    """Whether an error means the database cannot be reached (as opposed to a bug or bad data)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, (OperationalError, InterfaceError, OSError, TimeoutError)):
            return True
        if isinstance(seen, DBAPIError) and seen.connection_invalidated:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _key_taken(exc: BaseException) -> bool:
    """Whether an error is the de-duplication key found taken: the update was handled before."""
    return isinstance(exc, IntegrityError) and InboundSeen.__tablename__ in str(exc.orig)


class ReplyNotDelivered(Exception):
    """A reply that must arrive did not; ``text`` is what to answer instead."""

    def __init__(self, text: str) -> None:
        super().__init__("reply not delivered")
        self.text = text


# The update's transaction stays open while a reply that must arrive is sent; on SQLite it holds
# the writer, so a hanging platform may not hold it longer than other writers wait (5 s).
MUST_ARRIVE_SECONDS = 4.0
# How a channel sends one reply to the sender of the event being handled; raises if it could not.
Deliver = Callable[[Reply], Awaitable[None]]
# What the channel adds to the update's transaction (the end of its stored post: bot/inbox.py).
Finish = Callable[[AsyncSession], Awaitable[None]]


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

    async def handle(self, event: InboundEvent, *, deliver: Deliver | None = None,
                     retry_later: bool = False, finish: Finish | None = None) -> list[Reply]:
        """Route one event; returns the replies for the channel to send. With ``deliver`` (how the
        channel sends one reply, raising when it could not), a reply that must arrive is sent
        before the commit, and the replies up to it are not returned. When the database cannot be
        reached, a channel that keeps the event (``retry_later``: the inbox) gets
        ``StorageUnavailable`` and tries again later; any other gets "send it again in a minute".
        ``finish`` runs in the update's transaction, with its closing writes, so what it writes
        commits or rolls back with the update (a re-delivery's rolls back: the inbox then ends
        its post on its own, bot/inbox.py).

        The de-duplication key is written after the handler ran, with the update's other writes:
        on SQLite a transaction holds the one writer from its first write to its commit, and a
        handler's reads and work (most steps write nothing until the conversation state) then
        run outside it, as on PostgreSQL, where updates from different chats always ran at once.
        A re-delivery racing the original runs the handler too, but its key is found taken, and
        everything it did is rolled back before any reply goes out."""
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
                ctx = await self._context(uow, event)
                await self._route(ctx)
                self._remember_menu(ctx)
                # The closing writes and the key are sent with the commit, in one hop to SQLite
                # (storage.db.deferred): the one writer is held for that hop alone.
                await ctx.state.save(uow.session)
                if finish is not None:
                    await finish(uow.session)
                if event.dedupe_key:
                    await self._record_key(uow.session, event)
                replies = await self._deliver_before_commit(uow, ctx.replies, deliver)
            return replies
        except ReplyNotDelivered as exc:
            # Rolled back: the draft is where it was, nothing of this update exists.
            log.warning("a reply that must arrive was not delivered (%s); the update was rolled back",
                        type(exc.__cause__).__name__, extra={"channel": event.channel})
            return [Reply(text=exc.text)]
        except Exception as exc:
            if _key_taken(exc):
                # Rolled back: nothing of this run stays, nothing was sent. Said, so that an
                # update taken but never answered can be told from a lost one.
                log.info("already handled (a re-delivery): not answered again", extra={"channel": event.channel})
                return []
            if unavailable(exc):
                # Nothing was stored (the transaction could not commit); no table can be read for
                # the person's language either, so the platform's language is used.
                log.warning("database unavailable (%s)", type(exc).__name__, extra={"channel": event.channel})
                if retry_later:
                    raise StorageUnavailable from exc
                _ = gettext_for(normalize_language(event.sender.language_code, cfg.default_language))
                return [Reply(text=_("I cannot store anything at the moment. Nothing of your last message was "
                                     "kept: please send it again in a minute."))]
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
    async def _deliver_before_commit(uow: UnitOfWork, replies: list[Reply], deliver: Deliver | None) -> list[Reply]:
        last = max((i for i, r in enumerate(replies) if r.must_arrive), default=None)
        if last is None or deliver is None:
            return replies
        await uow.session.flush()  # what could fail at commit fails now, before anything is shown
        await send_deferred(uow.session)  # the de-duplication key among it: a re-delivery shows nothing
        for reply in replies[: last + 1]:
            try:
                await asyncio.wait_for(deliver(reply), MUST_ARRIVE_SECONDS)
            except Exception as exc:
                raise ReplyNotDelivered(replies[last].undelivered_text) from exc
        return replies[last + 1:]

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

    async def _record_key(self, session: AsyncSession, event: InboundEvent) -> None:
        """Records the event's key, with the update's other writes. Recorded before (a platform's
        re-delivery), the commit fails on the key and everything rolls back (``_key_taken``); a
        concurrent worker inserting the same key waits for it and then fails so (PostgreSQL), or
        takes its turn for the writer after it (SQLite)."""
        # Keyed hash: some platforms' keys hold the sender (WeCom events: FromUserName + CreateTime).
        key = sender_key(self.deps.config.salt, event.channel, event.dedupe_key or "", purpose="dedupe")
        # The hour only: enough to purge by, too coarse to match a message to a tip.
        seen = self.deps.clock.now().replace(minute=0, second=0, microsecond=0)
        await session.execute(_RECORD_KEY, {"channel": event.channel, "key": key, "seen_at": seen})

    async def _actor(self, session: AsyncSession, event: InboundEvent) -> Actor:
        ident, staff, _pref, _row = await self._load(session, event, "", "")
        return self._actor_of(ident, staff)

    @staticmethod
    def _actor_of(ident: ChatIdentity | None, staff: Staff | None) -> Actor:
        # The join keeps only an active staff member: a blocked or deactivated one is an outsider.
        if ident is None or staff is None:
            return Actor()
        return Actor(staff=staff, identity=ident)

    async def _load(self, session: AsyncSession, event: InboundEvent, preference_key: str,
                    state_key: str) -> tuple[ChatIdentity | None, Staff | None, ChatPreference | None,
                                             ConversationState | None]:
        """Who is writing, their chat's language preference and conversation state, in one query."""
        row = (await session.execute(_LOAD, {"channel": event.channel, "external_id": event.sender.external_id,
                                             "preference_key": preference_key, "state_key": state_key})).one()
        return row[0], row[1], row[2], row[3]

    async def _language(self, session: AsyncSession, event: InboundEvent, actor: Actor | None) -> str:
        if actor and actor.staff and actor.staff.language:
            return actor.staff.language
        pref = await session.get(ChatPreference, self.preference_key(event))
        return self._language_of(event, actor, pref, stamp=session.in_transaction())

    def _language_of(self, event: InboundEvent, actor: Actor | None, pref: ChatPreference | None, *,
                     stamp: bool) -> str:
        if actor and actor.staff and actor.staff.language:
            return actor.staff.language
        if pref is not None:
            today = day(self.deps.clock.now())
            if pref.used_on != today and stamp and actor is not None:
                pref.used_on = today  # unused preferences expire (purge_chat_rows)
            return pref.language
        return normalize_language(event.sender.language_code, self.deps.config.default_language)

    def preference_key(self, event: InboundEvent) -> str:
        return sender_key(self.deps.config.salt, event.channel, event.sender.external_id, purpose="preference")

    async def _context(self, uow: UnitOfWork, event: InboundEvent) -> Context:
        key = sender_key(self.deps.config.salt, event.channel, event.sender.external_id)
        ident, staff, pref, row = await self._load(uow.session, event, self.preference_key(event), key)
        actor = self._actor_of(ident, staff)
        lang = self._language_of(event, actor, pref, stamp=True)
        state = StateHandle(key, row, self.deps.sealer, self.deps.clock.now())
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

        # On a channel that shows buttons as numbered text, "2" (or "２", "②") means the second
        # button and a label typed as text ("完成", "Not sure") means that button.
        if event.numbered_menus and event.button is None and event.text and ctx.state.menu:
            chosen = self._menu_choice(ctx, event.text)
            if chosen is None:
                return
            if chosen:
                event = event.model_copy(update={"button": chosen, "text": None})
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
            unknown = _("I don't know the command /{name}. Nothing was changed. Send /help to see what you can do.")
            if not ctx.actor.is_staff:
                # Staff whose chat is not linked yet learn how to link it; the answer is the same
                # for every unknown command, so it does not tell which staff commands exist.
                unknown += "\n" + _("Staff: link this chat to your account first with /bind and the code from "
                                     "your administrator.")
            ctx.reply(unknown.format(name=name[:32]))
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
        for fallback in (fb for r in self.routers for fb in r.text_fallbacks):
            if event.text is not None and await fallback(ctx):
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

    def _menu_choice(self, ctx: Context, text: str) -> str | None:
        """The data of the button ``text`` chooses from the menu last shown; "" when it is not a
        choice (ordinary input); None when it was a number outside the menu (refused, and
        the menu shown again)."""
        menu = ctx.state.menu
        n = menu_number(text)
        if n is not None:
            if 1 <= n <= len(menu):
                return menu[n - 1]
            _ = ctx._
            labels = ctx.state.menu_labels if len(ctx.state.menu_labels) == len(menu) else [str(i) for i in range(1, len(menu) + 1)]
            ctx.reply(
                _("There is no choice {n} here. Please reply with a number from 1 to {last}, or type your answer.").format(
                    n=n, last=len(menu)),
                buttons=[[Button(label=label, data=data)] for label, data in zip(labels, menu, strict=True)],
            )
            return None
        typed = label_key(text)
        if typed:
            for label, data in zip(ctx.state.menu_labels, menu, strict=False):
                if typed in {label_key(w) for w in same_words(label) | same_words(label_core(label))}:
                    return data
        return ""

    def _remember_menu(self, ctx: Context) -> None:
        if not ctx.event.numbered_menus:
            return
        for reply in reversed(ctx.replies):
            if reply.buttons:
                ctx.state.menu = [b.data for b in reply.flat_buttons()]
                ctx.state.menu_labels = [b.label for b in reply.flat_buttons()]
                return
        if ctx.replies:
            ctx.state.menu = []
            ctx.state.menu_labels = []

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
            state.menu_labels = [b.label for b in reply.flat_buttons()]
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


# A menu choice is short: longer digit strings are answers (a phone number, a receipt).
MAX_MENU_DIGITS = 2
_DECORATION = "◀▶✖✔✓✗•·→←"


def menu_number(text: str) -> int | None:
    """The menu number ``text`` stands for: "2", "２", "②", "⑵", "2." or "2。"; None otherwise."""
    t = re.sub(r"^[(（\s]+|[)）.。．、\s]+$", "", unicodedata.normalize("NFKC", text))
    if len(t) == 1 and not t.isascii():
        # Circled digits that NFKC leaves alone (❷, ➋): their numeric value.
        value = unicodedata.numeric(t, -1)
        if value == int(value) and 0 < value <= 99 and "DIGIT" in unicodedata.name(t, ""):
            return int(value)
        return None
    if t.isascii() and t.isdigit() and len(t) <= MAX_MENU_DIGITS:
        return int(t)
    return None


def label_core(label: str) -> str:
    """A button label without its decoration: "◀ 返回" → "返回"."""
    return label.strip().lstrip(_DECORATION).strip()


def label_key(text: str) -> str:
    """How typed text is compared with a label: width, case, decoration and end punctuation ignored."""
    t = unicodedata.normalize("NFKC", text).strip().casefold()
    return label_core(t).rstrip(".!。！").strip()


# How long per-chat rows outlive their last use: de-duplication keys (platforms resend within
# hours) and language preferences.
INBOUND_SEEN_KEEP = timedelta(days=2)
PREFERENCE_KEEP = timedelta(days=90)


def day(now: datetime) -> datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


async def purge_chat_rows(session: AsyncSession, now: datetime) -> None:
    """Per-chat rows do not last for ever: de-duplication keys after two days, language
    preferences 90 days after the chat last wrote."""
    await session.execute(delete(InboundSeen).where(InboundSeen.seen_at < now - INBOUND_SEEN_KEEP))
    await session.execute(update(ChatPreference).where(ChatPreference.used_on.is_(None)).values(used_on=day(now)))
    await session.execute(delete(ChatPreference).where(ChatPreference.used_on < day(now) - PREFERENCE_KEEP))


def draft_ttl(ctx: Context) -> timedelta:
    return timedelta(hours=ctx.config.draft_ttl_hours)
