"""Whole conversations over WeCom: a reporter, a staff member's 签收, a supervisor."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from bot.logs import configure_logging
from handlers.cases import binding
from handlers.deps import Deps
from handlers.i18n import N_
from storage.models import Attachment, Tip
from tests.reporter.conftest import jpeg_with_gps
from tests.reporter.scanner import find_leaks
from tests.wecom.conftest import WeCom, make_wecom

USER = "wecom-insider-7788"


def number_of(text: str, label: str) -> str:
    """The number the numbered menu in ``text`` gives the entry labelled exactly ``label``."""
    for line in text.splitlines():
        number, sep, rest = line.partition(". ")
        if sep and number.isdigit() and rest == label:
            return number
    raise AssertionError(f"no menu entry {label!r} in {text!r}")


async def test_anonymous_tip_with_a_photo_and_check_leave_no_trace_of_the_userid(wecom: WeCom, deps: Deps, caplog) -> None:
    configure_logging("DEBUG")
    caplog.set_level(logging.DEBUG)
    wecom.api.media["IMG1"] = (jpeg_with_gps(), "image/jpeg", "IMG_0001.jpg")
    t = await wecom.say(USER, "/report")
    assert "第1步" in t[-1]
    t = await wecom.say(USER, "交通警察")
    t = await wecom.say(USER, number_of(t[-1], "省公安厅交通警察总队"))
    t = await wecom.say(USER, "张某，副总队长")
    t = await wecom.say(USER, "他收受好处费。")
    t = await wecom.say(USER, number_of(t[-1], await wecom.label(USER, N_("Done"))))
    status, _b, _t = await wecom.sim.post(wecom.http, wecom.sim.image_xml(USER, "IMG1"))
    assert status == 200
    await wecom.callback.drain()
    t = wecom.api.texts_to(USER)
    assert "共 1 个" in t[-1]
    t = await wecom.say(USER, number_of(t[-1], await wecom.label(USER, N_("Done"))))
    assert "企业微信管理员" in t[-1]  # told plainly what the enterprise may see
    t = await wecom.say(USER, number_of(t[-1], await wecom.label(USER, N_("Anonymous"))))
    t = await wecom.say(USER, number_of(t[-1], await wecom.label(USER, N_("✔ Submit"))))
    receipt = "".join(ch for ch in t[-1].split("回执号码：")[1].split("请立即")[0] if ch.isdigit())
    assert len(receipt) == 16
    t = await wecom.say(USER, f"/check {receipt}")
    assert "等待受理" in t[-1]
    async with deps.sessionmaker() as s:
        tip = (await s.scalars(select(Tip))).one()
        att = (await s.scalars(select(Attachment))).one()
        assert tip.anonymous and att.tip_id == tip.id
        assert b"SecretPhone" not in deps.sealer.open(att.key_id, att.data_enc)
    assert await find_leaks(deps.sessionmaker.kw["bind"], [USER], caplog.text) == []


async def test_staff_binding_and_acknowledging_a_pushed_notice_by_number(wecom: WeCom, deps: Deps, chat) -> None:
    from tests.cases.conftest import tip_case

    case = await tip_case(chat, deps)
    codes = {}
    async with deps.sessionmaker() as s, s.begin():
        for login in ("o02-lead", "o03-f1", "o04-f1", "o03-lead", "o04-lead"):
            codes[login] = await binding.invite(s, login, now=deps.clock.now(), ttl=timedelta(hours=1), salt=deps.config.salt)
    for login, code in codes.items():
        t = await wecom.say(f"wc-{login}", f"/bind {code}")
        assert "已绑定到" in t[-1]
    t = await wecom.say("wc-o02-lead", f"/case {case.reference}")
    t = await wecom.say("wc-o02-lead", number_of(t[-1], await wecom.label("wc-o02-lead", N_("Accept (受理)"))))
    t = await wecom.say("wc-o02-lead", number_of(t[-1], await wecom.label("wc-o02-lead", N_("Propose a team"))))
    t = await wecom.say("wc-o02-lead", number_of(t[-1], await wecom.label("wc-o02-lead", N_("✔ Confirm"))))
    assert "已确认" in t[-1]
    # The notices go out through the outbox: to the two members; the lead signed by confirming.
    assert await wecom.deliver() == 2
    member = next(u for u in ("wc-o03-f1", "wc-o04-f1", "wc-o03-lead", "wc-o04-lead")
                  if any("新交办" in x for x in wecom.api.texts_to(u)))
    notice = [x for x in wecom.api.texts_to(member) if "新交办" in x][-1]
    assert case.reference in notice and "收受好处费" not in notice
    t = await wecom.say(member, number_of(notice, await wecom.label(member, N_("✔ Acknowledge (签收)"))))
    assert "已签收" in t[-1]
    await wecom.deliver()
    assert any("已签收" in x for x in wecom.api.texts_to("wc-o02-lead"))


async def test_supervisor_status_and_digest_chart_as_an_image(wecom: WeCom, deps: Deps, chat) -> None:
    from handlers.schedule.digest import send_digests
    from tests.cases.conftest import tip_case

    case = await tip_case(chat, deps)
    async with deps.sessionmaker() as s, s.begin():
        code = await binding.invite(s, "sup1", now=deps.clock.now(), ttl=timedelta(hours=1), salt=deps.config.salt)
    await wecom.say("wc-sup1", f"/bind {code}")
    deps.clock.advance(days=9)  # type: ignore[attr-defined]
    t = await wecom.say("wc-sup1", "/status week")
    assert "当前超期：<3" in t[-1] and case.reference in t[-1]  # a count of 1 shows masked
    async with deps.begin() as uow:
        await send_digests(uow)
    await wecom.deliver()
    assert any(kind == "image" and data[:4] == b"\x89PNG" for kind, _n, data in wecom.api.uploads)
    assert any(m.get("msgtype") == "image" and m.get("touser") == "wc-sup1" for m in wecom.api.sent)


async def test_template_cards_map_presses_to_buttons_and_are_updated(deps: Deps, dispatcher) -> None:
    async for w in make_wecom(deps, dispatcher, cards=True):
        status, _b, _t = await w.sim.post(w.http, w.sim.text_xml("carduser", "/start"))
        await w.callback.drain()
        card = next(m for m in w.api.sent if m.get("msgtype") == "template_card")
        buttons = card["template_card"]["button_list"]
        report = next(b for b in buttons if b["text"].startswith("我要举报"))
        status, _b, _t = await w.sim.post(w.http, w.sim.card_event_xml("carduser", report["key"], card["template_card"]["task_id"]))
        assert status == 200
        await w.callback.drain()
        later = [m for m in w.api.sent if m.get("touser") == "carduser"][1:]
        assert any("第1步" in (m.get("text", {}).get("content", "") + str(m.get("template_card", ""))) for m in later)
        assert w.api.card_updates and w.api.card_updates[0]["response_code"] == card["template_card"]["task_id"]
