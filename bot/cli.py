"""The ``lianzu`` command."""

from __future__ import annotations

import argparse
import importlib
import sys

from bot.commands import MODULES
from bot.logs import configure_logging
from bot.settings import SettingsError, load_settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lianzu", description="Lianzu (联组) chat assistant")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    return int(args.func(settings, args) or 0)


if __name__ == "__main__":
    sys.exit(main())
