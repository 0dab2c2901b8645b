"""The tip wizard and receipts, end to end through the in-memory chat."""

from __future__ import annotations

import io

from PIL import Image
from sqlalchemy import func, select

from handlers.reporter.receipts import receipt_hash
from storage.models import Attachment, Case, ConversationState, Tip
from tests.conftest import TEST_SALT
from tests.fakes import make_file
from tests.reporter.conftest import submit_tip


async def count(deps, model) -> int:  # type: ignore[no-untyped-def]
    async with deps.sessionmaker() as s:
        return await s.scalar(select(func.count()).select_from(model))


async def test_anonymous_tip_with_unit_gets_receipt_and_case(chat, deps) -> None:  # type: ignore[no-untyped-def]
    c = chat("r1", language_code="en")
    await c.send("/report")
    await c.send("交通")
    assert "省公安厅交通警察总队" in c.buttons()
    await c.press("省公安厅交通警察总队")
    await c.send("王某，科长")
    await c.send("2026年3月收了红包")
    await c.send("金额五千元")
    assert "2 messages" in c.last
    await c.press("Done")
    await c.press("No files")
    await c.press("Anonymous")
    assert "省公安厅交通警察总队" in c.last and "Nothing has been sent yet" in c.last
    assert await count(deps, Tip) == 0  # nothing is a tip before confirmation
    await c.press("Submit")
    text = c.last
    assert "only key" in text and "cannot be recovered" in text
    import re

    receipt = re.search(r"(\d{4}) (\d{4}) (\d{4}) (\d{4})", text)
    assert receipt is not None
    digits = "".join(receipt.groups())
    async with deps.sessionmaker() as s:
        tip = (await s.scalars(select(Tip))).one()
        case = (await s.scalars(select(Case))).one()
        assert tip.anonymous and tip.receipt_hash == receipt_hash(digits, TEST_SALT.encode())
        assert digits not in tip.receipt_hash
        assert case.tip_id == tip.id and case.source == "public_report" and case.unit_id == tip.unit_id is not None
        assert deps.sealer.open_text(tip.key_id, tip.body_enc) == "2026年3月收了红包\n\n金额五千元"
        assert deps.sealer.open_text(tip.key_id, tip.people_enc) == "王某，科长"
        assert tip.reporter_contact_enc is None and tip.reporter_chat_enc is None
        assert await s.scalar(select(func.count()).select_from(ConversationState)) == 0  # draft deleted


async def test_receipts_are_random_and_unique(chat) -> None:  # type: ignore[no-untyped-def]
    a = await submit_tip(chat("a", language_code="en"))
    b = await submit_tip(chat("b", language_code="en"))
    assert a != b and len(a.replace(" ", "")) == 16


async def test_back_and_cancel_at_every_step(chat, deps) -> None:  # type: ignore[no-untyped-def]
    c = chat("r1", language_code="en")
    await c.send("/report")
    await c.send("某局")
    await c.send("李某")
    await c.send("第一段")
    await c.press("Back")
    assert "Step 2 of 6" in c.last
    await c.press("Back")
    assert "Step 1 of 6" in c.last
    await c.send("某单位")
    await c.press("Skip")
    await c.press("Done")  # the body typed earlier is kept
    assert "Step 4 of 6" in c.last
    await c.press("Cancel")
    assert "deleted" in c.last
    assert await count(deps, ConversationState) == 0 and await count(deps, Tip) == 0
    # the old buttons are stale now
    await c.send(None, button=c.history[-2].buttons[0][0].data)
    assert "earlier conversation" in c.last


async def test_draft_survives_restart_and_expires(chat, dispatcher, deps, clock) -> None:  # type: ignore[no-untyped-def]
    from handlers.app import make_dispatcher
    from tests.fakes import Chat

    c = chat("r1", language_code="en")
    await c.send("/report")
    await c.send("某单位")
    # a new dispatcher (a restart) continues the same draft
    c2 = Chat(dispatcher=make_dispatcher(deps), external_id="r1", language_code="en")
    await c2.send("张某")
    assert "Step 3 of 6" in c2.last
    clock.advance(hours=25)
    await c2.send("还有事情")
    assert "expired" in c2.last and "deleted" in c2.last
    assert await count(deps, ConversationState) == 0


async def test_bad_input_keeps_the_draft(chat, deps) -> None:  # type: ignore[no-untyped-def]
    c = chat("r1", language_code="en")
    await c.send("/report")
    await c.send("某单位")
    await c.press("Skip")
    await c.send("第一段内容")
    await c.send("   ")
    assert "empty" in c.last
    await c.send("x" * 100_000)
    assert "too long" in c.last
    await c.attach(make_file(b"RIFF", filename="a.ogg", content_type="audio/ogg", kind="voice"))
    assert "file step" in c.history[-2].text
    await c.send(None, button="c:deadbeef:done")
    assert "earlier conversation" in c.last
    await c.press("Done")
    await c.attach(make_file(b"RIFF", filename="a.ogg", content_type="audio/ogg", kind="voice"))
    assert "can't accept" in c.history[-2].text
    await c.attach(make_file(b"", filename="big.pdf", size=50 * 1024 * 1024).model_copy(update={"data": None}))
    assert "larger than 20 MB" in c.history[-2].text
    await c.attach(make_file(b"%PDF-1.4 ok", filename="ok.pdf"))
    assert "Files so far: 1" in c.last
    await c.press("No more files")
    await c.press("Anonymous")
    assert "第一段内容" in c.last and "Files: 1" in c.last


async def test_chinese_by_default(chat) -> None:  # type: ignore[no-untyped-def]
    c = chat("r1")
    await c.send("/report")
    assert "第1步" in c.last and "不确定" in c.buttons()


def jpeg_with_gps() -> bytes:
    im = Image.new("RGB", (32, 24), (200, 10, 10))
    exif = Image.Exif()
    exif[0x010F] = "SecretPhoneMaker"  # Make
    gps = {1: "N", 2: (39.0, 54.0, 27.0), 3: "E", 4: (116.0, 23.0, 17.0)}
    exif[0x8825] = gps
    out = io.BytesIO()
    im.save(out, format="JPEG", exif=exif.tobytes())
    data = out.getvalue()
    assert b"SecretPhoneMaker" in data and Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825)
    return data


async def test_photo_loses_exif_and_gps_and_is_encrypted(chat, deps) -> None:  # type: ignore[no-untyped-def]
    photo = jpeg_with_gps()
    await submit_tip(chat("r1", language_code="en"),
                     files=(make_file(photo, filename="IMG_0001.jpg", content_type="image/jpeg", kind="photo"),))
    async with deps.sessionmaker() as s:
        att = (await s.scalars(select(Attachment))).one()
        assert b"SecretPhoneMaker" not in att.data_enc and b"\xff\xd8" != att.data_enc[:2]
        data = deps.sealer.open(att.key_id, att.data_enc)
        assert deps.sealer.open_text(att.key_id, att.filename_enc) == "IMG_0001.jpg"
    assert b"SecretPhoneMaker" not in data
    im = Image.open(io.BytesIO(data))
    assert im.size == (32, 24)
    exif = im.getexif()
    assert not exif.get_ifd(0x8825) and 0x010F not in exif
