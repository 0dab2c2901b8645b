"""Extract translatable strings into per-feature catalog domains and merge them into the
zh_CN and en catalogs (existing translations are kept; en gets msgid as its translation).

    python scripts/i18n.py update     # after adding or changing strings
    python scripts/i18n.py check      # list strings missing a translation (exit 1 if any)

Each domain is one feature's folder, so parallel work never edits the same catalog.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "handlers" / "locale"
LANGS = ("zh_CN", "en")
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2), "gettext": None}
# domain → folders (relative to the repo) whose strings it holds; a folder's strings go
# to the first domain that names it, files directly in handlers/ and bot/ go to "core".
DOMAINS: dict[str, list[str]] = {
    "core": ["handlers", "handlers/core", "bot", "bot/channels", "bot/commands"],
    "reporter": ["handlers/reporter"],
    "cases": ["handlers/cases"],
    "schedule": ["handlers/schedule"],
}


def domain_files() -> dict[str, list[Path]]:
    claimed: set[Path] = set()
    out: dict[str, list[Path]] = {}
    # Deeper folders first so a feature folder wins over its parent.
    pairs = sorted(((d, ROOT / f) for d, fs in DOMAINS.items() for f in fs), key=lambda p: -len(p[1].parts))
    for domain, folder in pairs:
        files = sorted(folder.glob("*.py")) if folder.name in ("handlers", "bot") else sorted(folder.rglob("*.py"))
        for f in files:
            if f not in claimed:
                claimed.add(f)
                out.setdefault(domain, []).append(f)
    return out


def extract(files: list[Path]) -> Catalog:
    template = Catalog(fuzzy=False)
    for f in files:
        from babel.messages.extract import extract as bextract

        with f.open("rb") as fh:
            for lineno, message, comments, context in bextract("python", fh, keywords=KEYWORDS):
                template.add(message, None, [(str(f.relative_to(ROOT)), lineno)], auto_comments=comments, context=context)
    return template


def update() -> None:
    for domain, files in domain_files().items():
        template = extract(files)
        for lang in LANGS:
            po = LOCALE / lang / "LC_MESSAGES" / f"{domain}.po"
            po.parent.mkdir(parents=True, exist_ok=True)
            if po.exists():
                with po.open("rb") as fh:
                    cat = read_po(fh, locale=lang)
            else:
                cat = Catalog(locale=lang, domain=domain, project="lianzu")
            cat.update(template, no_fuzzy_matching=True)
            if lang == "en":
                for m in cat:
                    if m.id and (not m.string or (isinstance(m.string, tuple) and not all(m.string))):
                        m.string = m.id
            cat.obsolete.clear()
            with po.open("wb") as fh:
                write_po(fh, cat, width=100, omit_header=False, sort_output=False)
        print(f"{domain}: {len(template)} messages")


def missing() -> list[str]:
    problems = []
    for domain, files in domain_files().items():
        template = extract(files)
        for lang in LANGS:
            po = LOCALE / lang / "LC_MESSAGES" / f"{domain}.po"
            cat = read_po(po.open("rb"), locale=lang) if po.exists() else Catalog(locale=lang)
            for m in template:
                if not m.id:
                    continue
                t = cat.get(m.id)
                if t is None or not t.string or (isinstance(t.string, tuple) and not all(t.string)) or t.fuzzy:
                    problems.append(f"{lang}/{domain}: {m.id!r}")
    return problems


if __name__ == "__main__":
    if sys.argv[1:] == ["update"]:
        update()
    elif sys.argv[1:] == ["check"]:
        probs = missing()
        print("\n".join(probs) or "all translated")
        sys.exit(1 if probs else 0)
    else:
        print(__doc__)
        sys.exit(2)


def fill(domain: str, lang: str, translations: dict[str, str]) -> None:
    """Set translations programmatically (e.g. from a dict in a one-off script)."""
    po = LOCALE / lang / "LC_MESSAGES" / f"{domain}.po"
    with po.open("rb") as fh:
        cat = read_po(fh, locale=lang)
    for msgid, text in translations.items():
        m = cat.get(msgid)
        if m is None:
            raise KeyError(f"{msgid!r} is not in {po}")
        # Plural messages: Chinese has one form.
        m.string = (text,) * cat.num_plurals if isinstance(m.id, tuple) else text
        m.flags.discard("fuzzy")
    with po.open("wb") as fh:
        write_po(fh, cat, width=100, sort_output=False)
