"""An anonymous tip-off filed entirely through the WeCom simulator, then scanned for leaks:
the employee's UserID must not be anywhere in the database, the outbox or the logs."""

from __future__ import annotations

import logging
import re

from sqlalchemy import func, select

from bot.logs import configure_logging
from handlers.deps import Deps
from storage.models import Tip
from tests.reporter.scanner import find_leaks
from tests.wecom.conftest import WeCom

USER = "WangXiaoMing_8841"  # a distinctive WeCom UserID


class Employee:
    def __init__(self, wecom: WeCom, user: str) -> None:
        self.w, self.user = wecom, user
        self.last: list[str] = []

    async def say(self, text: str) -> list[str]:
        self.last = await self.w.say(self.user, text)
        return self.last

    async def press(self, label: str) -> list[str]:
        """Type the number the numbered menu shows for ``label``."""
        for line in "\n".join(self.last).splitlines():
            m = re.match(r"^(\d+)\. (.*)$", line.strip())
            if m and label in m.group(2):
                return await self.say(m.group(1))
        raise AssertionError(f"no menu entry {label!r} in {self.last!r}")

    def labels(self) -> list[str]:
        return [m.group(1) for line in "\n".join(self.last).splitlines() if (m := re.match(r"^\d+\. (.*)$", line.strip()))]


async def test_anonymous_tip_through_wecom_leaves_no_trace_of_the_employee(wecom: WeCom, deps: Deps, caplog) -> None:  # type: ignore[no-untyped-def]
    configure_logging("DEBUG")
    caplog.set_level(logging.DEBUG)
    e = Employee(wecom, USER)
    await e.say("/report")
    await e.say("交通警察")
    if any("都不是" in b for b in e.labels()):
        await e.say("1")  # the best matching unit
    await e.say("张某，副总队长")
    await e.say("他收受好处费。")
    await e.press("完成")
    await e.press("跳过")
    seen_before_choice = "\n".join(e.last)
    assert "企业微信" in seen_before_choice  # told plainly that the WeCom admin may see the contact
    await e.press("匿名举报")
    replies = await e.press("提交")
    text = "\n".join(replies)
    digits = "".join(ch for ch in text.split("回执号码：")[1].split("请立即")[0] if ch.isdigit())
    assert len(digits) == 16
    async with deps.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Tip)) == 1
    status = await e.say(f"/check {digits}")
    assert status
    engine = deps.sessionmaker.kw["bind"]
    assert await find_leaks(engine, [USER], caplog.text) == []
