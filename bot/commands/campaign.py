"""lianzu campaign create FILE | lianzu campaign report REF --format csv|xlsx [--out FILE]."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml
from pydantic import ValidationError

from bot.commands import cli_log
from bot.commands.staff import run_uow
from bot.settings import Settings
from handlers.campaigns import filespec, report, service
from handlers.i18n import gettext_for
from handlers.uow import UnitOfWork


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("campaign", help="campaigns (专项检查 / 交叉巡察): create from a file, write the report")
    csub = p.add_subparsers(dest="campaign_command", required=True)
    c = csub.add_parser("create", help="create a campaign from a YAML file (docs/campaigns.md); subgroups are proposed")
    c.add_argument("file", type=Path)
    c.set_defaults(func=cmd_create)
    r = csub.add_parser("report", help="write a campaign's report as CSV or XLSX")
    r.add_argument("reference")
    r.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    r.add_argument("--out", type=Path, help="file to write (default: standard output for csv, REF.xlsx for xlsx)")
    r.set_defaults(func=cmd_report)


def cmd_create(settings: Settings, args: argparse.Namespace) -> int:
    try:
        data = yaml.safe_load(args.file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        print(f"{args.file}: {exc}", file=sys.stderr)
        return 2

    async def go(uow: UnitOfWork) -> str:
        c = await filespec.create_from(uow, data if isinstance(data, dict) else {})
        return f"{c.reference}: {len(c.targets)} targets, {len(c.subgroups)} subgroups proposed " \
               f"({sum(len(sg.members) for sg in c.subgroups)} people); confirm it in the chat with /campaign {c.reference}"

    try:
        print(run_uow(settings, go))
    except ValidationError as exc:
        print("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()), file=sys.stderr)
        return 2
    except (filespec.FileError, service.Problem) as exc:
        print(str(exc), file=sys.stderr)
        return 2
    return 0


def cmd_report(settings: Settings, args: argparse.Namespace) -> int:
    _ = gettext_for(settings.default_language)

    async def go(uow: UnitOfWork) -> list[list[object]] | None:
        c = await service.find(uow.session, args.reference)
        if c is None:
            return None
        # The command line is an administrator's tool: the whole campaign, evaluations included.
        rows = await report.table(uow, _, c, c.targets, with_evaluations=True)
        await cli_log(uow.session, settings, "campaign_report", campaign=c.reference, format=args.format)
        return rows

    rows = run_uow(settings, go)
    if rows is None:
        print(f"no campaign {args.reference}", file=sys.stderr)
        return 2
    if args.format == "csv":
        data = report.as_csv(rows)
        if args.out:
            args.out.write_bytes(data)
        else:
            sys.stdout.write(data.decode("utf-8").lstrip("\ufeff"))
    else:
        out = args.out or Path(f"{args.reference.upper()}.xlsx")
        out.write_bytes(report.as_xlsx(rows, args.reference.upper()))
        print(f"wrote {out}")
    return 0
