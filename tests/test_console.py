"""The console channel, end to end, as an operator trying Lianzu out would use it."""

from __future__ import annotations

import io

from bot.channels.console import ConsoleChannel
from handlers.i18n import N_, gettext_for
from tests.fakes import label_for, language_of


async def test_console_session(dispatcher) -> None:
    out = io.StringIO()
    console = ConsoleChannel(dispatcher, out=out)
    lines = iter(["/help", "/lang en", "/help", "/nonsense", "/as o02-lead", "/start", "/as nobody-here",
                  "/as anonymous", "/quit", "/help"])
    await console.run(read_line=lambda: _next(lines))
    text = out.getvalue()
    assert "可用命令" in text                         # Chinese first
    assert "Commands:" in text                        # after /lang en
    assert "/nonsense" in text                        # unknown command answered
    assert "Now acting as o02-lead" in text
    assert "组长" in text                             # the lead has their own language (default zh)
    assert "No staff member with login 'nobody-here'" in text
    assert "Now acting as an outside person" in text
    assert text.count("Commands:") == 1               # /quit stopped it before the final /help


async def test_console_menu_numbers_select_buttons(dispatcher) -> None:
    out = io.StringIO()
    console = ConsoleChannel(dispatcher, out=out)
    await console.handle_line("/start")
    shown = out.getvalue()
    label = label_for(gettext_for(await language_of(dispatcher, console.event())), N_("List the commands"))
    number = next(line.split(".")[0] for line in shown.splitlines() if line.split(". ", 1)[-1] == label)
    out.truncate(0)
    await console.handle_line(number)  # the /start button "List the commands"
    assert "可用命令" in out.getvalue()


async def test_console_attach_missing_file_is_explained(dispatcher, tmp_path) -> None:
    out = io.StringIO()
    console = ConsoleChannel(dispatcher, out=out)
    assert await console.handle_line(f"/attach {tmp_path / 'nope.jpg'}")
    assert "Cannot read" in out.getvalue()


def _next(lines) -> str:  # type: ignore[no-untyped-def]
    line = next(lines, None)
    return "" if line is None else line + "\n"


async def test_log_lines_never_appear_inside_the_console_chat(dispatcher) -> None:
    import logging

    out = io.StringIO()
    terminal = logging.StreamHandler(out)  # logs written to the same terminal as the chat
    root = logging.getLogger()
    root.addHandler(terminal)
    try:
        lines = iter(["/help", "/report", "/quit"])

        def read_line() -> str:
            logging.getLogger("lianzu.test").warning("a log line during the chat")
            return _next(lines)

        await ConsoleChannel(dispatcher, out=out).run(read_line=read_line)
    finally:
        root.removeHandler(terminal)
    text = out.getvalue()
    chat, _sep, after = text.rpartition("you> ")
    assert "a log line" not in chat and "第1步" in chat
    assert after.count("a log line during the chat") >= 3  # written once the chat ended
    assert terminal not in root.handlers
