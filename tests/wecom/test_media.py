"""WeCom pictures and files both ways through the media API stand-in, over real HTTP."""

from __future__ import annotations

from handlers.deps import Deps
from handlers.events import OutboundFile, Reply
from tests.wecom.conftest import WeCom


async def test_digest_chart_and_files_go_out_through_media_upload(wecom: WeCom) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 100
    await wecom.channel.send("sup01", Reply(text="日报", files=[
        OutboundFile(filename="chart.png", content_type="image/png", data=png, kind="photo"),
        OutboundFile(filename="list.xlsx", content_type="application/octet-stream", data=b"PK\x03\x04x")]))
    assert [(k, n) for k, n, _ in wecom.api.uploads] == [("image", "chart.png"), ("file", "list.xlsx")]
    assert wecom.api.uploads[0][2] == png
    kinds = [m["msgtype"] for m in wecom.api.sent if m.get("touser") == "sup01"]
    assert kinds == ["text", "image", "file"]


async def test_an_incoming_picture_is_downloaded_through_the_api(wecom: WeCom, deps: Deps, dispatcher) -> None:  # type: ignore[no-untyped-def]
    seen = []
    real = dispatcher.handle

    async def spy(event, **kw):  # type: ignore[no-untyped-def]
        seen.append(event)
        return await real(event, **kw)

    wecom.callback.handle = spy
    wecom.api.media["MEDIA1"] = (b"\xff\xd8\xff-jpeg-bytes", "image/jpeg", "photo.jpg")
    status, _, _ = await wecom.sim.post(wecom.http, wecom.sim.image_xml("pic-user", "MEDIA1"))
    assert status == 200
    await wecom.callback.drain()
    assert seen and seen[0].attachment is not None
    assert seen[0].attachment.data == b"\xff\xd8\xff-jpeg-bytes" and seen[0].attachment.kind == "photo"
    assert wecom.api.texts_to("pic-user")  # answered politely, whatever the conversation state
