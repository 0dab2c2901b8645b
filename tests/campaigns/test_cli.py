"""`lianzu campaign create FILE` and `lianzu campaign report REF --format csv|xlsx`, the real CLI."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import select

from bot.cli import main
from handlers.deps import Deps
from storage.models import Campaign
from tests.conftest import TEST_KEYS, TEST_SALT

DEMO_FILE = Path(__file__).resolve().parents[2] / "storage" / "demo" / "campaign-demo.yaml"


def _env(monkeypatch, deps: Deps) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("LIANZU_DATABASE_URL", deps.config.database_url)
    monkeypatch.setenv("LIANZU_INSTALLATION_SALT", TEST_SALT)
    monkeypatch.setenv("LIANZU_ENCRYPTION_KEYS", TEST_KEYS)


async def test_create_from_a_file_then_report_as_csv_and_xlsx(deps: Deps, monkeypatch, capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _env(monkeypatch, deps)
    assert await asyncio.to_thread(main, ["campaign", "create", str(DEMO_FILE)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ZX2026-001: 8 targets, 4 subgroups proposed")
    async with deps.sessionmaker() as s:
        c = await s.scalar(select(Campaign))
        assert c is not None and c.state == "proposed" and len(c.subgroups) == 4
    assert await asyncio.to_thread(main, ["campaign", "report", "ZX2026-001", "--format", "csv"]) == 0
    csv_text = capsys.readouterr().out
    assert csv_text.splitlines()[0].startswith("小组,检查对象,收集报告数,谈话人数,发现问题数,移交问题线索数,立为线索案件数")
    assert len(csv_text.splitlines()) == 1 + 8 + 1 + 2  # header, targets, total, evaluation header
    out_file = tmp_path / "r.xlsx"
    assert await asyncio.to_thread(main, ["campaign", "report", "zx2026-001", "--format", "xlsx", "--out",
                                          str(out_file)]) == 0
    ws = load_workbook(io.BytesIO(out_file.read_bytes())).active
    assert ws is not None and ws["A1"].value == "小组" and ws.max_row == 1 + 8 + 1 + 2


async def test_a_bad_file_is_refused_with_the_key_named(deps: Deps, monkeypatch, capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _env(monkeypatch, deps)
    bad = tmp_path / "bad.yaml"
    bad.write_text("title: x\nkind: cross_inspection\njoint_group: jg1\nstarts_on: 2026-12-02\n"
                   "ends_on: 2026-12-01\nsubgroups: 1\ntargets:\n  - region: nowhere\n", encoding="utf-8")
    assert await asyncio.to_thread(main, ["campaign", "create", str(bad)]) == 2
    assert "ends_on is before starts_on" in capsys.readouterr().err
    bad.write_text(bad.read_text(encoding="utf-8").replace("2026-12-01", "2026-12-09"), encoding="utf-8")
    assert await asyncio.to_thread(main, ["campaign", "create", str(bad)]) == 2
    assert "targets.0: unknown region 'nowhere'" in capsys.readouterr().err
    async with deps.sessionmaker() as s:
        assert await s.scalar(select(Campaign)) is None
