from __future__ import annotations

import io

import pytest
from PIL import Image

from handlers.i18n import N_
from tests.fakes import Chat, make_file


def jpeg_with_gps() -> bytes:
    """A real JPEG carrying camera and GPS EXIF, as a phone would send."""
    img = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker-ZX"  # Make
    exif[0x0110] = "SecretPhone 9"  # Model
    gps = {1: "N", 2: (31.0, 14.0, 3.5), 3: "E", 4: (121.0, 28.0, 7.25)}
    exif[0x8825] = gps
    out = io.BytesIO()
    img.save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue()


@pytest.fixture
def photo():  # type: ignore[no-untyped-def]
    return make_file(jpeg_with_gps(), filename="IMG_0001.jpg", content_type="image/jpeg", kind="photo")


async def file_anonymous_tip(c: Chat, *, unit_search: str = "交通警察", details: tuple[str, ...] = ("他收受好处费。",),
                             files: tuple = (), people: str | None = "张某，副总队长") -> str:
    """Walk the wizard to an anonymous submission; returns the receipt digits."""
    await c.send("/report")
    await c.send(unit_search)
    if "own" in c.button_values():  # units offered, with "none of these": take the best match
        await c.press_value(c.button_values()[0])
    if people:
        await c.send(people)
    else:
        await c.press(N_("Skip"))
    for d in details:
        await c.send(d)
    await c.press(N_("Done"))
    for f in files:
        await c.attach(f)
    await c.press(N_("Done") if files else N_("Skip"))
    await c.press(N_("Anonymous"))
    replies = await c.press(N_("✔ Submit"))
    text = replies[-1].text
    digits = "".join(ch for ch in text.split("回执号码：")[1].split("请立即")[0] if ch.isdigit())
    assert len(digits) == 16, text
    return digits


async def to_files_step(c: Chat, description: str = "情况说明") -> None:
    """Walk the wizard to its files step: unit not sure, people skipped, one description."""
    await c.send("/report")
    await c.press(N_("Not sure"))
    await c.press(N_("Skip"))
    await c.send(description)
    await c.press(N_("Done"))
