"""On WeCom as on Telegram: a report is kept only if the message with its receipt was delivered."""

from __future__ import annotations

from sqlalchemy import func, select

from handlers.deps import Deps
from handlers.i18n import N_
from storage.models import Case, Tip
from tests.wecom.conftest import WeCom
from tests.wecom.test_flows import number_of

USER = "wecom-receipt-4411"


async def count(deps: Deps, model: type) -> int:
    async with deps.sessionmaker() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_receipt_wecom_refuses_leaves_no_report_and_asks_to_submit_again(wecom: WeCom, deps: Deps) -> None:
    await wecom.say(USER, "/report")
    t = await wecom.say(USER, "交通警察")
    await wecom.say(USER, number_of(t[-1], "省公安厅交通警察总队"))
    await wecom.say(USER, "张某，副总队长")
    t = await wecom.say(USER, "他收受好处费。")
    t = await wecom.say(USER, number_of(t[-1], await wecom.label(USER, N_("Done"))))
    t = await wecom.say(USER, number_of(t[-1], await wecom.label(USER, N_("Skip"))))
    confirm = (await wecom.say(USER, number_of(t[-1], await wecom.label(USER, N_("Anonymous")))))[-1]
    submit = number_of(confirm, await wecom.label(USER, N_("✔ Submit")))
    tips, cases = await count(deps, Tip), await count(deps, Case)

    wecom.api.fail_next = [45009]  # WeCom refuses the message with the receipt, once
    t = await wecom.say(USER, submit)
    assert len(t) == 1 and t[0].startswith("举报未提交") and "回执号码" not in t[0]
    assert (await count(deps, Tip), await count(deps, Case)) == (tips, cases)

    t = await wecom.say(USER, submit)  # the draft and its menu are still there
    assert "回执号码：" in t[-1]
    assert (await count(deps, Tip), await count(deps, Case)) == (tips + 1, cases + 1)
