"""Helpers for campaign tests: a campaign created through the chat by a supervisor."""

from __future__ import annotations

from sqlalchemy import select

from handlers.deps import Deps
from storage.models import Campaign, JointGroup
from tests.fakes import Chat

TARGETS = "东州市, 西陵市, 南江市, 北原市"


async def create_by_chat(sup: Chat, deps: Deps, *, subgroups: int = 2, share: str = "20") -> Campaign:
    """/campaign_new walked to the end by a supervisor: 第一联组, four cities, the dates."""
    async with deps.sessionmaker() as s:
        jg1 = await s.scalar(select(JointGroup.id).where(JointGroup.code == "jg1"))
    await sup.send("/campaign_new")
    await sup.send("2026年度交叉巡察")
    await sup.press_value("cross_inspection")
    await sup.press_value(f"g:{jg1}")
    await sup.send(TARGETS)
    await sup.send("2026-12-01 2026-12-14")
    await sup.send(str(subgroups))
    await sup.press_value(share)
    async with deps.sessionmaker() as s:
        c = await s.scalar(select(Campaign).order_by(Campaign.id.desc()).limit(1))
        assert c is not None
        return c


# The channel stand-ins' fixtures, for the phone steps of a campaign.
from tests.telegram.conftest import standin, tg  # noqa: E402, F401
from tests.wecom.conftest import wecom  # noqa: E402, F401
