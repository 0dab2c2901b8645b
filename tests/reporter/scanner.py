"""Looks for identity values anywhere they must not be: every column of every table (text and
bytes), log text and outbox payloads, as plain text, hex and base64."""

from __future__ import annotations

import base64
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.base import Base


def encodings(value: str) -> set[bytes]:
    raw = value.encode("utf-8")
    forms = {raw, raw.hex().encode(), raw.hex().upper().encode()}
    # base64 of the value at any byte alignment inside a longer blob: keep only the
    # characters that depend on the value's bytes alone.
    for shift, start in ((0, 0), (1, 2), (2, 3)):
        for enc in (base64.b64encode, base64.urlsafe_b64encode):
            core = enc(b"\0" * shift + raw).rstrip(b"=")
            forms.add(core[start : len(core) - 3])
    return {f for f in forms if len(f) >= 4}


async def dump(engine: AsyncEngine) -> list[tuple[str, str, bytes]]:
    """(table, column, value as bytes) for every non-null cell."""
    out = []
    async with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in (await conn.execute(select(table))).mappings():
                for col, val in row.items():
                    if val is None:
                        continue
                    b = val if isinstance(val, (bytes, bytearray, memoryview)) else str(val).encode("utf-8")
                    out.append((table.name, col, bytes(b)))
    return out


async def find_leaks(engine: AsyncEngine, values: Iterable[str], logs: str = "") -> list[str]:
    cells = await dump(engine)
    log_bytes = logs.encode("utf-8")
    leaks = []
    for value in values:
        for form in encodings(value):
            for table, col, b in cells:
                if form in b:
                    leaks.append(f"{value!r} in {table}.{col}")
            if form in log_bytes:
                leaks.append(f"{value!r} in logs")
    return sorted(set(leaks))
