"""Peak memory of `lianzu keys rotate` over large attachments: the per-table batch used for
attachments against the general batch size, measured in the same run (tracemalloc)."""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import tracemalloc
from datetime import UTC, datetime

import storage.keys as keys
from storage import migrate
from storage.crypto import Sealer
from storage.db import make_engine, make_sessionmaker
from storage.models import Attachment


async def peak_mib(files: int, size: int, batch: int) -> float:
    url = f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/rotation.db"
    await asyncio.to_thread(migrate.upgrade, url)
    engine = make_engine(url)
    sm = make_sessionmaker(engine)
    k1, k2 = os.urandom(32), os.urandom(32)
    old = Sealer({"k1": k1})
    blob = os.urandom(size)
    now = datetime.now(UTC)
    async with sm() as s, s.begin():
        for _ in range(files):
            s.add(Attachment(key_id="k1", filename_enc=old.seal_with("k1", b"f.pdf"), content_type="application/pdf",
                             size=size, data_enc=old.seal_with("k1", blob), created_at=now))
    saved = dict(keys.BATCH_BY_TABLE)
    keys.BATCH_BY_TABLE["attachments"] = batch
    tracemalloc.start()
    try:
        async with sm() as s, s.begin():
            counts = await keys.rotate(s, Sealer({"k2": k2, "k1": k1}))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        keys.BATCH_BY_TABLE.clear()
        keys.BATCH_BY_TABLE.update(saved)
        await engine.dispose()
    assert counts["attachments"] == files
    return peak / 2**20


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--files", type=int, default=40)
    p.add_argument("--mib", type=float, default=2.0, help="size of each attachment")
    a = p.parse_args()
    size = int(a.mib * 2**20)
    used = keys.BATCH_BY_TABLE["attachments"]
    base = asyncio.run(peak_mib(a.files, size, keys.BATCH))
    ours = asyncio.run(peak_mib(a.files, size, used))
    print(f"{a.files} attachments of {a.mib:g} MiB: peak {ours:.0f} MiB with batch {used}, "
          f"{base:.0f} MiB with batch {keys.BATCH} (baseline): ratio {ours / base:.2f}")


if __name__ == "__main__":
    main()
