"""Buttons, edits, files, long texts, escaping, de-duplication, groups and the webhook secret,
through the real aiogram bot and the Bot API stand-in."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.telegram.service import TelegramService
from handlers.deps import Deps
from handlers.dispatcher import Dispatcher
from handlers.i18n import N_
from storage.models import ConversationState, InboundSeen
from tests.fakes import tiny_pdf
from tests.telegram.conftest import Running, _run
from tests.telegram.standin import BotAPIStandIn, callback, message


async def count(deps: Deps, model) -> int:  # type: ignore[no-untyped-def]
    async with deps.sessionmaker() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def test_buttons_drive_a_conversation_and_callbacks_are_answered(tg: Running, deps: Deps) -> None:
    p = tg.phone(201)
    await p.send("/report")
    texts = await p.send("交通警察")
    assert texts
    before = len(tg.standin.called("answerCallbackQuery"))
    await p.press_label("省公安厅交通警察总队")
    assert len(tg.standin.called("answerCallbackQuery")) == before + 1  # the spinner stops
    assert await count(deps, ConversationState) == 1  # the draft went on to the next step


async def test_a_reply_with_edit_replaces_the_pressed_message(tg: Running) -> None:
    from bot.telegram.deliver import deliver
    from handlers.events import Button, Reply

    shown = tg.standin._message(202, text="old", reply_markup={"inline_keyboard": [[{"text": "签收", "callback_data": "a:ack:1"}]]})
    before = len(tg.standin.sent_to(202))
    await deliver(tg.service.bot, 202, Reply(text="已签收 <ok>", buttons=[[Button(label="查看", data="a:case:1.view")]],
                                             edit=True), edit_message_id=shown["message_id"])
    assert [c.method for c in tg.standin.sent_to(202)[before:]] == ["editMessageText"]
    now = tg.standin.messages[(202, shown["message_id"])]
    assert now["text"] == "已签收 &lt;ok&gt;"
    assert now["reply_markup"]["inline_keyboard"][0][0]["text"] == "查看"


async def test_a_button_on_a_message_that_no_longer_exists_still_gets_an_answer(tg: Running) -> None:
    p = tg.phone(203)
    await p.send("/start")
    before = len(tg.standin.sent_to(203))
    # Message 987654 was never sent (deleted, or from before a reinstall): a stale button.
    status = await tg.deliver(callback(203, "c:oldtoken:x", message_id=987654))
    assert status == 200
    new = tg.standin.sent_to(203)[before:]
    assert [c.method for c in new] == ["sendMessage"]
    assert "已失效" in new[0].params["text"] or "no longer works" in new[0].params["text"]


async def test_edit_falls_back_to_a_new_message_when_the_original_is_gone(tg: Running) -> None:
    from bot.telegram.deliver import deliver
    from handlers.events import Reply

    before = len(tg.standin.sent_to(204))
    await deliver(tg.service.bot, 204, Reply(text="已签收", edit=True), edit_message_id=555555)
    calls = tg.standin.sent_to(204)[before:]
    assert [c.method for c in calls] == ["editMessageText", "sendMessage"]  # nothing lost
    assert calls[-1].params["text"] == "已签收"


async def test_long_replies_are_split_and_everything_is_escaped(tg: Running) -> None:
    from handlers.events import Button, Reply

    text = ("<b>&amp; 1 < 2 > 0 & \"q\"</b>\n" + ("线索" * 30 + "\n") * 200).strip()
    await tg.service.channel.send("205", Reply(text=text, buttons=[[Button(label="<OK>", data="a:x:1")]]))
    calls = tg.standin.sent_to(205)
    assert len(calls) >= 3
    assert all(len(c.params["text"].replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")) <= 4096
               for c in calls)
    assert calls[0].params["text"].startswith("&lt;b&gt;&amp;amp; 1 &lt; 2 &gt; 0 &amp; \"q\"&lt;/b&gt;")
    assert all("reply_markup" not in c.params for c in calls[:-1])
    assert calls[-1].params["reply_markup"]["inline_keyboard"][0][0]["text"] == "<OK>"
    joined = "\n".join(c.params["text"] for c in calls)
    assert joined.count("线索") == 30 * 200


async def test_files_in_both_directions(tg: Running, deps: Deps) -> None:
    from handlers.events import OutboundFile, Reply

    # In: a document during the wizard is downloaded through getFile and accepted.
    p = tg.phone(206)
    await p.send("/report")
    await p.send("交通警察")
    await p.press_label("省公安厅交通警察总队")
    await p.send("张某")
    await p.send("他收受好处费。")
    await p.press(N_("Done"))
    fid = tg.standin.add_file(pdf := tiny_pdf(), "documents/file_9.pdf")
    before = len(tg.standin.calls)
    texts = await p.send(None, document={"file_id": fid, "file_unique_id": "u9", "file_name": "evidence.pdf",
                                         "mime_type": "application/pdf", "file_size": len(pdf)})
    methods = [c.method for c in tg.standin.calls[before:]]
    assert "getFile" in methods and "download" in methods
    assert texts and ("共 1 个" in texts[-1] or "1 file" in texts[-1])
    # Out: a chart photo and a document.
    reply = Reply(text="日报", files=[OutboundFile(filename="chart.png", content_type="image/png", data=b"\x89PNGx",
                                                   kind="photo"),
                                      OutboundFile(filename="r.xlsx", content_type="application/x", data=b"PK")])
    await tg.service.channel.send("206", reply)
    photo, doc = tg.standin.called("sendPhoto")[-1], tg.standin.called("sendDocument")[-1]
    assert photo.files["photo"] == ("chart.png", b"\x89PNGx")
    assert doc.files["document"] == ("r.xlsx", b"PK")


async def test_a_file_over_the_limit_is_not_downloaded_and_the_sender_is_told(tg: Running) -> None:
    p = tg.phone(207)
    await p.send("/report")
    await p.send("交通警察")
    await p.press_label("省公安厅交通警察总队")
    await p.send("张某")
    await p.send("他收受好处费。")
    await p.press(N_("Done"))
    limit = tg.service.max_bytes
    fid = tg.standin.add_file(b"x", "documents/huge.bin")
    before = len(tg.standin.calls)
    texts = await p.send(None, document={"file_id": fid, "file_unique_id": "uh", "file_name": "huge.zip",
                                         "mime_type": "application/zip", "file_size": limit + 1})
    assert "download" not in [c.method for c in tg.standin.calls[before:]]
    assert texts and ("太大" in "".join(texts) or "too large" in "".join(texts))


async def test_a_redelivered_update_is_handled_once_even_after_a_restart(
        dispatcher: Dispatcher, standin: BotAPIStandIn, deps: Deps) -> None:
    update = message(208, "/start", message_id=7)
    update["update_id"] = 5000
    async for r in _run(dispatcher, standin, "webhook"):
        assert await r.deliver(dict(update)) == 200
        assert await r.deliver(dict(update)) == 200
    assert len(standin.sent_to(208)) == 1
    async for r in _run(dispatcher, standin, "webhook"):  # a restarted process, same database
        assert await r.deliver(dict(update)) == 200
    assert len(standin.sent_to(208)) == 1
    assert await count(deps, InboundSeen) == 1


async def test_group_messages_get_an_explanation_and_nothing_is_stored(tg: Running, deps: Deps) -> None:
    seen = await count(deps, InboundSeen)
    await tg.deliver(message(209, "/report 我要举报", chat_id=-100123, chat_type="supergroup"))
    texts = tg.standin.texts_to(-100123)
    assert len(texts) == 1 and ("私聊" in texts[0] or "private chat" in texts[0])
    assert await count(deps, InboundSeen) == seen
    assert await count(deps, ConversationState) == 0


async def test_webhook_with_a_wrong_or_missing_secret_is_refused_and_changes_nothing(
        webhook: Running, deps: Deps) -> None:
    seen = await count(deps, InboundSeen)
    assert await webhook.deliver(message(210, "/start"), secret="wrong") == 401
    assert await webhook.deliver(message(210, "/start"), secret=None) == 401
    assert await webhook.deliver(message(210, "/start"), secret="") == 401
    assert webhook.standin.sent_to(210) == []
    assert await count(deps, InboundSeen) == seen
    assert await webhook.deliver(message(210, "/start")) == 200
    assert len(webhook.standin.sent_to(210)) == 1


async def test_malformed_updates_do_not_crash_and_change_nothing(webhook: Running, deps: Deps) -> None:
    import aiohttp

    url = f"http://127.0.0.1:{webhook.web.port}/telegram/webhook"  # type: ignore[union-attr]
    headers = {"X-Telegram-Bot-Api-Secret-Token": "s3cret-Token_for-tests"}
    async with aiohttp.ClientSession() as http:
        for body in (b"not json", b"[]", b'{"message": {"text": "hi"}}', b'{"update_id": "x"}'):
            async with http.post(url, data=body, headers=headers) as resp:
                assert resp.status == 200  # dropped: a re-send could never succeed either
    # Well-formed but of a kind nobody answers (a poll, an edited message, a channel post).
    assert await webhook.deliver({"edited_message": message(211, "changed")["message"]}) == 200
    assert await webhook.deliver({"channel_post": {"message_id": 1, "date": 1, "chat": {"id": -5, "type": "channel"},
                                                   "text": "x"}}) == 200
    assert await webhook.deliver({"some_future_kind": {"x": 1}}) == 200
    assert await count(deps, InboundSeen) == 0
    assert webhook.standin.sent_to(211) == [] and webhook.standin.sent_to(-5) == []
    # A sticker: someone to answer, nothing to read.
    assert await webhook.deliver(message(211, None, sticker={
        "file_id": "S1", "file_unique_id": "s1", "type": "regular", "width": 1, "height": 1,
        "is_animated": False, "is_video": False})) == 200
    assert len(webhook.standin.sent_to(211)) == 1
    # A huge text: a polite answer, nothing stored.
    states = await count(deps, ConversationState)
    assert await webhook.deliver(message(212, "举" * 50000)) == 200
    texts = webhook.standin.texts_to(212)
    assert len(texts) == 1 and ("太长" in texts[0] or "too long" in texts[0])
    assert await count(deps, ConversationState) == states
    assert isinstance(webhook.service, TelegramService)


async def test_an_answer_refused_with_429_is_sent_after_telegrams_pause(tg: Running, monkeypatch) -> None:
    import bot.telegram.router as tg_router

    waited: list[float] = []

    async def record(seconds: float) -> None:
        waited.append(seconds)

    monkeypatch.setattr(tg_router, "pause", record)
    p = tg.phone(213)
    tg.standin.fail_next["sendMessage"] = (429, "Too Many Requests: retry after 3", {"retry_after": 3})
    await p.send("/help")
    assert waited == [3]
    assert len(tg.standin.shown_in(213)) == 1  # not lost, not doubled
