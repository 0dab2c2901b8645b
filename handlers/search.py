"""Finding a unit by what people call it: part of its name, an abbreviation (交警 for
交通警察, characters taken in order, as Chinese abbreviations are formed), pinyin or its
initials (jjzd), or a small typo; ranked. One function for the tip wizard and for staff."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from functools import lru_cache

from pypinyin import Style, lazy_pinyin
from rapidfuzz import fuzz
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Unit

MIN_SCORE = 70
MAX_CANDIDATES = 2000  # an organisation file holds hundreds of units, not more


def _norm(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKC", text).casefold() if not ch.isspace())


@lru_cache(maxsize=4096)
def _forms(name: str) -> tuple[str, str, str]:
    """The name, its pinyin and its pinyin initials, normalised."""
    return _norm(name), "".join(lazy_pinyin(name)), "".join(lazy_pinyin(name, style=Style.FIRST_LETTER))


def _in_order(query: str, text: str) -> bool:
    it = iter(text)
    return all(ch in it for ch in query)


def score(query: str, name: str) -> float:
    """0–100: how well ``query`` names the unit called ``name``."""
    q = _norm(query)
    if not q:
        return 0.0
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
        best = max(best, fuzz.partial_ratio(q, pinyin) * 0.9 if len(q) >= 4 else 0.0)
    elif len(q) >= 3:
        best = max(best, fuzz.partial_ratio(q, han) * 0.95)  # a typo or a character too many
    return best


def rank(query: str, names: Sequence[tuple[int, str]], limit: int) -> list[int]:
    """The ids of the best matches, best first."""
    scored = [(score(query, n), n, i) for i, n in names]
    good = [(s, n, i) for s, n, i in scored if s >= MIN_SCORE]
    good.sort(key=lambda t: (-t[0], len(t[1]), t[1]))
    return [i for _s, _n, i in good[:limit]]


async def find_units(session: AsyncSession, query: str, limit: int = 8) -> list[Unit]:
    """Units matching ``query``, best first."""
    rows = (await session.execute(select(Unit.id, Unit.name).limit(MAX_CANDIDATES))).all()
    ids = rank(query, [(r.id, r.name) for r in rows], limit)
    if not ids:
        return []
    units = {u.id: u for u in (await session.scalars(select(Unit).where(Unit.id.in_(ids)))).all()}
    return [units[i] for i in ids if i in units]
