"""Builds the dispatcher with every feature's router. Add a feature here, once."""

from __future__ import annotations

from handlers import cases, core, reporter
from handlers.schedule import commands as figures
from handlers.schedule import deadlines  # noqa: F401  (registers lifecycle listeners)
from handlers.deps import Deps
from handlers.dispatcher import Dispatcher


def make_dispatcher(deps: Deps) -> Dispatcher:
    # Order matters only for /help listing ties; routers own disjoint commands.
    routers = [
        core.make_router(),
        reporter.make_router(),
        cases.make_router(),
        figures.make_router(),
    ]
    return Dispatcher(deps, routers)
