"""Everything one handler call sees: the event, the session, the actor, the language."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.clock import Clock
from handlers.config import Config
from handlers.deps import Deps
from handlers.events import Button, InboundEvent, InboundFile, OutboundFile, Reply
from handlers.i18n import gettext_for, ngettext_for
from handlers.policy import DeadlinePolicy
from handlers.state import StateHandle
from handlers.uow import UnitOfWork
from storage.crypto import Sealer
from storage.models import ChatIdentity, Role, Staff


class StaffOnly(Exception):
    """Raised by :meth:`Context.require_staff` when the sender is not bound staff; the
    dispatcher answers it as an unknown command, so outsiders learn nothing."""


@dataclass
class Actor:
    """Who is speaking: a bound staff member, or an outside person (reporter)."""

    staff: Staff | None = None
    identity: ChatIdentity | None = None

    @property
    def is_staff(self) -> bool:
        return self.staff is not None

    @property
    def roles(self) -> set[Role]:
        return self.staff.roles if self.staff else set()

    def has_any(self, *roles: Role) -> bool:
        return bool(self.roles & set(roles))


@dataclass
class Context:
    event: InboundEvent
    uow: UnitOfWork
    deps: Deps
    actor: Actor
    lang: str
    state: StateHandle
    sender_key: str
    # The value of a conversation button pressed (``c:<token>:<value>``), if any.
    button_value: str | None = None
    replies: list[Reply] = field(default_factory=list)
    dispatcher: Any = None  # the Dispatcher, for /help and command buttons

    @property
    def session(self) -> AsyncSession:
        return self.uow.session

    @property
    def clock(self) -> Clock:
        return self.uow.clock

    @property
    def config(self) -> Config:
        return self.uow.config

    @property
    def sealer(self) -> Sealer:
        return self.uow.sealer

    @property
    def policy(self) -> DeadlinePolicy:
        return self.uow.policy

    def require_staff(self) -> Staff:
        """The bound staff member speaking; commands and actions for staff call this first."""
        if self.actor.staff is None:
            raise StaffOnly()
        return self.actor.staff

    @property
    def text(self) -> str | None:
        return self.event.text

    @property
    def attachment(self) -> InboundFile | None:
        return self.event.attachment

    def _(self, message: str) -> str:
        return gettext_for(self.lang)(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return ngettext_for(self.lang)(singular, plural, n)

    def reply(
        self,
        text: str,
        buttons: list[list[Button]] | None = None,
        files: list[OutboundFile] | None = None,
        *,
        edit: bool = False,
    ) -> Reply:
        r = Reply(text=text, buttons=buttons or [], files=files or [], edit=edit)
        self.replies.append(r)
        return r

    def button(self, label: str, value: str) -> Button:
        """A button that belongs to the current conversation; stale once it ends."""
        return Button(label=label, data=f"c:{self.state.token}:{value}")

    @staticmethod
    def action(label: str, name: str, arg: str = "") -> Button:
        """A button for a registered action (e.g. acknowledge an assignment); valid any time."""
        return Button(label=label, data=f"a:{name}:{arg}")

    @staticmethod
    def command_button(label: str, command: str) -> Button:
        """A button that runs a command, as if the person had typed it."""
        return Button(label=label, data=f"cmd:{command}")
