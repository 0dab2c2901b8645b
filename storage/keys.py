"""Key rotation: re-seal every sealed value under the current (first) key.

Afterwards the old keys can be removed from ``LIANZU_ENCRYPTION_KEYS``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.crypto import Sealer
from storage.models import (
    Attachment,
    Case,
    CaseNote,
    ConversationState,
    Evaluation,
    InboxItem,
    Outbox,
    ProgressReport,
    Tip,
    TipMessage,
    TipQuestion,
)

# model → (key id column, sealed columns)
SEALED: list[tuple[Any, str, tuple[str, ...]]] = [
    (Tip, "key_id", ("subject_enc", "people_enc", "body_enc", "reporter_name_enc", "reporter_contact_enc", "reporter_chat_enc")),
    (TipMessage, "key_id", ("body_enc",)),
    (TipQuestion, "key_id", ("text_enc",)),
    (Attachment, "key_id", ("filename_enc", "data_enc")),
    (Case, "key_id", ("summary_enc", "result_enc")),
    (CaseNote, "key_id", ("body_enc",)),
    (ConversationState, "key_id", ("sealed",)),
    (Outbox, "key_id", ("address_enc",)),
    (ProgressReport, "key_id", ("note_enc", "file_enc")),
    (Evaluation, "key_id", ("note_enc",)),
    (InboxItem, "key_id", ("sealed",)),
]
BATCH = 200
# Attachments hold up to max_attachment_bytes each (20 MB by default): a batch of 200 could
# need gigabytes, so they go a few at a time (peak memory ~ batch × size × 2).
BATCH_BY_TABLE = {"attachments": 8}


async def rotate(session: AsyncSession, sealer: Sealer) -> dict[str, int]:
    """Re-seal rows not yet under the current key; returns rows changed per table."""
    current = sealer.current_key_id
    counts: dict[str, int] = {}
    for model, key_col, cols in SEALED:
        kc = getattr(model, key_col)
        n = 0
        while True:
            rows = (await session.scalars(select(model).where(kc.is_not(None), kc != current).limit(BATCH_BY_TABLE.get(model.__tablename__, BATCH)))).all()
            if not rows:
                break
            for row in rows:
                old = getattr(row, key_col)
                for col in cols:
                    blob = getattr(row, col)
                    if blob is not None:
                        setattr(row, col, sealer.seal_with(current, sealer.open(old, blob)))
                setattr(row, key_col, current)
                n += 1
            await session.flush()
        counts[model.__tablename__] = n
    return counts


async def unknown_key_ids(session: AsyncSession, keyring: dict[str, bytes] | set[str]) -> dict[str, list[str]]:
    """Key ids found in the database that are not configured, with the tables holding them.
    Checked at start-up over every table that stores a key id (``SEALED``), one DISTINCT each."""
    missing: dict[str, list[str]] = {}
    for model, key_col, _cols in SEALED:
        kc = getattr(model, key_col)
        for kid in (await session.scalars(select(kc).where(kc.is_not(None)).distinct())).all():
            if kid not in keyring:
                missing.setdefault(kid, []).append(model.__tablename__)
    return missing
