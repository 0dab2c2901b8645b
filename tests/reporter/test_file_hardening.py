"""Hostile files: pixel bombs, lying content types, metadata in documents, endless sources,
and libraries that would log what they parse."""

from __future__ import annotations

import io
import logging
import threading
import zipfile
from pathlib import Path

import openpyxl
import pytest
from PIL import Image, ImageFile
from pypdf import PdfReader, PdfWriter
from sqlalchemy import select

from bot.channels.console import ConsoleChannel
from bot.logs import configure_logging
from handlers.deps import Deps
from handlers.i18n import gettext_for
from handlers.reporter import media
from handlers.reporter.wizard import REJECT_WORDS
from storage.models import Attachment
from tests.fakes import make_file
from tests.reporter.conftest import file_anonymous_tip, jpeg_with_gps, to_files_step

ZH = gettext_for("zh_CN")


def refusal(reason: str, deps: Deps) -> str:
    return ZH(REJECT_WORDS[reason]).format(mb=deps.config.max_attachment_bytes // (1024 * 1024))


async def stored_files(deps: Deps) -> list[tuple[str, bytes]]:
    async with deps.sessionmaker() as s:
        return [(a.content_type, deps.sealer.open(a.key_id, a.data_enc)) for a in (await s.scalars(select(Attachment)))]


def pixel_bomb() -> bytes:
    """100 megapixels in a few hundred KB, as in the issue."""
    out = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(out, format="PNG")
    return out.getvalue()


async def test_a_pixel_bomb_is_refused_before_any_pixel_is_decoded(chat, deps: Deps, monkeypatch) -> None:
    bomb = pixel_bomb()
    assert len(bomb) < 2 * 1024 * 1024
    decoded: list[object] = []
    real_load = ImageFile.ImageFile.load
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded.append(self) or real_load(self))
    c = chat()
    await to_files_step(c)
    replies = await c.attach(make_file(bomb, filename="big.png", content_type="image/png", kind="photo"))
    assert replies[-1].text.startswith(refusal("pixels", deps))
    assert decoded == [] and await stored_files(deps) == []
    # The draft is intact: an ordinary photo is still taken.
    assert "共 1 个" in (await c.attach(make_file(jpeg_with_gps(), filename="p.jpg", content_type="image/jpeg")))[-1].text


async def test_files_are_cleaned_off_the_event_loop(chat, deps: Deps, monkeypatch) -> None:
    threads: list[int] = []
    real = media.strip_image_metadata

    def spy(data: bytes, fmt: str) -> bytes:
        threads.append(threading.get_ident())
        return real(data, fmt)

    monkeypatch.setattr(media, "strip_image_metadata", spy)
    await file_anonymous_tip(chat(), files=(make_file(jpeg_with_gps(), filename="p.jpg", content_type="image/jpeg"),))
    assert threads and threading.get_ident() not in threads


async def test_the_type_comes_from_the_content_not_the_label(chat, deps: Deps) -> None:
    # A phone photo labelled as a PDF is still a photo: its GPS and camera go.
    disguised = make_file(jpeg_with_gps(), filename="scan.pdf", content_type="application/pdf")
    await file_anonymous_tip(chat(), files=(disguised,))
    [(ctype, data)] = await stored_files(deps)
    assert ctype == "image/jpeg"
    assert b"SecretPhone" not in data and b"PhoneMaker" not in data
    assert not Image.open(io.BytesIO(data)).getexif()


async def test_a_program_labelled_as_a_photo_is_refused(chat, deps: Deps) -> None:
    c = chat()
    await to_files_step(c)
    exe = make_file(b"MZ\x90\x00\x03" + bytes(200), filename="photo.jpg", content_type="image/jpeg", kind="photo")
    assert (await c.attach(exe))[-1].text.startswith(refusal("type", deps))


