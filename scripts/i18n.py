"""Extract translatable strings into per-feature catalog domains and merge them into the
zh_CN and en catalogs (existing translations are kept; en gets msgid as its translation).

    python scripts/i18n.py update     # after adding or changing strings
    python scripts/i18n.py check      # list strings missing a translation (exit 1 if any)

Each domain is one feature's folder, so parallel work never edits the same catalog. Every
module under handlers/ and bot/ is found without being listed: a folder handlers/NAME/ is
domain NAME; files directly in handlers/ and everything under bot/ are domain "core".
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract as babel_extract
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "handlers" / "locale"
LANGS = ("zh_CN", "en")
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2), "gettext": None}
SOURCES = ("handlers", "bot")  # every .py file under these holds strings a person may read
CORE = "core"


def domain_of(path: Path, root: Path = ROOT) -> str:
    """handlers/NAME/… → NAME; handlers/*.py and bot/… → core."""
    parts = path.relative_to(root).parts
    if parts[0] == "handlers" and len(parts) > 2:
        return parts[1]
    return CORE


def domain_files(root: Path = ROOT) -> dict[str, list[Path]]:
    out: dict[str, list[Path]] = {}
    for top in SOURCES:
        for f in sorted((root / top).rglob("*.py")):
            out.setdefault(domain_of(f, root), []).append(f)
    return dict(sorted(out.items()))


def extract(files: list[Path], root: Path = ROOT) -> Catalog:
    template = Catalog(fuzzy=False)
    for f in files:
        with f.open("rb") as fh:
            for lineno, message, comments, context in babel_extract("python", fh, keywords=KEYWORDS):
                template.add(message, None, [(str(f.relative_to(root)), lineno)], auto_comments=comments, context=context)
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
                # Sorted and without line numbers: catalogs change only when strings do, so parallel
                # work rarely collides in them.
                write_po(fh, cat, width=100, omit_header=False, sort_output=True, include_lineno=False)
        print(f"{domain}: {len(template)} messages")


def missing(root: Path = ROOT) -> list[str]:
    problems = []
    for domain, files in domain_files(root).items():
        template = extract(files, root)
        for lang in LANGS:
            po = root / LOCALE.relative_to(ROOT) / lang / "LC_MESSAGES" / f"{domain}.po"
            if po.exists():
                with po.open("rb") as fh:
                    cat = read_po(fh, locale=lang)
            else:
                cat = Catalog(locale=lang)
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

