"""Template cards and long answers on WeCom: a card never cuts a long text off, the text that
goes ahead of it is split between lines, and no part opens with a lone heading."""

from __future__ import annotations

from handlers.deps import Deps
from handlers.events import Button, Reply
from tests.wecom.conftest import make_wecom

ROWS = [f"LZ2026{i:04d}：已受理，省公安厅交通警察总队，承办人张某某" for i in range(80)]


def _cards(w, user: str) -> list[dict]:  # type: ignore[no-untyped-def]
    return [m["template_card"] for m in w.api.sent if m.get("touser") == user and m.get("msgtype") == "template_card"]


async def test_a_long_answer_with_buttons_loses_nothing_on_a_card(deps: Deps, dispatcher) -> None:
    async for w in make_wecom(deps, dispatcher, cards=True):
        text = "工作概况（本周）\n\n" + "\n".join(ROWS) + "\n\n请选择下一步："
        await w.channel.send("lead", Reply(text=text, buttons=[[Button(label="查看", data="a:view:1")]]))
        parts = w.api.texts_to("lead")
        cards = _cards(w, "lead")
        assert len(cards) == 1 and cards[0]["main_title"]["title"] == "请选择下一步："
        assert [b["key"] for b in cards[0]["button_list"]] == ["a:view:1"]
        # Every line arrived, in order, between lines; the first part is not the heading alone.
        assert len(parts) >= 2 and all(len(p.encode()) <= 2048 for p in parts)
        assert [line for p in parts for line in p.splitlines() if line.startswith("LZ")] == ROWS
        assert parts[0].startswith("工作概况（本周）") and len([x for x in parts[0].splitlines() if x.strip()]) > 1


async def test_a_short_answer_stays_whole_on_its_card(deps: Deps, dispatcher) -> None:
    async for w in make_wecom(deps, dispatcher, cards=True):
        await w.channel.send("lead2", Reply(text="新交办\nLZ2026-00001", buttons=[[Button(label="签收", data="a:ack:1")]]))
        assert w.api.texts_to("lead2") == []
        (card,) = _cards(w, "lead2")
        assert card["main_title"] == {"title": "新交办", "desc": "LZ2026-00001"}


async def test_one_long_paragraph_keeps_its_last_line_on_the_card(deps: Deps, dispatcher) -> None:
    # One long paragraph with no blank line: the card keeps the last line, the rest goes ahead.
    async for w in make_wecom(deps, dispatcher, cards=True):
        text = "\n".join(ROWS[:30]) + "\n请选择："
        await w.channel.send("lead3", Reply(text=text, buttons=[[Button(label="好", data="a:ok:1")]]))
        parts = w.api.texts_to("lead3")
        (card,) = _cards(w, "lead3")
        assert card["main_title"]["title"] == "请选择："
        assert [line for p in parts for line in p.splitlines()] == ROWS[:30]
