"""The WeCom callback over real HTTP: verification, signatures, retries, the 5-second answer."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import select

from handlers.deps import Deps
from storage.models import InboundSeen
from tests.test_core_conversation import table_counts
from tests.wecom.conftest import WeCom, make_wecom
from tests.wecom.standin import Simulator


async def test_url_verification_returns_exactly_the_decrypted_echostr(wecom: WeCom) -> None:
    params = wecom.sim.verification("4815162342-lianzu")
    async with wecom.http.get(wecom.sim.url, params=params) as r:
        assert r.status == 200 and await r.text() == "4815162342-lianzu"
    bad = dict(params, msg_signature="0" * 40)
    async with wecom.http.get(wecom.sim.url, params=bad) as r:
        assert r.status == 403
    async with wecom.http.get(wecom.sim.url, params=wecom.sim.verification("x", timestamp=int(time.time()) - 3600)) as r:
        assert r.status == 403  # replayed


async def test_start_is_answered_in_chinese_with_a_numbered_menu(wecom: WeCom) -> None:
    texts = await wecom.say("zhangsan", "/start")
    assert texts and "联组" in texts[0] and "\n1. 我要举报" in texts[0]
    texts = await wecom.say("zhangsan", "1")  # the number picks the first button
    assert "第1步" in "\n".join(texts)


async def test_forged_wrong_corp_replayed_and_malformed_callbacks_change_nothing(wecom: WeCom, deps: Deps) -> None:
    before = await table_counts(deps)
    xml = wecom.sim.text_xml("lisi", "/lang en")
    params, body = wecom.sim.envelope(xml)
    async with wecom.http.post(wecom.sim.url, params=dict(params, msg_signature="f" * 40), data=body) as r:
        assert r.status == 403
    other = Simulator(wecom.sim.url, corp_id="wwSomeoneElse0001")
    status, _b, _t = await other.post(wecom.http, xml)
    assert status == 403
    status, _b, _t = await wecom.sim.post(wecom.http, xml, timestamp=int(time.time()) - 3600)
    assert status == 403
    async with wecom.http.post(wecom.sim.url, params=params, data=b"<xml><Encrypt>not base64!</Encrypt>") as r:
        assert r.status in (400, 403)
    async with wecom.http.post(wecom.sim.url, data=b"hello") as r:
        assert r.status == 400
    await wecom.callback.drain()
    assert wecom.api.sent == [] and await table_counts(deps) == before


async def test_retried_callbacks_do_the_work_once(wecom: WeCom, deps: Deps) -> None:
    xml = wecom.sim.text_xml("wangwu", "/help", msg_id=99887766)
    for _ in range(3):  # WeCom retries a callback it thinks was slow
        status, _b, _t = await wecom.sim.post(wecom.http, xml)
        assert status == 200
    await wecom.callback.drain()
    assert len(wecom.api.texts_to("wangwu")) == 1
    async with deps.sessionmaker() as s:
        keys = (await s.scalars(select(InboundSeen.key))).all()
    assert len(keys) == 1 and "99887766" not in keys[0]


async def test_the_callback_answers_at_once_while_the_work_takes_longer(deps: Deps, dispatcher) -> None:
    release = asyncio.Event()

    async def slow(event, **kw):  # type: ignore[no-untyped-def]
        await release.wait()  # the work outlasts WeCom's 5 s: it cannot end before the answer is checked
        return await dispatcher.handle(event, **kw)

    async for w in make_wecom(deps, dispatcher, handle=slow):
        # A callback that waited for the work would never answer: fail at WeCom's limit, not hang.
        status, _b, took = await asyncio.wait_for(w.sim.post(w.http, w.sim.text_xml("slowuser", "/help")), 5)
        assert status == 200 and took < 1.0  # WeCom's limit is 5 s
        assert w.api.texts_to("slowuser") == []
        release.set()
        await w.callback.drain()
        assert len(w.api.texts_to("slowuser")) == 1


async def test_expired_token_is_refreshed_once_and_shared_through_the_database(wecom: WeCom, deps: Deps, dispatcher) -> None:
    await wecom.say("u1", "/help")
    assert wecom.api.tokens_issued == 1
    wecom.api.expired.add("T1")
    assert len(await wecom.say("u1", "/help")) == 1
    assert wecom.api.tokens_issued == 2
    async for other in make_wecom(deps, dispatcher):  # another instance: the token comes from the database
        other.api.tokens_issued = 2
        other.sim.msg_id = 8_000_000_000  # MsgIds are unique per corp: a new simulator must not reuse them
        assert len(await other.say("u2", "/help")) == 1
        assert other.api.tokens_issued == 2


async def test_long_texts_are_split_at_2048_bytes(wecom: WeCom) -> None:
    from handlers.events import Reply

    await wecom.channel.send("u3", Reply(text="举报" * 1500))
    parts = wecom.api.texts_to("u3")
    assert len(parts) >= 3 and all(len(p.encode()) <= 2048 for p in parts)
    assert "".join(parts) == "举报" * 1500


async def test_long_answers_are_split_between_lines_and_never_open_with_a_lone_heading(wecom: WeCom) -> None:
    from handlers.events import Reply

    rows = [f"LZ2026{i:04d}：已受理，省公安厅交通警察总队，承办人张某某" for i in range(120)]
    text = "工作概况（本周）\n\n" + "\n".join(rows)
    await wecom.channel.send("u4", Reply(text=text))
    parts = wecom.api.texts_to("u4")
    assert len(parts) >= 3 and all(len(p.encode()) <= 2048 for p in parts)
    assert all(line in rows or line in ("工作概况（本周）", "") for p in parts for line in p.splitlines())
    assert [line for p in parts for line in p.splitlines() if line.startswith("LZ")] == rows
    # A heading and a paragraph longer than one message: the heading goes with its start,
    # and the paragraph is cut after a sentence.
    paragraph = "他利用职务便利收受好处费，金额较大。" * 120
    await wecom.channel.send("u5", Reply(text="您的回执：\n\n" + paragraph))
    parts = wecom.api.texts_to("u5")
    assert len(parts) >= 2 and parts[0].startswith("您的回执：") and len(parts[0].splitlines()) > 1
    assert all(p.endswith("。") for p in parts) and "".join(p.splitlines()[-1] for p in parts) == paragraph


async def test_start_does_not_show_bind_to_citizens_but_help_keeps_it(wecom: WeCom) -> None:
    start = "\n".join(await wecom.say("citizen", "/start"))
    assert "/bind" not in start
    assert "/bind" in "\n".join(await wecom.say("citizen", "/help"))


async def test_forget_on_wecom_says_plainly_what_it_cannot_remove(wecom: WeCom) -> None:
    await wecom.say("citizen2", "/lang zh")
    texts = await wecom.say("citizen2", "/forget")
    assert "企业微信不允许我删除消息" in texts[-1] and "1. 已记下，确认清除" in texts[-1]
    texts = await wecom.say("citizen2", "1")
    assert texts[-1].startswith("已清除") and "管理员" in texts[-1]
