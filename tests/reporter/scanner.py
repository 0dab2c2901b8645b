"""A leak scanner: looks for identifying values in every table and column, in log text and
in anything else given, as plain text, hex and base64. Reusable by the channel suites:

    leaks = await scan_database(sessionmaker, needles)
    leaks += scan_text("logs", caplog.text, needles)
    assert leaks == []
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.base import Base
import storage.models  # noqa: F401  (registers every table on Base.metadata)


def encodings(value: str) -> dict[str, bytes]:
    """The forms a value may take at rest: UTF-8, UTF-16, hex (both cases), base64 (std, url-safe)."""
    raw = value.encode("utf-8")
    forms = {
        "plain": raw,
        "utf-16-le": value.encode("utf-16-le"),
        "hex": raw.hex().encode(),
        "HEX": raw.hex().upper().encode(),
        "base64": base64.b64encode(raw).rstrip(b"="),
        "base64url": base64.urlsafe_b64encode(raw).rstrip(b"="),
        "json-escaped": json.dumps(value).strip('"').encode(),
    }
    # base64 of a value embedded at another offset in a longer blob shifts its alignment:
    # also look for the aligned cores of the value at offsets 1 and 2.
    for off in (1, 2):
        core = base64.b64encode(b"\0" * off + raw)[4:-4]
        if len(core) >= 8:
            forms[f"base64+{off}"] = core
    return {k: v for k, v in forms.items() if v}


def _as_bytes(v: Any) -> bytes | None:
    if v is None:
        return None
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v)
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False, default=str).encode()
    return str(v).encode("utf-8")


def scan_blob(where: str, blob: bytes, needles: Iterable[str]) -> list[str]:
    found = []
    low = blob.lower()
    for needle in needles:
        for form, enc in encodings(needle).items():
            hay = low if form in ("hex", "HEX") else blob
            probe = enc.lower() if form in ("hex", "HEX") else enc
            if probe in hay:
                found.append(f"{where}: {needle!r} as {form}")
    return found


def scan_text(where: str, text: str, needles: Iterable[str]) -> list[str]:
    return scan_blob(where, text.encode("utf-8"), needles)


async def dump_database(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, every column (raw values, bytes kept as bytes)."""
    out: dict[str, list[dict[str, Any]]] = {}
    async with sessionmaker() as s:
        for table in Base.metadata.sorted_tables:
            rows = (await s.execute(select(table))).mappings().all()
            out[table.name] = [dict(r) for r in rows]
    return out


async def scan_database(sessionmaker: async_sessionmaker[AsyncSession], needles: Iterable[str]) -> list[str]:
    needles = list(needles)
    found: list[str] = []
    for table, rows in (await dump_database(sessionmaker)).items():
        for i, row in enumerate(rows):
            for col, v in row.items():
                b = _as_bytes(v)
                if b:
                    found += scan_blob(f"{table}[{i}].{col}", b, needles)
    return found
