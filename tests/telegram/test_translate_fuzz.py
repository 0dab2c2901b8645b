"""Fuzzing the update → event translation: any update aiogram accepts becomes a valid event
or None, never an exception, and never carries names or user names."""

from __future__ import annotations

from typing import Any

from aiogram.types import Update
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from bot.telegram import translate
from handlers.events import InboundEvent

ids = st.integers(min_value=-(2**52), max_value=2**52)
texts = st.one_of(st.none(), st.text(max_size=300))
users = st.fixed_dictionaries(
    {"id": ids, "is_bot": st.booleans(), "first_name": st.text(min_size=1, max_size=20)},
    optional={"username": st.text(max_size=20), "language_code": st.text(max_size=8), "last_name": st.text(max_size=10)},
)
chats = st.fixed_dictionaries({"id": ids, "type": st.sampled_from(["private", "group", "supergroup", "channel", "odd"])})
photo = st.lists(st.fixed_dictionaries({"file_id": st.text(min_size=1, max_size=8), "file_unique_id": st.just("u"),
                                        "width": st.integers(0, 5000), "height": st.integers(0, 5000)},
                                       optional={"file_size": st.integers(0, 2**40)}), max_size=3)
document = st.fixed_dictionaries({"file_id": st.text(min_size=1, max_size=8), "file_unique_id": st.just("u")},
                                 optional={"file_name": st.text(max_size=300), "mime_type": st.text(max_size=200),
                                           "file_size": st.integers(0, 2**40)})
messages = st.fixed_dictionaries(
    {"message_id": ids, "date": st.integers(0, 2**31), "chat": chats},
    optional={"from": users, "text": st.text(max_size=300), "caption": st.text(max_size=100), "photo": photo,
              "document": document},
)
callbacks = st.fixed_dictionaries(
    {"id": st.text(min_size=1, max_size=5), "from": users, "chat_instance": st.just("c")},
    optional={"data": st.text(max_size=80), "message": messages},
)
updates = st.fixed_dictionaries({"update_id": ids}, optional={"message": messages, "callback_query": callbacks,
                                                              "edited_message": messages})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(updates)
def test_any_update_translates_or_is_skipped(raw: dict[str, Any]) -> None:
    try:
        update = Update.model_validate(raw)
    except ValidationError:
        return  # aiogram refuses it before we see it (the webhook drops it)
    event = translate.to_event(update)
    if event is None:
        return
    assert isinstance(event, InboundEvent)
    assert event.channel == "telegram"
    assert event.dedupe_key == f"u{raw['update_id']}"
    assert event.sender.display_name is None and event.sender.username is None
    msg = raw.get("message") if "message" in raw else (raw.get("callback_query") or {}).get("message")
    if "message" in raw:
        assert event.text == raw["message"].get("text", raw["message"].get("caption"))
        assert event.button is None
    else:
        assert event.button == raw["callback_query"]["data"]
    if msg is not None:
        grouped = msg["chat"]["type"] in ("group", "supergroup", "channel")
        assert event.chat_type == ("group" if grouped else "private")


@settings(max_examples=200, deadline=None)
@given(messages)
def test_file_refs_are_well_formed(raw: dict[str, Any]) -> None:
    try:
        update = Update.model_validate({"update_id": 1, "message": raw})
    except ValidationError:
        return
    ref = translate.file_ref(update.message)  # type: ignore[arg-type]
    if ref is None:
        assert not raw.get("photo") and "document" not in raw
        return
    f = translate.inbound_file(ref, None)
    assert f.data is None and f.size >= 0 and f.filename
