"""Cases: lifecycle actions, conflict-free routing, assignment notices with 签收, staff views."""

from __future__ import annotations

from handlers.cases.commands import make_router

__all__ = ["make_router"]
