"""What reporters may attach, and cleaning it before it is stored.

The type is decided from the content (magic bytes), never from the name or the type the
platform declares: a JPEG labelled ``application/pdf`` is treated as the JPEG it is.

- Images are re-encoded with Pillow from their pixels only, so EXIF (camera, time, GPS) and
  other metadata are gone. The pixel count is read from the header and checked *before*
  anything is decoded, so a small file of huge dimensions costs nothing.
- Word and Excel files (.docx, .xlsx) are rewritten without ``docProps/`` (author, company,
  editing time) and custom XML properties.
- PDFs are rewritten from their page tree without the document information dictionary or XMP
  metadata; older revisions kept by incremental saves are not carried over.
- Formats whose hidden details cannot be removed here (.doc, .xls, archives) are refused with a
  reason the reporter can act on.
- Audio and video from reporters are refused: containers carry the recording's time, place (an
  MP4's ``©xyz``) and device, which no library installed here removes, and a voice or a face can
  identify the sender in any case. The team's own recordings (``recordings=True``) are kept as sent.

All of this is CPU work on untrusted input: ``clean_file`` runs it in a worker thread, and one
file is decoded at a time, so memory is bounded by one image at the pixel limit.
Everything is encrypted at rest by the caller.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
import threading
import zipfile
from dataclasses import dataclass

# Pillow's own loggers print image metadata (EXIF tags, chunk contents) at DEBUG: never on.
for _name in ("PIL", "pypdf"):
    logging.getLogger(_name).setLevel(logging.WARNING)

IMAGE_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF = "application/pdf"
TEXT = "text/plain"
# Recordings, told apart by content: refused from reporters, kept as sent for the team's own material.
MEDIA_TYPES = ("audio/mpeg", "audio/mp4", "audio/ogg", "video/mp4", "audio/wav", "audio/amr", "audio/flac",
               "video/webm", "video/x-msvideo", "video/quicktime")

# 40 megapixels covers phone cameras (12–48 MP); decoded as RGBA that is 160 MB, and the
# re-encoding holds at most two copies, one file at a time.
MAX_IMAGE_PIXELS = 40_000_000
# Office files are zip archives: bound what unpacking may cost (zip bombs).
MAX_ZIP_MEMBERS = 2000
MAX_ZIP_UNPACKED = 200 * 1024 * 1024
_DECODE_SLOTS = threading.BoundedSemaphore(1)  # one decode at a time: the memory bound


class RejectedFile(Exception):
    """reason: "too_large" | "type" | "broken" | "pixels" | "uncleanable"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class CleanFile:
    filename: str
    content_type: str
    data: bytes


async def clean_file(filename: str, content_type: str, data: bytes | None, size: int, max_bytes: int, *,
                     recordings: bool = False) -> CleanFile:
    """``clean`` off the event loop: decoding a large picture must not stall every other chat."""
    if data is None or size > max_bytes or len(data) > max_bytes:
        raise RejectedFile("too_large")
    return await asyncio.to_thread(clean, filename, content_type, data, size, max_bytes, recordings=recordings)


def clean(filename: str, content_type: str, data: bytes | None, size: int, max_bytes: int, *,
          recordings: bool = False) -> CleanFile:
    """``recordings``: keep audio and video as sent (the team's own material); a reporter's are refused."""
    # ``content_type`` is what the sender's platform claims; it decides nothing.
    if data is None or size > max_bytes or len(data) > max_bytes:
        raise RejectedFile("too_large")
    kind = sniff(data)
    name = _safe_name(filename)
    with _DECODE_SLOTS:
        if kind in IMAGE_FORMATS:
            cleaned = strip_image_metadata(data, kind)
            return CleanFile(name, "image/png" if kind == "GIF" else IMAGE_FORMATS[kind], cleaned)
        if kind in (DOCX, XLSX):
            return CleanFile(name, kind, strip_office_metadata(data))
        if kind == PDF:
            return CleanFile(name, PDF, strip_pdf_metadata(data))
    if kind in ("ole", "zip"):
        raise RejectedFile("uncleanable")
    if kind in MEDIA_TYPES:
        if not recordings:
            raise RejectedFile("recording")
        return CleanFile(name, kind, data)
    if kind == TEXT:
        return CleanFile(name, kind, data)
    raise RejectedFile("type")


def sniff(data: bytes) -> str | None:
    """The type the bytes themselves announce (an image format name, a MIME type, "ole", "zip")."""
    head = data[:64]
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if b"%PDF-" in data[:1024]:  # readers accept the header anywhere in the first KB
        return PDF
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):  # .doc/.xls: author in SummaryInformation
        return "ole"
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                names = set(z.namelist())
        except (zipfile.BadZipFile, ValueError):
            return None
        if "word/document.xml" in names:
            return DOCX
        if "xl/workbook.xml" in names:
            return XLSX
        return "zip"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        return "audio/mp4" if brand[:3] == b"M4A" else "video/quicktime" if brand == b"qt  " else "video/mp4"
    if head[:1] == b"\x00" and head[4:8] in (b"moov", b"mdat", b"wide", b"free"):  # MP4/QuickTime written without ftyp
        return "video/quicktime"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "video/x-msvideo"
    if head.startswith((b"#!AMR", b"#!SILK", b"\x02#!SILK")):  # phone and WeChat voice messages
        return "audio/amr"
    if head.startswith(b"fLaC"):
        return "audio/flac"
    if head.startswith(b"\x1a\x45\xdf\xa3"):  # Matroska / WebM
        return "video/webm"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    if b"\x00" not in data:
        for enc in ("utf-8", "gb18030"):
            try:
                data.decode(enc)
                return TEXT
            except UnicodeDecodeError:
                continue
    return None


