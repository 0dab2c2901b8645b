"""Test builders: events and a chat driver that talks to the real dispatcher."""

from __future__ import annotations

import gettext
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

from handlers.config import SUPPORTED_LANGUAGES
from handlers.dispatcher import Dispatcher
from handlers.events import Button, InboundEvent, InboundFile, Reply, Sender
from handlers.i18n import Gettext, gettext_for, translation


def make_event(
    text: str | None = None,
    *,
    channel: str = "memory",
    external_id: str = "reporter-1",
    display_name: str | None = None,
    username: str | None = None,
    language_code: str | None = None,
    button: str | None = None,
    attachment: InboundFile | None = None,
    chat_type: str = "private",
    dedupe_key: str | None = None,
    numbered_menus: bool = False,
) -> InboundEvent:
    return InboundEvent(
        channel=channel,
        sender=Sender(channel=channel, external_id=external_id, display_name=display_name,
                      username=username, language_code=language_code),
        text=text,
        button=button,
        attachment=attachment,
        chat_type=chat_type,  # type: ignore[arg-type]
        dedupe_key=dedupe_key,
        numbered_menus=numbered_menus,
    )


def make_file(data: bytes, *, filename: str = "evidence.pdf", content_type: str = "application/pdf",
              kind: str = "document", size: int | None = None) -> InboundFile:
    return InboundFile(filename=filename, content_type=content_type, size=len(data) if size is None else size,
                       data=data, kind=kind)  # type: ignore[arg-type]


def tiny_pdf(note: str = "") -> bytes:
    """A real one-page PDF (files are checked by their content, so a few bytes saying %PDF won't do)."""
    import io

    from pypdf import PdfWriter

    w = PdfWriter()
    w.add_blank_page(72 + sum(note.encode()) % 500, 72)  # different notes, different pages (metadata is stripped)
    if note:
        w.add_metadata({"/Subject": note})
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def as_stored(data: bytes, filename: str = "evidence.pdf", content_type: str = "application/pdf") -> bytes:
    """The bytes Lianzu keeps of an uploaded file: cleaned of its metadata (deterministically)."""
    from handlers.reporter.media import clean

    return clean(filename, content_type, data, len(data), 1 << 30).data


def button_value(data: str) -> str:
    """The value at the end of button data: ``c:<token>:<value>``, ``a:<name>:<arg>``, ``cmd:<command>``."""
    kind, _sep, rest = data.partition(":")
    if kind in ("c", "a"):
        return rest.partition(":")[2]
    return rest if kind == "cmd" else data


def label_for(_: Gettext, msgid: str, **params: object) -> str:
    """The label a catalog msgid has in a language (``params`` fill its ``{placeholders}``).

    Refuses anything that is not a msgid, such as a Chinese label: every msgid has a Chinese
    translation that differs from it (the translations test keeps them complete)."""
    if gettext_for("zh_CN")(msgid) == msgid:
        raise AssertionError(f"{msgid!r} is not a msgid of the catalog: press by msgid or by value")
    text = _(msgid)
    return text.format(**params) if params else text


@cache
def _translated_words() -> frozenset[str]:
    words: set[str] = set()
    for language in SUPPORTED_LANGUAGES:
        t: gettext.NullTranslations | None = translation(language)
        while t is not None:
            words.update(v for k, v in getattr(t, "_catalog", {}).items() if k and isinstance(v, str))
            t = t._fallback  # type: ignore[attr-defined]
    return frozenset(words)


def data_label(label: str) -> str:
    """``label`` itself, if it is data (a unit's name, a case reference) and not a translation."""
    if label in _translated_words():
        raise AssertionError(f"{label!r} is a translated word: press by msgid or by value")
    return label


async def language_of(dispatcher: Dispatcher, event: InboundEvent) -> str:
    """The language the dispatcher answers this sender in now (staff setting, chat preference,
    platform language, default), asked of the dispatcher itself."""
    async with dispatcher.deps.sessionmaker() as s:
        return await dispatcher._language(s, event, await dispatcher._actor(s, event))


@dataclass
class Chat:
    """One person's chat with the bot, driven like a phone: send text, press buttons."""

    dispatcher: Dispatcher
    external_id: str = "reporter-1"
    channel: str = "memory"
    language_code: str | None = None
    display_name: str | None = None
    username: str | None = None
    # Buttons shown as numbered text (console, WeCom without cards): type a number or a label.
    numbered_menus: bool = False
    history: list[Reply] = field(default_factory=list)

    def _event(self, **kw: object) -> InboundEvent:
        kw.setdefault("numbered_menus", self.numbered_menus)
        return make_event(channel=self.channel, external_id=self.external_id, language_code=self.language_code,
                          display_name=self.display_name, username=self.username, **kw)  # type: ignore[arg-type]

    async def send(self, text: str | None = None, **kw: object) -> list[Reply]:
        replies = await self.dispatcher.handle(self._event(text=text, **kw))
        self.history.extend(replies)
        return replies

    async def attach(self, file: InboundFile) -> list[Reply]:
        return await self.send(None, attachment=file)

    async def gettext(self) -> Gettext:
        """Translations in the language this chat is answered in now."""
        return gettext_for(await language_of(self.dispatcher, self._event()))

    async def press(self, msgid: str, **params: object) -> list[Reply]:
        """Press the button labelled with the catalog's ``msgid`` as translated into this chat's
        language, exactly: ``press(N_("Done"))``, ``press(N_("Answer question {n}"), n=1)``."""
        label = label_for(await self.gettext(), msgid, **params)
        return await self._press(lambda b: b.label == label, f"{msgid!r} ({label!r})")

    async def press_value(self, value: str) -> list[Reply]:
        """Press the button whose data ends in ``value`` (see :func:`button_value`)."""
        return await self._press(lambda b: button_value(b.data) == value, f"with value {value!r}")

    async def press_label(self, label: str) -> list[Reply]:
        """Press the button labelled exactly ``label``: only for labels that are data (a unit's
        name from the organisation file, a case reference), never for words a translator owns."""
        data_label(label)
        return await self._press(lambda b: b.label == label, repr(label))

    async def _press(self, match: Callable[[Button], bool], what: str) -> list[Reply]:
        """Press the first matching button of the latest reply that has buttons."""
        for reply in reversed(self.history):
            for b in reply.flat_buttons():
                if match(b):
                    return await self.send(None, button=b.data)
            if reply.buttons:
                break
        raise AssertionError(f"no button {what} in {self.buttons()} {self.button_values()}")

    def _latest_buttons(self) -> list[Button]:
        for reply in reversed(self.history):
            if reply.buttons:
                return reply.flat_buttons()
        return []

    def buttons(self) -> list[str]:
        return [b.label for b in self._latest_buttons()]

    def button_values(self) -> list[str]:
        return [button_value(b.data) for b in self._latest_buttons()]

    @property
    def last(self) -> str:
        return self.history[-1].text if self.history else ""

    def text(self, replies: list[Reply] | None = None) -> str:
        return "\n".join(r.text for r in (self.history if replies is None else replies))
