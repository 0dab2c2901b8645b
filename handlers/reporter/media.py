"""What reporters may attach, and cleaning it before it is stored.

Images are re-encoded with Pillow from their pixels only, so EXIF (camera, time, GPS) and
other metadata are gone. Everything is encrypted at rest by the caller.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_TYPES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP", "image/gif": "GIF"}
DOCUMENT_TYPES = {
    "application/pdf",
    "text/plain",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/zip",
    "audio/mpeg",
    "audio/mp4",
    "audio/ogg",
    "video/mp4",
}
MAX_IMAGE_PIXELS = 60_000_000  # refuse decompression bombs


class RejectedFile(Exception):
    def __init__(self, reason: str) -> None:  # "too_large" | "type" | "broken"
        super().__init__(reason)
        self.reason = reason


@dataclass
class CleanFile:
    filename: str
    content_type: str
    data: bytes


def clean(filename: str, content_type: str, data: bytes | None, size: int, max_bytes: int) -> CleanFile:
    if data is None or size > max_bytes or len(data) > max_bytes:
        raise RejectedFile("too_large")
    ctype = (content_type or "").split(";")[0].strip().lower()
    if ctype in IMAGE_TYPES:
        fmt = IMAGE_TYPES[ctype]
        cleaned = strip_image_metadata(data, fmt)
        return CleanFile(_safe_name(filename), "image/png" if fmt == "GIF" else ctype, cleaned)
    if ctype in DOCUMENT_TYPES:
        return CleanFile(_safe_name(filename), ctype, data)
    raise RejectedFile("type")


def strip_image_metadata(data: bytes, fmt: str) -> bytes:
    """Re-encode from pixels only: no EXIF, GPS, XMP, ICC or text chunks survive."""
    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            upright = ImageOps.exif_transpose(img)  # keep the picture upright once orientation is dropped
            has_alpha = upright.mode in ("RGBA", "LA", "PA") or (upright.mode == "P" and "transparency" in upright.info)
            pixels = upright.convert("RGBA" if has_alpha and fmt != "JPEG" else "RGB")
            clean_img = Image.new(pixels.mode, pixels.size)
            clean_img.paste(pixels)
            out = io.BytesIO()
            clean_img.save(out, format="PNG" if fmt == "GIF" else fmt)  # a still frame is enough as evidence
            return out.getvalue()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, ValueError):
        raise RejectedFile("broken") from None


def _safe_name(name: str) -> str:
    name = (name or "file").replace("/", "_").replace("\\", "_").strip() or "file"
    return name[:120]
