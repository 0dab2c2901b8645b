"""The WeCom channel over real HTTP: wechatpy-encrypted callbacks in, active messages out."""

from __future__ import annotations

import asyncio
import time

from wechatpy.enterprise.crypto import WeChatCrypto

from bot.wecom.channel import ADMIN_VISIBILITY_NOTICE, TEXT_LIMIT_BYTES, render_text
from handlers.events import Button, Reply
from tests.wecom.conftest import AES_KEY, CORP_ID, TOKEN, Simulator


async def test_url_verification_returns_exactly_the_decrypted_echostr(wecom) -> None:  # type: ignore[no-untyped-def]
    _, _, sim = wecom
    crypto = WeChatCrypto(TOKEN, AES_KEY, CORP_ID)
    encrypted = crypto.encrypt_message("<xml/>", "n1", "1700000000")
    import xml.etree.ElementTree as ET
    root = ET.fromstring(encrypted)
    echostr, sig = root.findtext("Encrypt"), root.findtext("MsgSignature")
    params = {"msg_signature": sig, "timestamp": "1700000000", "nonce": "n1", "echostr": echostr}
    async with sim.http.get(sim.url, params=params) as resp:
        assert resp.status == 200
        assert await resp.text() == "<xml/>"
    params["msg_signature"] = "f" * 40
    async with sim.http.get(sim.url, params=params) as resp:
        assert resp.status == 403


async def test_help_is_answered_by_active_message_with_admin_notice(wecom) -> None:  # type: ignore[no-untyped-def]
    channel, api, sim = wecom
    resp = await sim.post(sim.xml("zhangsan", "/help"))
    assert resp.status == 200
    await channel.drain()
    texts = api.texts("zhangsan")
    assert texts[0] == ADMIN_VISIBILITY_NOTICE
    assert any("可用命令" in t for t in texts)
    # The notice is shown once, not on every message.
    await sim.post(sim.xml("zhangsan", "/help"))
    await channel.drain()
    assert api.texts("zhangsan").count(ADMIN_VISIBILITY_NOTICE) == 1


async def test_numbered_menu_number_presses_the_button(wecom) -> None:  # type: ignore[no-untyped-def]
    channel, api, sim = wecom
    await sim.post(sim.xml("lisi", "/start"))
    await channel.drain()
    assert any("\n1. " in t or t.startswith("1. ") for t in api.texts("lisi"))
    before = len(api.texts("lisi"))
    await sim.post(sim.xml("lisi", "1"))  # the /start button "List the commands"
    await channel.drain()
    assert any("可用命令" in t for t in api.texts("lisi")[before:])


async def test_forged_signature_wrong_corp_replay_and_garbage_change_nothing(wecom) -> None:  # type: ignore[no-untyped-def]
    channel, api, sim = wecom
    assert (await sim.post(sim.xml("u1", "/help"), tamper=True)).status == 403
    assert (await sim.post(sim.xml("u1", "/help"), timestamp=int(time.time()) - 3600)).status == 403
    other = Simulator(sim.url, sim.http, corp_id="wwsomeoneelse")
    assert (await other.post(other.xml("u1", "/help"))).status in (400, 403)
    async with sim.http.post(sim.url, params={"msg_signature": "x", "timestamp": str(int(time.time())),
                                              "nonce": "n"}, data=b"<xml><Encrypt>") as resp:
        assert resp.status in (400, 403)
    async with sim.http.post(sim.url, data=b"not xml") as resp:
        assert resp.status in (400, 403)
    await channel.drain()
    assert api.sent == []


async def test_retried_callback_is_handled_once(wecom) -> None:  # type: ignore[no-untyped-def]
    channel, api, sim = wecom
    xml = sim.xml("wangwu", "/help", msg_id=424242)
    for _ in range(3):  # WeCom retries when it thinks we were slow
        assert (await sim.post(xml)).status == 200
        await channel.drain()
    assert sum("可用命令" in t for t in api.texts("wangwu")) == 1


async def test_callback_answers_fast_while_work_is_slow(wecom) -> None:  # type: ignore[no-untyped-def]
    channel, api, sim = wecom
    real_handle = channel.dispatcher.handle

    async def slow_handle(event):  # type: ignore[no-untyped-def]
        await asyncio.sleep(6)  # longer than WeCom's 5-second limit
        return await real_handle(event)

    channel.dispatcher.handle = slow_handle  # type: ignore[method-assign]
    started = time.monotonic()
    resp = await sim.post(sim.xml("zhaoliu", "/help"))
    elapsed = time.monotonic() - started
    assert resp.status == 200 and elapsed < 1.0
    assert api.texts("zhaoliu") == []
    await channel.drain()
    assert any("可用命令" in t for t in api.texts("zhaoliu"))


async def test_expired_token_is_refreshed_once_and_cached_in_database(wecom) -> None:  # type: ignore[no-untyped-def]
    channel, api, _ = wecom
    await channel.send("u9", Reply(text="一"))
    assert api.tokens_issued == 1
    await channel.send("u9", Reply(text="二"))
    assert api.tokens_issued == 1  # cached, not fetched per message
    api.expire_next = 1
    await channel.send("u9", Reply(text="三"))
    assert api.tokens_issued == 2
    assert api.texts("u9") == ["一", "二", "三"]


async def test_long_text_split_at_2048_bytes_and_files_uploaded(wecom) -> None:  # type: ignore[no-untyped-def]
    from handlers.events import OutboundFile
    channel, api, _ = wecom
    long = "\n".join(["纪检监察" * 40] * 30)
    parts = render_text(Reply(text=long, buttons=[[Button(label="确认", data="x:1")]]))
    assert len(parts) > 1 and all(len(p.encode()) <= TEXT_LIMIT_BYTES for p in parts)
    assert parts[-1].endswith("1. 确认")
    await channel.send("u8", Reply(text="chart", files=[OutboundFile(filename="c.png", content_type="image/png",
                                                                       data=b"\x89PNG...", kind="photo")]))
    assert api.uploads == [b"\x89PNG..."]
    assert [m["msgtype"] for m in api.sent if m["touser"] == "u8"] == ["text", "image"]
