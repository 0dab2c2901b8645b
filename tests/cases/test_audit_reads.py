"""Refused reads, /my, /status, /stats and exports are in the keyed audit chain, and no entry ever
carries what a tip says."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from handlers.deps import Deps
from storage import audit
from storage.models import AuditEntry, Staff
from tests.cases.conftest import press_data, tip_case
from tests.cases.test_notice_conflicts import declare

ROOT = Path(__file__).resolve().parents[2]


async def entries(deps: Deps, login: str) -> list[AuditEntry]:
    async with deps.sessionmaker() as s:
        sid = await s.scalar(select(Staff.id).where(Staff.login == login))
        return list((await s.scalars(select(AuditEntry).where(AuditEntry.actor_staff_id == sid)
                                     .order_by(AuditEntry.id))).all())


async def test_refused_reads_are_audited_without_the_tips_content(chat, staff_chat, deps: Deps) -> None:
    case = await tip_case(chat, deps, people="张某，副总队长")
    await declare(deps, "sup2", person="张某")
    sup2 = await staff_chat("sup2")
    outsider = await staff_chat("o20-lead")  # another joint group: no role in the case
    real = (await sup2.send(f"/case {case.reference}"))[0].text
    made_up = (await sup2.send("/case LZ2099-99999"))[0].text
    assert real.replace(case.reference, "X") == made_up.replace("LZ2099-99999", "X")  # still no oracle
    await press_data(outsider, f"a:case:{case.id}.view")
    await press_data(outsider, f"a:case:{case.id}.history")
    await press_data(outsider, "a:case:999999.view")
    await press_data(sup2, f"a:intake:{case.id}")

    refused = [(e.case_id, e.detail) for e in await entries(deps, "sup2") if e.action == "refused"]
    assert (case.id, {"what": "view", "typed": case.reference}) in refused
    assert (None, {"what": "view", "typed": "LZ2099-99999"}) in refused
    assert any(cid == case.id and d["what"] == "classify" for cid, d in refused)
    by_outsider = [(e.case_id, e.detail) for e in await entries(deps, "o20-lead") if e.action == "refused"]
    assert [cid for cid, _d in by_outsider] == [case.id, case.id, None]
    assert [d["what"] for _c, d in by_outsider] == ["view", "view_content", "view"]
    async with deps.sessionmaker() as s:
        every = (await s.scalars(select(AuditEntry))).all()
        assert (await audit.verify(s, key=deps.config.audit_mac_key)).ok
    dumped = json.dumps([e.detail for e in every], ensure_ascii=False)
    assert "张某" not in dumped and "好处费" not in dumped


async def test_my_status_stats_and_the_campaign_report_are_audited(chat, staff_chat, deps: Deps) -> None:
    from tests.campaigns.conftest import create_by_chat

    await tip_case(chat, deps)
    sup = await staff_chat("sup1")
    await sup.send("/my")
    await sup.send("/status week")
    await sup.send("/stats 2026")
    c = await create_by_chat(sup, deps)
    await press_data(sup, f"a:crep:{c.id}.csv")
    got = {e.action: e.detail for e in await entries(deps, "sup1")}
    assert "my" in got
    assert got["status"]["period"] == "week"
    assert got["stats"] == {"period": "2026"}
    assert got["campaign:report"]["format"] == "csv" and got["campaign:report"]["campaign"] == c.reference
    async with deps.sessionmaker() as s:
        assert (await audit.verify(s, key=deps.config.audit_mac_key)).ok


def test_the_organisation_export_is_audited(demo_db_url: str, tmp_path) -> None:
    env = {**os.environ, "LIANZU_DATABASE_URL": demo_db_url}
    out = subprocess.run([sys.executable, "-m", "bot", "org", "export", str(tmp_path / "org.yaml")], cwd=ROOT,
                         capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    out = subprocess.run([sys.executable, "-m", "bot", "audit", "verify"], cwd=ROOT, capture_output=True, text=True,
                         env=env, timeout=60)
    assert out.returncode == 0 and "intact" in out.stdout
    import asyncio

    from storage.db import make_engine, make_sessionmaker

    async def actions() -> list[str]:
        engine = make_engine(demo_db_url)
        try:
            async with make_sessionmaker(engine)() as s:
                return list((await s.scalars(select(AuditEntry.action))).all())
        finally:
            await engine.dispose()

    assert "cli:org_export" in asyncio.run(actions())
