"""A local stand-in for the Telegram Bot API: an aiohttp app on 127.0.0.1 that serves the
methods Lianzu uses, keeps the messages it sent, and records every call.

Tests push updates (``push``) that the bot receives by long polling, or post them to the
bot's webhook themselves. Failures can be injected per method (``fail_next``) or per chat
(``blocked``).
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

# Fields aiogram sends JSON-encoded in its form data.
JSON_FIELDS = {"reply_markup", "commands", "scope", "allowed_updates", "entities", "link_preview_options"}
BOT_USER = {"id": 4242, "is_bot": True, "first_name": "Lianzu", "username": "lianzu_test_bot"}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)


class BotAPIStandIn:
    def __init__(self, token: str = "4242:TEST-token") -> None:
        self.token = token
        self.calls: list[Call] = []
        self.updates: list[dict[str, Any]] = []
        self.update_ids = itertools.count(1000)
        self.message_ids = itertools.count(1)
        self.date = 1_780_000_000
        # (chat_id, message_id) → {"text": …, "reply_markup": …}
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.files: dict[str, tuple[str, bytes]] = {}
        # (chat_id, message_id) of messages people sent (Running.deliver notes them) and of
        # every message deleted through deleteMessage.
        self.incoming: set[tuple[int, int]] = set()
        self.deleted: list[tuple[int, int]] = []
        self.blocked: set[int] = set()
        self.fail_next: dict[str, tuple[int, str, dict[str, Any] | None]] = {}
        self.webhook: dict[str, Any] | None = None
        # Chat id → an event: calls for that chat are recorded, then wait until it is set.
        self.hold: dict[int, asyncio.Event] = {}
        # Event-loop turns each call waits before it is answered (no real time): reorders work
        # in flight the way a busy network would.
        self.jitter: Callable[[], int] | None = None
        # method → an event the method waits for before answering (a platform that hangs)
        self.hold_method: dict[str, asyncio.Event] = {}
        self._new_update = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.app = web.Application(client_max_size=64 * 1024 * 1024)
        self.app.router.add_route("*", "/bot{token}/{method}", self._api)
        self.app.router.add_get("/file/bot{token}/{path:.+}", self._download)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        self._new_update.set()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- what tests use -----------------------------------------------------------------

    def push(self, update: dict[str, Any]) -> int:
        update.setdefault("update_id", next(self.update_ids))
        self.updates.append(update)
        self._new_update.set()
        return update["update_id"]

    def add_file(self, data: bytes, path: str = "documents/file_1.pdf") -> str:
        file_id = f"F{len(self.files) + 1}"
        self.files[file_id] = (path, data)
        return file_id

    def called(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def sent_to(self, chat_id: int) -> list[Call]:
        """sendMessage/editMessageText/sendPhoto/sendDocument calls for one chat, in order."""
        return [c for c in self.calls
                if c.method in ("sendMessage", "editMessageText", "sendPhoto", "sendDocument")
                and str(c.params.get("chat_id")) == str(chat_id)]

    def texts_to(self, chat_id: int) -> list[str]:
        return [c.params.get("text", "") for c in self.sent_to(chat_id) if "text" in c.params]

    def shown_in(self, chat_id: int) -> list[str]:
        """Texts that really arrived in a chat (refused calls are recorded but not shown)."""
        return [m.get("text", "") for (c, _mid), m in sorted(self.messages.items()) if c == chat_id]

    async def wait_for(self, predicate, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
        """Waits (on the event loop, not the clock) until the bot has made the expected calls."""
        async def poll() -> None:
            while not predicate():
                await asyncio.sleep(0.01)
        await asyncio.wait_for(poll(), timeout)

    # -- the API ------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._error(401, "Unauthorized")
        method = request.match_info["method"]
        params: dict[str, Any] = {}
        files: dict[str, tuple[str, bytes]] = {}
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                files[key] = (value.filename, value.file.read())
            elif key in JSON_FIELDS:
                params[key] = json.loads(value)
            else:
                params[key] = value
        # Uploads arrive as "attach://<field>" with the bytes in that field.
        for key, value in list(params.items()):
            if isinstance(value, str) and value.startswith("attach://") and value[9:] in files:
                files[key] = files.pop(value[9:])
        self.calls.append(Call(method, params, files))
        chat = params.get("chat_id")
        if chat is not None and int(chat) in self.hold:
            await self.hold[int(chat)].wait()
        for _ in range(self.jitter() if self.jitter else 0):
            await asyncio.sleep(0)
        if method in self.hold_method:
            await self.hold_method[method].wait()
        if method in self.fail_next:
            code, desc, extra = self.fail_next.pop(method)
            return self._error(code, desc, extra)
        if chat is not None and int(chat) in self.blocked:
            return self._error(403, "Forbidden: bot was blocked by the user")
        handler = getattr(self, f"m_{method}", None)
        if handler is None:
            return self._error(404, "Not Found: method not found")
        return await handler(params, files)

    def _ok(self, result: Any) -> web.Response:
        return web.json_response({"ok": True, "result": result})

    def _error(self, code: int, desc: str, parameters: dict[str, Any] | None = None) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": code, "description": desc}
        if parameters:
            body["parameters"] = parameters
        return web.json_response(body, status=code)

    def _message(self, chat_id: int, **content: Any) -> dict[str, Any]:
        mid = next(self.message_ids)
        self.messages[(chat_id, mid)] = content
        return {"message_id": mid, "date": self.date, "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
                "from": BOT_USER, **content}

    async def m_getMe(self, p: dict[str, Any], f: dict) -> web.Response:  # type: ignore[type-arg]
        return self._ok(BOT_USER)

    async def m_getUpdates(self, p: dict[str, Any], f: dict) -> web.Response:  # type: ignore[type-arg]
        if self.webhook is not None:
            return self._error(409, "Conflict: can't use getUpdates method while webhook is active")
        offset = int(p.get("offset", 0) or 0)
        timeout = min(float(p.get("timeout", 0) or 0), 2.0)  # short: tests stop the bot often
        self.updates = [u for u in self.updates if u["update_id"] >= offset]
        if not self.updates and timeout:
            self._new_update.clear()
            try:
                await asyncio.wait_for(self._new_update.wait(), timeout)
            except TimeoutError:
                pass
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        return self._ok(list(self.updates))

    async def m_sendMessage(self, p: dict[str, Any], f: dict) -> web.Response:  # type: ignore[type-arg]
        text = p.get("text", "")
        if not text.strip():
            return self._error(400, "Bad Request: message text is empty")
        if len(text) > 4096 * 2:  # escaped HTML may be longer than what Telegram counts
            return self._error(400, "Bad Request: message is too long")
        return self._ok(self._message(int(p["chat_id"]), text=text, **_markup(p)))

    async def m_editMessageText(self, p: dict[str, Any], f: dict) -> web.Response:  # type: ignore[type-arg]
        key = (int(p["chat_id"]), int(p["message_id"]))
        if key not in self.messages:
            return self._error(400, "Bad Request: message to edit not found")
        self.messages[key] = {"text": p.get("text", ""), **_markup(p)}
        return self._ok({"message_id": key[1], "date": self.date, "chat": {"id": key[0], "type": "private"},
                         "text": p.get("text", "")})

    async def m_deleteMessage(self, p: dict[str, Any], f: dict) -> web.Response:  # type: ignore[type-arg]
        key = (int(p["chat_id"]), int(p["message_id"]))
        if key in self.messages:
            del self.messages[key]
        elif key in self.incoming:
            self.incoming.discard(key)
        else:
            return self._error(400, "Bad Request: message to delete not found")
        self.deleted.append(key)
        return self._ok(True)

    async def m_answerCallbackQuery(self, p: dict[str, Any], f: dict) -> web.Response:  # type: ignore[type-arg]
        return self._ok(True)

    async def m_getFile(self, p: dict[str, Any], f: dict) -> web.Response:  # type: ignore[type-arg]
        fid = p.get("file_id", "")
        if fid not in self.files:
            return self._error(400, "Bad Request: invalid file_id")
        path, data = self.files[fid]
        return self._ok({"file_id": fid, "file_unique_id": "u" + fid, "file_size": len(data), "file_path": path})

    async def _download(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        for p, data in self.files.values():
            if p == path and request.match_info["token"] == self.token:
                self.calls.append(Call("download", {"path": path}))
                return web.Response(body=data)
        return web.Response(status=404)

    async def m_sendPhoto(self, p: dict[str, Any], f: dict) -> web.Response:  # type: ignore[type-arg]
        name, data = f["photo"]
        fid = self.add_file(data, f"photos/{name}")
        return self._ok(self._message(int(p["chat_id"]),
                                      photo=[{"file_id": fid, "file_unique_id": "u" + fid, "width": 1, "height": 1}]))

    async def m_sendDocument(self, p: dict[str, Any], f: dict) -> web.Response:  # type: ignore[type-arg]
        name, data = f["document"]
        fid = self.add_file(data, f"documents/{name}")
        return self._ok(self._message(int(p["chat_id"]),
                                      document={"file_id": fid, "file_unique_id": "u" + fid, "file_name": name}))

    async def m_setMyCommands(self, p: dict[str, Any], f: dict) -> web.Response:  # type: ignore[type-arg]
        return self._ok(True)

    async def m_setWebhook(self, p: dict[str, Any], f: dict) -> web.Response:  # type: ignore[type-arg]
        self.webhook = p
        return self._ok(True)

    async def m_deleteWebhook(self, p: dict[str, Any], f: dict) -> web.Response:  # type: ignore[type-arg]
        self.webhook = None
        return self._ok(True)


def _markup(p: dict[str, Any]) -> dict[str, Any]:
    return {"reply_markup": p["reply_markup"]} if "reply_markup" in p else {}


# -- update builders ---------------------------------------------------------------------

def user(uid: int, *, language_code: str | None = "zh-hans", username: str | None = None,
         first_name: str = "Test") -> dict[str, Any]:
    u: dict[str, Any] = {"id": uid, "is_bot": False, "first_name": first_name}
    if language_code:
        u["language_code"] = language_code
    if username:
        u["username"] = username
    return u


def message(uid: int, text: str | None = None, *, chat_id: int | None = None, chat_type: str = "private",
            message_id: int = 1, **extra: Any) -> dict[str, Any]:
    frm = extra.pop("from_user", None) or user(uid)
    cid = uid if chat_id is None else chat_id
    chat: dict[str, Any] = {"id": cid, "type": chat_type}
    if chat_type != "private":
        chat["title"] = "Some group"
    m: dict[str, Any] = {"message_id": message_id, "date": 1_780_000_000, "chat": chat, "from": frm, **extra}
    if text is not None:
        m["text"] = text
    return {"message": m}


def callback(uid: int, data: str, *, message_id: int, chat_id: int | None = None, from_user=None) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    cid = uid if chat_id is None else chat_id
    return {"callback_query": {
        "id": f"cb{uid}{message_id}{len(data)}", "from": from_user or user(uid), "chat_instance": "ci", "data": data,
        "message": {"message_id": message_id, "date": 1_780_000_000, "chat": {"id": cid, "type": "private"},
                    "from": BOT_USER, "text": "…"},
    }}
