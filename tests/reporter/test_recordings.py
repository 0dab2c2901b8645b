"""Audio and video carry their recording's time, place and device, and nothing installed here can
remove that: a reporter's recording is refused (decided from the content, whatever it is labelled),
with a reason that says what to send instead; the draft is kept."""

from __future__ import annotations

import io
import struct
import wave

import pytest

from handlers.deps import Deps
from handlers.i18n import gettext_for
from handlers.reporter import media
from handlers.reporter.wizard import REJECT_WORDS
from tests.fakes import make_file
from tests.reporter.conftest import jpeg_with_gps, to_files_step
from tests.reporter.test_file_hardening import stored_files

ZH, EN = gettext_for("zh_CN"), gettext_for("en")
SECRET = "李四".encode()


def wav_with_artist() -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x01" * 800)
    data = out.getvalue()
    name = SECRET + b"\x00"
    info = b"INFO" + b"IART" + struct.pack("<I", len(name)) + name
    data += b"LIST" + struct.pack("<I", len(info)) + info
    return data[:4] + struct.pack("<I", len(data) - 8) + data[8:]


def box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", 8 + len(body)) + kind + body


def mp4_with_location() -> bytes:
    """ftyp, moov (mvhd with a creation time, udta with the ©xyz location phones write), mdat."""
    mvhd = box(b"mvhd", bytes(4) + struct.pack(">IIII", 3_800_000_000, 3_800_000_000, 1000, 2000) + bytes(80))
    xyz = b"+39.9042+116.4074/"
    udta = box(b"udta", box(b"\xa9xyz", struct.pack(">HH", len(xyz), 0x15C7) + xyz))
    return box(b"ftyp", b"isom" + bytes(4) + b"isomiso2mp41") + box(b"moov", mvhd + udta) + box(b"mdat", bytes(64))


def mp3_with_tag() -> bytes:
    frame = b"\x03" + SECRET.decode().encode("utf-8")
    tpe1 = b"TPE1" + struct.pack(">I", len(frame)) + b"\x00\x00" + frame
    size = len(tpe1)
    syncsafe = bytes([(size >> 21) & 0x7F, (size >> 14) & 0x7F, (size >> 7) & 0x7F, size & 0x7F])
    return b"ID3\x03\x00\x00" + syncsafe + tpe1 + b"\xff\xfb\x90\x00" + bytes(413)


def amr_voice() -> bytes:
    return b"#!AMR\n" + bytes([0x3C]) + bytes(31)


RECORDINGS = [
    ("voice.wav", wav_with_artist(), "audio/wav", "voice"),
    ("clip.mp4", mp4_with_location(), "image/jpeg", "photo"),  # labelled a photo: the content decides
    ("song.mp3", mp3_with_tag(), "application/pdf", "document"),
    ("voice.amr", amr_voice(), "text/plain", "voice"),
]


@pytest.mark.parametrize(("name", "data", "declared", "kind"), RECORDINGS, ids=[r[0] for r in RECORDINGS])
async def test_a_reporters_recording_is_refused_with_what_to_send_instead(chat, deps: Deps, name: str, data: bytes,
                                                                          declared: str, kind: str) -> None:
    c = chat()
    await to_files_step(c)
    replies = await c.attach(make_file(data, filename=name, content_type=declared, kind=kind))
    assert replies[-1].text.startswith(ZH(REJECT_WORDS["recording"]))
    assert "照片或截图" in replies[-1].text
    assert await stored_files(deps) == []
    # The draft is intact: a photo is still taken, cleaned.
    assert "共 1 个" in (await c.attach(make_file(jpeg_with_gps(), filename="p.jpg", content_type="image/jpeg")))[-1].text


def test_the_reason_is_complete_in_both_languages() -> None:
    zh, en = ZH(REJECT_WORDS["recording"]), EN(REJECT_WORDS["recording"])
    assert zh != en and "音频和视频" in zh and "screenshot" in en


def test_the_teams_own_recordings_are_kept_as_sent() -> None:
    for name, data, _declared, _kind in RECORDINGS:
        cf = media.clean(name, "application/octet-stream", data, len(data), 10 * 1024 * 1024, recordings=True)
        assert cf.data == data and cf.content_type in media.MEDIA_TYPES
        with pytest.raises(media.RejectedFile) as refused:
            media.clean(name, "application/octet-stream", data, len(data), 10 * 1024 * 1024)
        assert refused.value.reason == "recording"
