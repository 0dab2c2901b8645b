"""The bootstrap: builds the dependencies (with the event bus and its listeners, and the
validated deadline policy) and the dispatcher with every feature's router. A feature is added
here, once; nothing registers itself by being imported."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers import campaigns, cases, core, intents, reporter
from handlers.bus import Bus
from handlers.cases import joint_units
from handlers.cases import listeners as case_listeners
from handlers.clock import Clock
from handlers.config import Config
from handlers.deps import Deps
from handlers.dispatcher import Dispatcher
from handlers.policy import load_policy
from handlers.router import Router
from handlers.schedule import commands as schedule
from handlers.schedule import deadlines
from storage.crypto import Sealer


def make_bus() -> Bus:
    bus = Bus()
    bus.listen("tip.submitted", case_listeners.route_new_tip)
    bus.listen("tip.answered", case_listeners.tell_team_of_answer)
    bus.listen("tip.material_added", case_listeners.tell_team_of_material)
    bus.listen("case.transition", deadlines.on_transition)
    bus.listen("assignment.confirmed", deadlines.on_assignment)
    bus.listen("assignment.confirmed", joint_units.on_assignment)
    bus.listen("member.acknowledged", deadlines.on_acknowledged)
    return bus


def make_deps(config: Config, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock, sealer: Sealer, *,
              platform_notes: Mapping[str, str] | None = None,
              forget_notes: Mapping[str, str] | None = None) -> Deps:
    """Everything the assistant depends on; the policy file is read and validated here (a bad one
    stops start-up with the key named)."""
    return Deps(config=config, sessionmaker=sessionmaker, clock=clock, sealer=sealer, bus=make_bus(),
                policy=load_policy(config.policy_file, config.tz), platform_notes=dict(platform_notes or {}),
                forget_notes=dict(forget_notes or {}))


def make_routers() -> list[Router]:
    # Order matters only for /help listing ties; routers own disjoint commands.
    return [
        core.make_router(),
        reporter.make_router(),
        cases.make_router(),
        schedule.make_router(),
        campaigns.make_router(),
        intents.make_router(),
    ]


def make_dispatcher(deps: Deps) -> Dispatcher:
    return Dispatcher(deps, make_routers())