def unzipped(data: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return b"".join(z.read(n) for n in z.namelist())


def docx_with_author() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("[Content_Types].xml",
                   '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                   '<Default Extension="xml" ContentType="application/xml"/>'
                   '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
                   '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
                   '</Types>')
        z.writestr("_rels/.rels",
                   '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                   '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>'
                   '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>'
                   '</Relationships>')
        z.writestr("word/document.xml", '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
                                        '<w:body><w:p><w:r><w:t>账目情况</w:t></w:r></w:p></w:body></w:document>')
        z.writestr("docProps/core.xml", '<cp:coreProperties xmlns:cp="x" xmlns:dc="y"><dc:creator>王秘密作者</dc:creator>'
                                        '<cp:lastModifiedBy>WANG-PC-SECRET</cp:lastModifiedBy></cp:coreProperties>')
        z.writestr("docProps/app.xml", "<Properties><Company>某局财务科SECRET</Company></Properties>")
    return out.getvalue()


def xlsx_with_author() -> bytes:
    wb = openpyxl.Workbook()
    wb.active["A1"] = "报销明细"
    wb.properties.creator = "SecretCreator"
    wb.properties.lastModifiedBy = "SecretEditor"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def pdf_with_author() -> bytes:
    w = PdfWriter()
    w.add_blank_page(200, 200)
    w.add_metadata({"/Author": "SecretPdfAuthor", "/Creator": "SecretWorkstation"})
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


async def test_office_documents_and_pdfs_lose_their_author(chat, deps: Deps) -> None:
    docx, xlsx, pdf = docx_with_author(), xlsx_with_author(), pdf_with_author()
    assert "王秘密作者".encode() in unzipped(docx) and b"SecretCreator" in unzipped(xlsx) and b"SecretPdfAuthor" in pdf
    files = (make_file(docx, filename="a.docx", content_type="application/octet-stream"),
             make_file(xlsx, filename="b.xlsx", content_type="application/vnd.ms-excel"),
             make_file(pdf, filename="c.pdf", content_type="application/pdf"))
    await file_anonymous_tip(chat(), files=files)
    stored = dict(await stored_files(deps))
    docx_out = stored[media.DOCX]
    with zipfile.ZipFile(io.BytesIO(docx_out)) as z:
        assert not any(n.startswith("docProps/") for n in z.namelist())
        assert "账目情况" in z.read("word/document.xml").decode()
        assert b"docProps" not in z.read("_rels/.rels") and b"docProps" not in z.read("[Content_Types].xml")
    for secret in ("王秘密作者", "WANG-PC-SECRET", "某局财务科SECRET"):
        assert secret.encode() not in unzipped(docx_out)
    xlsx_out = stored[media.XLSX]
    assert b"SecretCreator" not in unzipped(xlsx_out) and b"SecretEditor" not in unzipped(xlsx_out)
    assert openpyxl.load_workbook(io.BytesIO(xlsx_out)).active["A1"].value == "报销明细"  # still opens
    pdf_out = stored[media.PDF]
    assert b"SecretPdfAuthor" not in pdf_out and b"SecretWorkstation" not in pdf_out
    assert len(PdfReader(io.BytesIO(pdf_out)).pages) == 1 and not PdfReader(io.BytesIO(pdf_out)).metadata


async def test_files_that_cannot_be_cleaned_are_refused_with_a_reason(chat, deps: Deps) -> None:
    c = chat()
    await to_files_step(c)
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512)  # .doc / .xls
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("IMG_0001.jpg", jpeg_with_gps())
    for f in (make_file(ole, filename="old.doc", content_type="application/msword"),
              make_file(archive.getvalue(), filename="photos.zip", content_type="application/zip")):
        assert (await c.attach(f))[-1].text.startswith(refusal("uncleanable", deps))
    assert await stored_files(deps) == []


async def test_console_attach_never_reads_past_the_limit(dispatcher, deps: Deps, tmp_path: Path) -> None:
    out = io.StringIO()
    console = ConsoleChannel(dispatcher, out=out)
    for line in ("/report", "1", "1"):  # "Not sure", "Skip" (numbered buttons)
        await console.handle_line(line)
    await console.handle_line("情况说明")
    await console.handle_line("1")  # Done
    out.truncate(0)
    out.seek(0)
    # An endless device: read up to the limit and refused, not read until memory runs out.
    await console.handle_line("/attach /dev/zero")
    assert refusal("too_large", deps) in out.getvalue()
    big = tmp_path / "big.pdf"
    big.write_bytes(pdf_with_author() + bytes(deps.config.max_attachment_bytes))
    await console.handle_line(f"/attach {big}")
    assert out.getvalue().count(refusal("too_large", deps)) == 2
    assert await stored_files(deps) == []


async def test_no_library_logs_file_contents_even_at_debug(chat, deps: Deps, caplog: pytest.LogCaptureFixture) -> None:
    # As a library leaves its loggers (Pillow prints EXIF tags at DEBUG); configure_logging must clamp them.
    for name in ("PIL", "pypdf"):
        logging.getLogger(name).setLevel(logging.NOTSET)
    configure_logging("DEBUG")
    try:
        with caplog.at_level(logging.DEBUG):
            await file_anonymous_tip(chat(), files=(make_file(jpeg_with_gps(), filename="p.jpg", content_type="image/jpeg"),
                                                    make_file(pdf_with_author(), filename="c.pdf")))
        assert "SecretPhone" not in caplog.text and "PhoneMaker" not in caplog.text
        assert "SecretPdfAuthor" not in caplog.text
    finally:
        configure_logging("INFO")
