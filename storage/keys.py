"""Key rotation: re-seal every encrypted column under the current (first configured) key.

Each sealed row stores the id of the key that sealed it, so rotation only touches rows whose
key id differs, in small committed batches: it can be interrupted and run again. Once it
reports nothing left under an old key, that key can be removed from the configuration.
"""

from __future__ import annotations

from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import storage.models  # noqa: F401  (registers the tables)
from storage.base import Base
from storage.crypto import Sealer

# table → sealed columns; every table has a ``key_id`` column naming the key of all of them.
SEALED_COLUMNS: dict[str, tuple[str, ...]] = {
    "tips": ("subject_enc", "people_enc", "body_enc", "reporter_name_enc", "reporter_contact_enc",
             "reporter_chat_enc"),
    "tip_messages": ("body_enc",),
    "tip_questions": ("text_enc",),
    "attachments": ("filename_enc", "data_enc"),
    "cases": ("summary_enc",),
    "case_notes": ("body_enc",),
    "conversation_states": ("sealed",),
    "outbox": ("address_enc",),
}
# Attachments can be large: a small batch keeps memory bounded.
BATCH_ROWS = 50


def _pk(table: Table):  # type: ignore[no-untyped-def]
    return list(table.primary_key.columns)[0]


async def rotate(sessionmaker: async_sessionmaker[AsyncSession], sealer: Sealer) -> dict[str, int]:
    """Re-seal everything not under ``sealer.current_key_id``; returns rows re-sealed per table.

    Raises ``storage.crypto.UnknownKeyError`` if a row was sealed under a key that is not
    configured (nothing in that batch is changed)."""
    current = sealer.current_key_id
    counts: dict[str, int] = {}
    for name, cols in SEALED_COLUMNS.items():
        table = Base.metadata.tables[name]
        pk, kid = _pk(table), table.c.key_id
        counts[name] = 0
        while True:
            async with sessionmaker() as s, s.begin():
                rows = (await s.execute(
                    select(pk, kid, *(table.c[c] for c in cols))
                    .where(kid.is_not(None), kid != current).order_by(pk).limit(BATCH_ROWS)
                )).all()
                if not rows:
                    break
                for row in rows:
                    values: dict[str, object] = {"key_id": current}
                    for c in cols:
                        blob = getattr(row, c)
                        if blob is not None:
                            values[c] = sealer.seal_with(current, sealer.open(row.key_id, blob))
                    await s.execute(update(table).where(pk == row[0]).values(**values))
                counts[name] += len(rows)
    return counts


async def keys_in_use(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    """How many rows each key id still seals, over all sealed tables."""
    used: dict[str, int] = {}
    async with sessionmaker() as s:
        for name in SEALED_COLUMNS:
            kid = Base.metadata.tables[name].c.key_id
            for k, in (await s.execute(select(kid).where(kid.is_not(None)))).all():
                used[k] = used.get(k, 0) + 1
    return used
