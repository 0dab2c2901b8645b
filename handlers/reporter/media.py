"""Attachments: size and type checks, metadata removal, encryption at rest."""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from handlers.events import InboundFile

# What a reporter may send: photos and ordinary office documents.
IMAGE_TYPES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP", "image/gif": "PNG"}
DOCUMENT_TYPES = frozenset({
    "application/pdf", "text/plain",
    "application/msword", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
})
MAX_FILES_PER_DRAFT = 10
MAX_FILENAME_CHARS = 120
# Pillow refuses images above this many pixels (decompression bombs).
Image.MAX_IMAGE_PIXELS = 80_000_000


class Rejected(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason  # "too_large" | "type" | "broken"
        super().__init__(reason)


@dataclass
class CleanFile:
    filename: str
    content_type: str
    data: bytes


def _ext(content_type: str) -> str:
    return {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp"}.get(IMAGE_TYPES.get(content_type, ""), "")


def strip_image(data: bytes, content_type: str) -> tuple[bytes, str]:
    """Re-encode from pixels only, so EXIF, GPS, XMP and comments are gone."""
    fmt = IMAGE_TYPES[content_type]
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            mode = "RGB" if fmt == "JPEG" else ("RGBA" if "A" in im.getbands() else "RGB")
            clean = Image.new(mode, im.size)
            clean.paste(im.convert(mode))
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, ValueError):
        raise Rejected("broken") from None
    out = io.BytesIO()
    clean.save(out, format=fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return out.getvalue(), ("image/png" if content_type == "image/gif" else content_type)


def clean(file: InboundFile, max_bytes: int) -> CleanFile:
    if file.data is None or file.size > max_bytes or len(file.data) > max_bytes:
        raise Rejected("too_large")
    ctype = (file.content_type or "").split(";")[0].strip().lower()
    if file.kind in ("voice", "video") or (ctype not in IMAGE_TYPES and ctype not in DOCUMENT_TYPES):
        raise Rejected("type")
    name = (file.filename or "file").replace("/", "_").replace("\\", "_")[:MAX_FILENAME_CHARS]
    if ctype in IMAGE_TYPES:
        data, ctype = strip_image(file.data, ctype)
        stem = name.rsplit(".", 1)[0] if "." in name else name
        name = stem + _ext(ctype)
        return CleanFile(name, ctype, data)
    return CleanFile(name, ctype, file.data)
