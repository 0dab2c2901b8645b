"""gettext for everything a person reads: zh_CN by default, en complete.

Each feature keeps its own catalog domain (``handlers/locale/<lang>/LC_MESSAGES/<domain>.po``);
all domains of a language are merged into one translation. Catalogs are compiled with Babel
to ``.mo`` on first use when the ``.mo`` is missing or older than its ``.po``.
"""

from __future__ import annotations

import gettext as _gettext
from collections.abc import Callable
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from handlers.config import SUPPORTED_LANGUAGES

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT_LANGUAGE = "zh_CN"

Gettext = Callable[[str], str]


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated later, where the language is known."""
    return message


def normalize_language(code: str | None, default: str = DEFAULT_LANGUAGE) -> str:
    """Map platform language codes (zh, zh-hans, zh_TW, en-US, …) onto a supported language."""
    if not code:
        return default
    c = code.replace("-", "_").lower()
    if c.startswith("zh"):
        return "zh_CN"
    if c.startswith("en"):
        return "en"
    return default


def compile_catalogs(locale_dir: Path = LOCALE_DIR, *, force: bool = False) -> list[Path]:
    """Compile every ``.po`` whose ``.mo`` is missing or stale; returns what was written."""
    written = []
    for po in sorted(locale_dir.glob("*/LC_MESSAGES/*.po")):
        mo = po.with_suffix(".mo")
        if force or not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            with po.open("rb") as f:
                catalog = read_po(f, locale=po.parent.parent.name)
            tmp = mo.with_suffix(".mo.tmp")
            with tmp.open("wb") as f:
                write_mo(f, catalog)
            tmp.replace(mo)  # atomic: parallel processes never read half a file
            written.append(mo)
    return written


@cache
def translation(language: str) -> _gettext.NullTranslations:
    if language not in SUPPORTED_LANGUAGES:
        language = DEFAULT_LANGUAGE
    compile_catalogs()
    merged: _gettext.NullTranslations = _gettext.NullTranslations()
    for mo in sorted((LOCALE_DIR / language / "LC_MESSAGES").glob("*.mo")):
        with mo.open("rb") as f:
            t = _gettext.GNUTranslations(f)
        t.add_fallback(merged)
        merged = t
    return merged


def gettext_for(language: str) -> Gettext:
    return translation(language).gettext


def ngettext_for(language: str) -> Callable[[str, str, int], str]:
    return translation(language).ngettext


def lang_of(_: Gettext) -> str:
    """The language ``_`` translates into, so names can be picked for it (``Named.name_for``):
    ``gettext_for(lang)`` (what notices are rendered with; cached, so comparable) or a chat
    context's ``_`` (which knows its ``lang``); anything else reads as the default language."""
    owner_lang = getattr(getattr(_, "__self__", None), "lang", None)
    if isinstance(owner_lang, str) and owner_lang in SUPPORTED_LANGUAGES:
        return owner_lang
    return next((lang for lang in SUPPORTED_LANGUAGES if _ == gettext_for(lang)), DEFAULT_LANGUAGE)


@cache
def _msgids_by_text() -> dict[str, frozenset[str]]:
    """Every translated text (and msgid) → the msgids it stands for, in any language."""
    out: dict[str, set[str]] = {}
    for language in SUPPORTED_LANGUAGES:
        t: _gettext.NullTranslations | None = translation(language)
        while t is not None:
            for k, v in getattr(t, "_catalog", {}).items():
                if isinstance(k, str) and k and isinstance(v, str):
                    out.setdefault(v, set()).add(k)
                    out.setdefault(k, set()).add(k)
            t = getattr(t, "_fallback", None)
    return {k: frozenset(v) for k, v in out.items()}


def same_words(text: str) -> frozenset[str]:
    """``text`` and what it says in every supported language, when it is a catalog string:
    a button labelled "不确定" may be answered with "Not sure" and the other way round."""
    ids = _msgids_by_text().get(text, frozenset())
    return frozenset({text, *ids, *(gettext_for(lang)(i) for i in ids for lang in SUPPORTED_LANGUAGES)})


# Separators a sentence is built with belong to the language: Chinese text takes full-width
# punctuation ("标签：值", "甲、乙"), so code never joins translated words with ": " or ", ".
def labelled(_: Gettext, label: str, value: object) -> str:
    """"label: value" in the reader's typography."""
    return _("{label}: {value}").format(label=label, value=value)


def listing(_: Gettext, items: list[str]) -> str:
    """Items of a list in one line: "a, b, c" / "甲、乙、丙"."""
    return _(", ").join(items)
