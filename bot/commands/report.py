"""lianzu report --from DATE --to DATE --format csv|xlsx [--out FILE] [--for LOGIN].

Small counts are masked as in every other figure; ``--for`` computes the figures as that staff
member may see them (without the cases they have a conflict on), for an export handed to them."""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import sys
from datetime import date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import ColumnElement, select, true

from bot.commands import cli_log
from bot.settings import Settings
from handlers.schedule.figures import Period, Stats, scope, shown_cells, shown_ratio, stats_for
from storage.crypto import Sealer
from storage.db import make_engine, make_sessionmaker
from storage.models import Staff

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
    p.add_argument("--for", dest="for_login", metavar="LOGIN",
                   help="the staff member the export is for: cases they have a conflict on are left out")
    p.set_defaults(func=cmd_report)


def table(cur: Stats, yoy: Stats, prev: Stats, k: int) -> list[list[object]]:
    """The report's rows; a count too small to show is "<k" (and its ratios "—")."""
    out: list[list[object]] = [list(HEADER)]
    shown = [shown_cells(s, k) for s in (cur, yoy, prev)]

    def cell(text: str) -> object:
        return int(text) if text.isdigit() else text  # numbers stay numbers in a spreadsheet

    for key, label in ROWS:
        a, b, c = (cells.get(key, "0") for cells in shown)
        out.append([label, cell(a), cell(b), shown_ratio(a, b), cell(c), shown_ratio(a, c)])
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

    async def go() -> list[Stats] | None:
        engine = make_engine(settings.database_url)
        try:
            async with make_sessionmaker(engine)() as s, s.begin():
                await cli_log(s, settings, "report", start=str(a), end=str(b), format=args.format,
                              for_login=args.for_login or "")
                where: ColumnElement[bool] = true()
                if args.for_login:
                    staff = await s.scalar(select(Staff).where(Staff.login == args.for_login, Staff.active.is_(True)))
                    if staff is None:
                        return None
                    where = await scope(s, Sealer(settings.keyring), staff)
                return await stats_for(s, where, [p, p.shift(years=-1), p.shift(back=True)])
        finally:
            await engine.dispose()

    figures = asyncio.run(go())
    if figures is None:
        print(f"no active staff member {args.for_login!r}", file=sys.stderr)
        return 2
    cur, yoy, prev = figures
    rows = table(cur, yoy, prev, settings.small_count_threshold)
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
