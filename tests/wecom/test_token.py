"""The access token: one refresh and one retry when WeCom refuses it, never a loop."""

from __future__ import annotations

import pytest

from bot.channels.base import DeliveryError
from bot.wecom.client import TOKEN_ATTEMPTS, TokenRejected, in_thread
from handlers.events import OutboundFile, Reply
from tests.wecom.conftest import WeCom


async def test_a_token_that_keeps_being_refused_ends_in_a_clear_error(wecom: WeCom) -> None:
    wecom.api.refuse_all_tokens = True
    client = wecom.channel.client
    with pytest.raises(TokenRejected) as err:
        await in_thread(client.call, client.message.send_text, 1000002, "u1", "hello")
    assert err.value.errcode == 42001 and "refused the access token" in err.value.errmsg
    assert wecom.api.token_refusals == TOKEN_ATTEMPTS == 2  # the call and one retry
    assert wecom.api.tokens_issued == 2  # the first token and one refresh
    assert wecom.api.sent == []


async def test_the_delivery_worker_is_told_and_retries_later(wecom: WeCom) -> None:
    wecom.api.refuse_all_tokens = True
    with pytest.raises(DeliveryError) as err:
        await wecom.channel.send("u1", Reply(text="hello"))
    assert "token refused" in str(err.value) and not err.value.permanent
    assert wecom.api.token_refusals == 2
    wecom.api.refuse_all_tokens = False  # WeCom is sane again: the next attempt goes through
    await wecom.channel.send("u1", Reply(text="hello"))
    assert wecom.api.texts_to("u1") == ["hello"]


async def test_media_download_is_bounded_too(wecom: WeCom) -> None:
    wecom.api.media["M1"] = (b"\xff\xd8 data", "image/jpeg", "a.jpg")
    client = wecom.channel.client
    assert await in_thread(client.download, "M1", 1000) == (b"\xff\xd8 data", 7, "image/jpeg", "a.jpg")
    wecom.api.expired.add("T1")  # refused once: refreshed, and the download goes through
    assert (await in_thread(client.download, "M1", 1000))[0] == b"\xff\xd8 data"
    assert wecom.api.tokens_issued == 2
    wecom.api.refuse_all_tokens = True
    refusals = wecom.api.token_refusals
    with pytest.raises(TokenRejected):
        await in_thread(client.download, "M1", 1000)
    assert wecom.api.token_refusals - refusals == 2 and wecom.api.tokens_issued == 3


async def test_an_upload_retried_with_a_fresh_token_sends_the_whole_file(wecom: WeCom) -> None:
    await wecom.channel.send("u2", Reply(text="first"))  # a token is issued
    wecom.api.expired.add("T1")
    data = b"%PDF-1.4 " + b"x" * 5000
    await wecom.channel.send("u2", Reply(text="", files=[OutboundFile(filename="r.pdf", content_type="application/pdf", data=data)]))
    assert wecom.api.uploads == [("file", "r.pdf", data)]
    assert wecom.api.tokens_issued == 2
