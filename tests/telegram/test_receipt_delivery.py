"""A report is kept only if its receipt reached the reporter: when Telegram refuses the message
with the receipt, nothing is stored, the draft is kept and the reporter is told to submit again;
the second submission gives a receipt that opens the one report there is."""

from __future__ import annotations

from sqlalchemy import func, select

from handlers.deps import Deps
from handlers.i18n import N_
from storage.models import Case, Outbox, Tip
from tests.telegram.conftest import Phone, Running


async def count(deps: Deps, model: type) -> int:
    async with deps.sessionmaker() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def to_the_confirmation(p: Phone) -> None:
    await p.send("/report")
    await p.send("交通警察")
    await p.press_label("省公安厅交通警察总队")
    await p.send("张某，副总队长")
    await p.send("他收受好处费。")
    await p.press(N_("Done"))
    await p.press(N_("Skip"))
    await p.press(N_("Anonymous"))


def receipt_in(texts: list[str]) -> str:
    text = "\n".join(texts)
    assert "回执号码：" in text, text
    digits = "".join(ch for ch in text.split("回执号码：")[1].split("请立即")[0] if ch.isdigit())
    assert len(digits) == 16, text
    return digits


async def test_a_receipt_telegram_refuses_leaves_no_report_and_asks_to_submit_again(
        tg: Running, deps: Deps) -> None:
    p = tg.phone(7301)
    await to_the_confirmation(p)
    tips, cases, notices = await count(deps, Tip), await count(deps, Case), await count(deps, Outbox)
    tg.standin.fail_next["sendMessage"] = (502, "Bad Gateway", None)  # the receipt's message, once

    texts = await p.press(N_("✔ Submit"))

    refused = tg.standin.texts_to(7301)[-2]
    assert "回执号码：" in refused and refused not in p.running.standin.shown_in(7301)  # never arrived
    assert texts[-1].startswith("举报未提交") and "再次选择" in texts[-1], texts[-1]
    assert (await count(deps, Tip), await count(deps, Case), await count(deps, Outbox)) == (tips, cases, notices)

    # The draft is still there: the same confirmation's Submit works now.
    receipt = receipt_in(await p.press(N_("✔ Submit")))
    assert await count(deps, Tip) == tips + 1 and await count(deps, Case) == cases + 1
    checked = "\n".join(await p.send(f"/check {receipt}"))
    assert "您的举报办理状态" in checked, checked
    old = receipt_in([refused])
    assert old != receipt
    assert "办理状态" not in "\n".join(await p.send(f"/check {old}"))  # the refused one opens nothing
