"""Rebuild the Chinese font the charts are drawn with: a subset of Noto Sans SC (SIL OFL 1.1).

    .venv/bin/python scripts/font_subset.py                  # fetches the source font with pip
    .venv/bin/python scripts/font_subset.py --source NotoSansSC-Regular.otf

The subset holds every character of every translation catalog (handlers/locale), printable
ASCII, full-width forms and common CJK punctuation, so any chart label in any language can be
drawn. Run it again after translations gain characters the font lacks (the charts fall back to
English labels for a text the font cannot draw, and tests/schedule/test_charts.py fails).

The source is the Noto Sans SC Regular shipped in the Python package ``pylopdf-fonts-zh-cn``
(fetched with ``pip download``, no install). The result is renamed "Lianzu Sans SC": a modified
font must not carry the original's reserved name or trademark (Noto is Google's trademark).
"""

from __future__ import annotations

import argparse
import string
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from babel.messages.pofile import read_po
from fontTools import subset
from fontTools.ttLib import TTFont

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "handlers" / "schedule" / "fonts"
OUT = OUT_DIR / "LianzuSansSC-Regular.otf"
FAMILY = "Lianzu Sans SC"
SOURCE_PACKAGE = "pylopdf-fonts-zh-cn==0.1.1"
SOURCE_MEMBER = "pylopdf_fonts_zh_cn/NotoSansSC-Regular.otf"
# Punctuation a chart title or legend may use beyond what the catalogs hold today.
EXTRA = "，。、；：？！“”‘’（）《》〈〉【】—…·～％＋－×÷≥≤＜＞°" + "".join(chr(c) for c in range(0xFF01, 0xFF5F))


def catalog_characters() -> set[str]:
    chars: set[str] = set()
    for po in sorted((ROOT / "handlers" / "locale").glob("*/LC_MESSAGES/*.po")):
        with po.open("rb") as fh:
            cat = read_po(fh)
        for msg in cat:
            for text in (msg.id, msg.string):
                for part in text if isinstance(text, tuple | list) else (text,):
                    chars.update(part or "")
    return {c for c in chars if c.isprintable()}


def fetch_source(tmp: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(tmp), SOURCE_PACKAGE],
                   check=True)
    wheel = next(tmp.glob("*.whl"))
    with zipfile.ZipFile(wheel) as z:
        z.extract(SOURCE_MEMBER, tmp)
    return tmp / SOURCE_MEMBER


def rename(font: TTFont) -> None:
    name = font["name"]
    for rec in list(name.names):
        if rec.nameID in (1, 4, 16):
            name.setName(FAMILY, rec.nameID, rec.platformID, rec.platEncID, rec.langID)
        elif rec.nameID in (3, 6):
            name.setName("LianzuSansSC-Regular", rec.nameID, rec.platformID, rec.platEncID, rec.langID)
        elif rec.nameID == 7:
            name.removeNames(nameID=7)
    cff = font["CFF "].cff
    cff.fontNames = ["LianzuSansSC-Regular"]
    top = cff.topDictIndex[0]
    top.FullName, top.FamilyName = FAMILY, FAMILY


def build(source: Path, out: Path) -> tuple[int, int]:
    chars = catalog_characters() | set(string.printable.strip()) | {" "} | set(EXTRA)
    font = TTFont(source)
    opts = subset.Options()
    opts.layout_features = ["kern", "palt", "vert"]  # nothing else is used by a chart label
    opts.hinting = False
    opts.desubroutinize = True  # smaller once compressed; FreeType draws either
    opts.name_IDs = [0, 1, 2, 3, 4, 5, 6, 7, 11, 13, 14, 16, 17]
    opts.name_languages = ["*"]
    sub = subset.Subsetter(opts)
    sub.populate(unicodes=[ord(c) for c in chars])
    sub.subset(font)
    rename(font)
    font.recalcTimestamp = False  # the same input gives the same bytes
    out.parent.mkdir(parents=True, exist_ok=True)
    font.save(out)
    return len(chars), out.stat().st_size


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=Path, help="NotoSansSC-Regular.otf (default: fetched with pip download)")
    ap.add_argument("--out", type=Path, default=OUT)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        source = a.source or fetch_source(Path(tmp))
        n, size = build(source, a.out)
    print(f"wrote {a.out.relative_to(ROOT) if a.out.is_relative_to(ROOT) else a.out}: {n} characters, {size // 1024} KiB")


if __name__ == "__main__":
    main()
