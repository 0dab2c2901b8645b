"""lianzu report --from DATE --to DATE --format csv|xlsx [--out FILE]."""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import sys
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import true

from bot.commands import cli_log
from bot.settings import Settings
from handlers.schedule.figures import Period, ratio, stats
from storage.db import make_engine, make_sessionmaker

ROWS = [
    ("received", "受理问题线索 Clues received"),
    ("source:public_report", "  信访举报 Public reports"),
    ("source:inspection_handover", "  巡视巡察移交 Inspection handovers"),
    ("source:audit_handover", "  审计移交 Audit handovers"),
    ("source:superior_referral", "  上级交办 Referrals from above"),
    ("source:self_found", "  自主发现 Found by ourselves"),
    ("screened", "排查线索 Clues screened"),
    ("disposal:talk_inquiry", "  谈话函询 Talk or letter inquiry"),
    ("disposal:preliminary_verification", "  初步核实 Preliminary verification"),
    ("disposal:shelved", "  暂存待查 Shelved"),
    ("disposal:closed_no_action", "  予以了结 Closed, no action"),
    ("filed", "立案 Cases filed"),
    ("concluded", "办结 Cases concluded"),
    ("disciplined", "处分人数 People disciplined"),
]
HEADER = ["指标 Item", "本期 This period", "去年同期 Same period last year", "同比 YoY", "上期 Previous period", "环比 MoM"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="write the statistics for a period as CSV or XLSX")
    p.add_argument("--from", dest="start", required=True, help="first day, YYYY-MM-DD")
    p.add_argument("--to", dest="end", required=True, help="last day, YYYY-MM-DD (included)")
    p.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    p.add_argument("--out", type=Path, help="file to write (default: standard output for csv, report.xlsx for xlsx)")
    p.set_defaults(func=cmd_report)


def table(cur: dict[str, Any], yoy: dict[str, Any], prev: dict[str, Any]) -> list[list[object]]:
    out: list[list[object]] = [list(HEADER)]
    for key, label in ROWS:
        a, b, c = cur.get(key, 0), yoy.get(key, 0), prev.get(key, 0)
        out.append([label, a, b, ratio(a, b), c, ratio(a, c)])
    return out


def cmd_report(settings: Settings, args: argparse.Namespace) -> int:
    try:
        a, b = date.fromisoformat(args.start), date.fromisoformat(args.end)
    except ValueError:
        print("--from and --to must be dates like 2026-03-01", file=sys.stderr)
        return 2
    if b < a:
        print("--to must not be before --from", file=sys.stderr)
        return 2
    tz = settings.tz
    p = Period(datetime.combine(a, time(0), tzinfo=tz), datetime.combine(b + timedelta(days=1), time(0), tzinfo=tz),
               f"{a}..{b}")

    async def go() -> list[dict[str, Any]]:
        engine = make_engine(settings.database_url)
        try:
            async with make_sessionmaker(engine)() as s, s.begin():
                await cli_log(s, settings, "report", start=str(a), end=str(b), format=args.format)
                return [(await stats(s, true(), q)).as_dict() for q in (p, p.shift(years=-1), p.shift(back=True))]
        finally:
            await engine.dispose()

    rows = table(*asyncio.run(go()))
    if args.format == "csv":
        buf = io.StringIO()
        csv.writer(buf).writerows(rows)
        if args.out:
            args.out.write_text("\ufeff" + buf.getvalue(), encoding="utf-8")  # BOM: Excel opens it as UTF-8
        else:
            sys.stdout.write(buf.getvalue())
    else:
        from openpyxl import Workbook

        wb = Workbook()
        ws = wb.active
        ws.title = f"{a}~{b}"[:31]
        for r in rows:
            ws.append(r)
        ws.column_dimensions["A"].width = 36
        out = args.out or Path("report.xlsx")
        wb.save(out)
        print(f"wrote {out}")
    return 0