def strip_image_metadata(data: bytes, fmt: str) -> bytes:
    """Re-encode from pixels only: no EXIF, GPS, XMP, ICC or text chunks survive."""
    # Pillow is imported here, on the first image, not at start-up (memory every instance carries).
    from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

    # Never let Pillow fill in a truncated image silently: a broken file is refused, not guessed at.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    try:
        with Image.open(io.BytesIO(data), formats=[fmt]) as img:
            # The header gives the size; refuse before a single pixel is decoded.
            width, height = img.size
            if width * height > MAX_IMAGE_PIXELS:
                raise RejectedFile("pixels")
            img.load()
            upright = ImageOps.exif_transpose(img)  # keep the picture upright once orientation is dropped
            has_alpha = upright.mode in ("RGBA", "LA", "PA") or (upright.mode == "P" and "transparency" in upright.info)
            mode = "RGBA" if has_alpha and fmt != "JPEG" else "RGB"
            pixels = upright if upright.mode == mode and upright is not img else upright.convert(mode)
            del upright
            pixels.info = {}  # nothing but pixels goes to the encoder (ICC, text chunks, EXIF)
            out = io.BytesIO()
            pixels.save(out, format="PNG" if fmt == "GIF" else fmt)  # a still frame is enough as evidence
            return out.getvalue()
    except RejectedFile:
        raise
    except Image.DecompressionBombError:  # Pillow's own header check (above twice the limit)
        raise RejectedFile("pixels") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
        raise RejectedFile("broken") from None



# Parts of an Office Open XML package that describe the author, not the content.
_OFFICE_METADATA = ("docProps/", "customXml/")


def strip_office_metadata(data: bytes) -> bytes:
    """A .docx/.xlsx rewritten without docProps/ (author, last editor, company, times) and
    custom XML, with the references to them removed from the package's relationships."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as src:
            infos = src.infolist()
            if len(infos) > MAX_ZIP_MEMBERS or sum(i.file_size for i in infos) > MAX_ZIP_UNPACKED:
                raise RejectedFile("broken")
            out = io.BytesIO()
            with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
                for info in infos:
                    if info.filename.startswith(_OFFICE_METADATA):
                        continue
                    body = src.read(info.filename)
                    if info.filename == "_rels/.rels":
                        body = _drop_relationships(body)
                    elif info.filename == "[Content_Types].xml":
                        body = _drop_overrides(body)
                    # Fixed member times: the zip's own dates would tell when it was last saved.
                    zi = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
                    zi.compress_type = zipfile.ZIP_DEFLATED
                    dst.writestr(zi, body)
            return out.getvalue()
    except RejectedFile:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, KeyError, RuntimeError, EOFError):
        raise RejectedFile("broken") from None


_REL_TO_METADATA = re.compile(rb'<Relationship\b[^>]*\bTarget="/?(?:docProps|customXml)/[^"]*"[^>]*/>')
_OVERRIDE_OF_METADATA = re.compile(rb'<Override\b[^>]*\bPartName="/?(?:docProps|customXml)/[^"]*"[^>]*/>')


def _drop_relationships(xml: bytes) -> bytes:
    return _REL_TO_METADATA.sub(b"", xml)


def _drop_overrides(xml: bytes) -> bytes:
    return _OVERRIDE_OF_METADATA.sub(b"", xml)


def strip_pdf_metadata(data: bytes) -> bytes:
    """A PDF rewritten from its pages: no document information (author, creator, producer,
    dates), no XMP, no earlier revisions. Encrypted PDFs cannot be cleaned and are refused."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.errors import PdfReadError
    from pypdf.generic import NameObject

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise RejectedFile("uncleanable")
        writer = PdfWriter()
        for page in reader.pages:
            writer.add_page(page)
        for page in writer.pages:
            for key in ("/Metadata", "/PieceInfo"):
                if key in page:
                    del page[NameObject(key)]
        root = writer._root_object
        for key in ("/Metadata", "/PieceInfo"):
            if key in root:
                del root[NameObject(key)]
        writer._info = None  # no /Info dictionary at all
        out = io.BytesIO()
        writer.write(out)
        return out.getvalue()
    except RejectedFile:
        raise
    except (PdfReadError, OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError, EOFError):
        raise RejectedFile("broken") from None


def _safe_name(name: str) -> str:
    name = (name or "file").replace("/", "_").replace("\\", "_").strip() or "file"
    return name[:120]
