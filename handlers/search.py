"""Finding a unit by what people call it: part of its name, an alias from the organisation file
(交警, 发改委), an abbreviation (交警 for 交通警察, characters taken in order, as Chinese
abbreviations are formed), pinyin or its initials (jjzd), its English name or words of it
("tax", "traffic police"), or a small typo in any of these; ranked. One function for the tip
wizard and for staff."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Unit

MIN_SCORE = 70
MAX_CANDIDATES = 2000  # an organisation file holds hundreds of units, not more
_WORD = re.compile(r"[a-z0-9]+")
# Words of English names that say nothing about which unit is meant.
_FILLER = frozenset({"the", "of", "and", "for", "at", "provincial", "province"})


@dataclass(frozen=True)
class Names:
    """Everything a unit is called: its official name, aliases and English name."""

    name: str
    aliases: tuple[str, ...] = ()
    name_en: str | None = None


def _norm(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKC", text).casefold() if not ch.isspace())


def _words(text: str) -> list[str]:
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


@lru_cache(maxsize=4096)
def _forms(name: str) -> tuple[str, str, str]:
    """The name, its pinyin and its pinyin initials, normalised."""
    # pypinyin loads its dictionaries on import (~0.4 s, tens of MiB): only once someone searches.
    from pypinyin import Style, lazy_pinyin

    return _norm(name), "".join(lazy_pinyin(name)), "".join(lazy_pinyin(name, style=Style.FIRST_LETTER))


def _in_order(query: str, text: str) -> bool:
    it = iter(text)
    return all(ch in it for ch in query)


def _score_chinese(q: str, name: str, *, whole: bool = False) -> float:
    """0–100 for a normalised query against one Chinese name, or an alias (``whole``: people type
    an alias whole, so a typo is measured against all of it, not against a part)."""
    from rapidfuzz import fuzz  # ~3 MiB resident: loaded by the first search, not at start

    similar = fuzz.ratio if whole else fuzz.partial_ratio
    han, pinyin, initials = _forms(name)
    if q in han:
        return 100.0 - min(len(han) - len(q), 20) / 10  # shorter names first among exact hits
    best = 0.0
    if len(q) >= 2 and _in_order(q, han):
        best = 90.0 - min(len(han) - len(q), 20) / 10
    if q.isascii():
        if len(q) >= 2 and (q in initials or q in pinyin):
            best = max(best, 95.0)
        elif len(q) >= 3 and (_in_order(q, initials) or (len(q) >= 6 and _in_order(q, pinyin))):
            best = max(best, 80.0)  # jjzd, jiaojing: an abbreviation in pinyin
        best = max(best, similar(q, pinyin) * 0.9 if len(q) >= 4 else 0.0)
    elif len(q) >= 3:
        best = max(best, similar(q, han) * 0.95)  # a typo or a character too many
    return best


def _score_english(query: str, name_en: str) -> float:
    """0–100: every word typed starts a word of the English name ("tax" → Taxation), or is one
    with a small typo ("trafic")."""
    typed = [w for w in _words(query) if w not in _FILLER]
    words = _words(name_en)
    if not typed or not words:
        return 0.0
    total = 0.0
    for t in typed:
        if any(w.startswith(t) for w in words) and (len(t) >= 3 or t in words):
            total += 100.0
        elif len(t) >= 4:
            from rapidfuzz import fuzz  # see _score_chinese

            near = max(fuzz.ratio(t, w) for w in words)
            if near < 80:
                return 0.0
            total += near * 0.9
        else:
            return 0.0
    meaningful = [w for w in words if w not in _FILLER]
    # Of two names that both contain the words, the one with fewer other words fits better.
    return total / len(typed) * 0.96 - min(max(len(meaningful) - len(typed), 0), 10) / 10


def score(query: str, name: str | Names) -> float:
    """0–100: how well ``query`` names the unit called ``name``."""
    names = name if isinstance(name, Names) else Names(name)
    q = _norm(query)
    if not q:
        return 0.0
    best = max([_score_chinese(q, names.name), *(_score_chinese(q, a, whole=True) for a in names.aliases)])
    if names.name_en and q.isascii():
        best = max(best, _score_english(query, names.name_en))
    return best


def rank(query: str, entries: Iterable[tuple[int, str | Names]], limit: int) -> list[int]:
    """The ids of the best matches, best first."""
    scored = []
    for i, n in entries:
        s = score(query, n)
        if s >= MIN_SCORE:
            official = n.name if isinstance(n, Names) else n
            scored.append((s, official, i))
    scored.sort(key=lambda t: (-t[0], len(t[1]), t[1]))
    return [i for _s, _n, i in scored[:limit]]


async def find_units(session: AsyncSession, query: str, limit: int = 8) -> list[Unit]:
    """Units matching ``query``, best first."""
    rows = (await session.execute(
        select(Unit.id, Unit.name, Unit.name_en, Unit.aliases_text).limit(MAX_CANDIDATES))).all()
    entries: Sequence[tuple[int, str | Names]] = [
        (r.id, Names(r.name, tuple(a for a in r.aliases_text.splitlines() if a), r.name_en)) for r in rows]
    ids = rank(query, entries, limit)
    if not ids:
        return []
    units = {u.id: u for u in (await session.scalars(select(Unit).where(Unit.id.in_(ids)))).all()}
    return [units[i] for i in ids if i in units]
