"""Random walks through every conversation, from reporters' and staff members' chats, with hostile
input at each step (pressed buttons, typed text, forged button data, commands): never the generic
error, on either database."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.channels.registry import platform_notes
from handlers.app import make_deps, make_dispatcher
from handlers.clock import ManualClock
from handlers.events import InboundFile
from storage.crypto import Sealer
from storage.db import make_engine, make_sessionmaker
from storage.models import ConversationState
from tests.conftest import bind_staff, make_config
from tests.fakes import Chat, make_file, tiny_pdf
from tests.reporter.conftest import file_anonymous_tip
from tests.test_bad_input import generic

NASTY = ["①", "②", "²", "⑨", "٣", "０", "\x00", "\ud800", "a\udc00b", "\x1b[2J", "9" * 40, "-1", "0", "1e9",
         "0000", "9999-12", "9999-q4", "2026-13", "9999-12-01 9999-12-31", "LZ2026-00001", "lz2026-99999999999",
         "1234 5678 9012 3456", "交通警察", "张某", " ", "\n", "/", "//", "/case", "/case \x00", "/stats 0000",
         "/stats 9999-12", "/bind", "/bind ①②③④⑤-⑥⑦⑧⑨⑩", "/lang xx", "/deactivate", "/revoke \ud800"]
FORGED = ["a:ack:99999999999", "a:case:1.view", "a:case:99999999999.view", "a:case:1.nonsense", "a:intake:1",
          "a:intake:²", "a:ack:", "c::", "c:deadbeef:done", "cmd:my", "cmd:nonexistent", "x", "", "a:case:①.view"]
PDF = tiny_pdf("fuzz")
FILES = [make_file(b"", filename=""), make_file(b"%PDF-1.4 not really"), make_file(PDF, filename="a\x00b\ud800.pdf"),
         make_file(PDF, filename="x" * 1000 + ".pdf", content_type=""), make_file(PDF, size=10**12),
         make_file(b"not a jpeg", filename="IMG.jpg", content_type="image/jpeg", kind="photo"),
         InboundFile(filename="big.pdf", content_type="application/pdf", size=10**10, data=None),
         make_file(PDF, filename="../../{0}{n}%s\u202egpj.pdf"), make_file(b"MZ\x90\x00", filename="a.exe",
                                                                       content_type="application/x-msdownload"),
         make_file(b"\x89PNG\r\n\x1a\n", filename="", content_type="image/png", kind="photo"),
         make_file(b"OggS", filename="voice.ogg", content_type="audio/ogg", kind="voice"),
         make_file(PDF, filename="video.mp4", content_type="video/mp4", kind="video"),
         make_file(b"PK\x03\x04", filename="a.docx", content_type="application/vnd.openxmlformats-officedocument"
                   ".wordprocessingml.document"), make_file(PDF, size=-1, filename="neg.pdf")]
COMMANDS = ["/start", "/help", "/report", "/check", "/cancel", "/new", "/intake", "/my", "/status", "/stats",
            "/lang", "/bindings", "/unbind"]

step = st.one_of(
    st.tuples(st.just("press"), st.integers(0, 30)),
    st.tuples(st.just("text"), st.sampled_from(NASTY)),
    st.tuples(st.just("text"), st.text(max_size=30)),
    st.tuples(st.just("button"), st.sampled_from(FORGED)),
    st.tuples(st.just("button"), st.text(max_size=70)),
    st.tuples(st.just("text"), st.sampled_from(COMMANDS)),
    st.tuples(st.just("file"), st.integers(0, len(FILES) - 1)),
)
STARTS = [(None, "/report"), (None, "/check"), (None, "/start"), ("sup1", "/new"), ("sup1", "/intake"),
          ("o02-lead", "/my"), ("o02-lead", "/new"), ("admin", "/stats"), ("o03-f1", "/my")]
SEEN: dict[str, set[tuple[str | None, str | None]]] = {}


async def _play(url: str, who: str | None, first: str, walk: list[tuple[str, object]], numbered: bool) -> None:
    engine = make_engine(url)
    try:
        cfg = make_config(url)
        deps = make_deps(cfg, make_sessionmaker(engine), ManualClock(), Sealer(cfg.keyring),
                         platform_notes=platform_notes())
        ext = f"fuzz-{uuid.uuid4().hex[:8]}"
        if who:
            await bind_staff(deps, who, ext)
        c = Chat(dispatcher=make_dispatcher(deps), external_id=ext)
        inputs: list[tuple[str, object]] = [("text", first), *walk]
        for kind, value in inputs:
            if kind == "press":
                buttons = [b for r in c.history[-3:] for b in r.flat_buttons()]
                if not buttons:
                    continue
                replies = await c.send(None, button=buttons[int(value) % len(buttons)].data,  # type: ignore[call-overload]
                                       numbered_menus=numbered)
            elif kind == "file":
                replies = await c.send(None, attachment=FILES[int(value)], numbered_menus=numbered)  # type: ignore[call-overload]
            elif kind == "button":
                replies = await c.send(None, button=str(value), numbered_menus=numbered)
            else:
                replies = await c.send(str(value), numbered_menus=numbered)
            bad = [r.text for r in replies if generic(r.text)]
            assert not bad, (who, inputs, kind, value)
            async with deps.sessionmaker() as s:
                row = (await s.execute(select(ConversationState.conversation, ConversationState.step))).all()
                SEEN.setdefault(url, set()).update((a, b) for a, b in row)
    finally:
        await engine.dispose()


@pytest.fixture
def fuzz_db_url(templates) -> str:  # type: ignore[no-untyped-def]
    """The demo organisation with one tip filed, so that staff have a case to act on."""
    url: str = templates.fresh("demo")

    async def seed() -> None:
        engine = make_engine(url)
        cfg = make_config(url)
        deps = make_deps(cfg, make_sessionmaker(engine), ManualClock(), Sealer(cfg.keyring),
                         platform_notes=platform_notes())
        await file_anonymous_tip(Chat(dispatcher=make_dispatcher(deps), external_id="seed"))
        await engine.dispose()

    asyncio.run(seed())
    return url


@settings(max_examples=220, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(start=st.sampled_from(STARTS), walk=st.lists(step, min_size=6, max_size=16), numbered=st.booleans())
def test_no_input_in_any_state_reaches_the_generic_error(fuzz_db_url: str, start, walk, numbered) -> None:  # type: ignore[no-untyped-def]
    who, first = start
    asyncio.run(_play(fuzz_db_url, who, first, walk, numbered))
