"""Attachments are cleaned and encrypted; keys can be rotated."""

from __future__ import annotations

import io

from PIL import Image
from sqlalchemy import select

from handlers.config import Config
from handlers.deps import Deps
from handlers.i18n import N_
from storage.crypto import Sealer
from storage.keys import rotate
from storage.models import Attachment, Tip
from tests.fakes import make_file
from tests.reporter.conftest import file_anonymous_tip, to_files_step
from tests.reporter.test_file_hardening import pdf_with_author


async def test_photo_loses_exif_and_gps_and_is_encrypted(chat, deps: Deps, photo) -> None:
    assert b"SecretPhone" in photo.data  # the phone's photo really carries it
    c = chat()
    await file_anonymous_tip(c, files=(photo,))
    async with deps.sessionmaker() as s:
        att = (await s.scalars(select(Attachment))).one()
        assert b"SecretPhone" not in att.data_enc
        data = deps.sealer.open(att.key_id, att.data_enc)
        assert b"SecretPhone" not in data and b"PhoneMaker" not in data
        img = Image.open(io.BytesIO(data))
        assert img.size == (64, 48)
        assert not img.getexif()
        assert deps.sealer.open_text(att.key_id, att.filename_enc) == "IMG_0001.jpg"


async def test_oversized_and_unsupported_files_are_refused_and_the_draft_kept(chat, deps: Deps) -> None:
    c = chat()
    await to_files_step(c)
    too_big = make_file(b"", filename="big.pdf", size=deps.config.max_attachment_bytes + 1)
    too_big = too_big.model_copy(update={"data": None})
    assert "太大" in (await c.attach(too_big))[-1].text
    assert "无法接收这种类型" in (await c.attach(make_file(b"MZ\x90", filename="x.exe",
                                                         content_type="application/x-msdownload")))[-1].text
    truncated_jpeg = b"\xff\xd8\xff\xe0 not a jpeg after all"
    assert "无法读取" in (await c.attach(make_file(truncated_jpeg, filename="a.jpg",
                                                content_type="image/jpeg", kind="photo")))[-1].text
    ok = await c.attach(make_file(pdf_with_author(), filename="evidence.pdf"))
    assert "共 1 个" in ok[-1].text
    await c.press(N_("Done"))
    await c.press(N_("Anonymous"))
    assert "情况说明" in c.last and "附件：1 个" in c.last


async def test_rotation_reseals_everything_and_the_old_key_can_go(chat, deps: Deps, photo) -> None:
    await file_anonymous_tip(chat(), files=(photo,))
    old = deps.config.encryption_keys.get_secret_value()
    new_key = "k9:" + "bmV3LWtleS0wMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc="
    both = Sealer(Config(encryption_keys=f"{new_key},{old}").keyring)  # type: ignore[arg-type]
    async with deps.sessionmaker() as s, s.begin():
        counts = await rotate(s, both)
    assert counts["tips"] == 1 and counts["attachments"] == 1
    only_new = Sealer(Config(encryption_keys=new_key).keyring)  # type: ignore[arg-type]
    async with deps.sessionmaker() as s:
        tip = (await s.scalars(select(Tip))).one()
        assert tip.key_id == "k9"
        assert "收受好处费" in only_new.open_text(tip.key_id, tip.body_enc)
        att = (await s.scalars(select(Attachment))).one()
        assert only_new.open(att.key_id, att.data_enc)[:2] == b"\xff\xd8"  # still the (cleaned) JPEG
    async with deps.sessionmaker() as s, s.begin():
        assert sum((await rotate(s, both)).values()) == 0  # nothing left to do
