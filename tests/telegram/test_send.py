"""Outbox pushes through ``TelegramChannel.send``: Telegram's answers become DeliveryError
the delivery worker understands."""

from __future__ import annotations

import pytest

from bot.channels.base import DeliveryError
from bot.telegram.channel import TelegramChannel
from handlers.events import Button, Reply
from tests.telegram.conftest import Running


@pytest.fixture
def channel(polling: Running) -> TelegramChannel:
    return polling.service.channel


async def test_a_notice_arrives_with_its_button(channel: TelegramChannel, polling: Running) -> None:
    await channel.send("301", Reply(text="新交办 L-1", buttons=[[Button(label="签收", data="a:ack:7")]]))
    call = polling.standin.sent_to(301)[-1]
    assert call.params["text"] == "新交办 L-1"
    assert call.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "a:ack:7"


async def test_429_is_retry_after(channel: TelegramChannel, polling: Running) -> None:
    polling.standin.fail_next["sendMessage"] = (429, "Too Many Requests: retry after 17", {"retry_after": 17})
    with pytest.raises(DeliveryError) as err:
        await channel.send("302", Reply(text="x"))
    assert err.value.retry_after == 17 and not err.value.permanent
    await channel.send("302", Reply(text="x"))  # and the next try goes through
    assert polling.standin.texts_to(302) == ["x", "x"]


async def test_a_blocked_bot_is_permanent(channel: TelegramChannel, polling: Running) -> None:
    polling.standin.blocked.add(303)
    with pytest.raises(DeliveryError) as err:
        await channel.send("303", Reply(text="x"))
    assert err.value.permanent and err.value.retry_after is None


async def test_a_chat_that_does_not_exist_is_permanent(channel: TelegramChannel, polling: Running) -> None:
    polling.standin.fail_next["sendMessage"] = (400, "Bad Request: chat not found", None)
    with pytest.raises(DeliveryError) as err:
        await channel.send("304", Reply(text="x"))
    assert err.value.permanent


async def test_server_trouble_is_retried_later(channel: TelegramChannel, polling: Running) -> None:
    polling.standin.fail_next["sendMessage"] = (502, "Bad Gateway", None)
    with pytest.raises(DeliveryError) as err:
        await channel.send("305", Reply(text="x"))
    assert not err.value.permanent


async def test_an_address_that_is_not_a_chat_id_is_permanent(channel: TelegramChannel) -> None:
    with pytest.raises(DeliveryError) as err:
        await channel.send("as:o01-lead", Reply(text="x"))
    assert err.value.permanent


async def test_the_error_names_no_address_or_content(channel: TelegramChannel, polling: Running) -> None:
    polling.standin.blocked.add(306)
    with pytest.raises(DeliveryError) as err:
        await channel.send("306", Reply(text="秘密内容"))
    assert "306" not in str(err.value) and "秘密" not in str(err.value)
