"""Campaigns (专项检查 / 交叉巡察): mixed subgroups proposed free of conflicts, notices with 签收,
progress from the chat, a clue becoming a case, the report, two-way evaluation."""

from __future__ import annotations

from handlers.campaigns.commands import make_router

__all__ = ["make_router"]
