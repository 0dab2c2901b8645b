"""Replies on WeCom: text split at the 2048-byte limit, buttons as a numbered text menu (or a
template card with buttons where enabled), pictures and files through media upload."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from bot.channels.base import DeliveryError
from bot.wecom import CHANNEL
from bot.wecom.client import LianzuWeComClient, as_delivery_error, in_thread
from handlers.dispatcher import Dispatcher
from handlers.events import Reply
from handlers.render import numbered_text, split_text

log = logging.getLogger("lianzu.wecom")
TEXT_LIMIT_BYTES = 2048  # WeCom's limit for a text message
CARD_MAX_BUTTONS = 6
CARD_TITLE_BYTES = 128
CARD_DESC_CHARS = 500


class WeComChannel:
    name = CHANNEL

    def __init__(self, client: LianzuWeComClient, agent_id: int, dispatcher: Dispatcher, *, cards: bool = False) -> None:
        self.client, self.agent_id, self.dispatcher, self.cards = client, agent_id, dispatcher, cards

    async def send(self, address: str, reply: Reply) -> None:
        """Push (outbox delivery) or answer: the same active-message API either way."""
        await self.answer(address, reply, remember=True)

    async def answer(self, address: str, reply: Reply, *, remember: bool = False) -> None:
        """An answer sent while its update's transaction is still open (a receipt): the dispatcher
        remembers its menu in that transaction, so this must not write the state itself."""
        try:
            await self._send(address, reply, remember)
        except DeliveryError:
            raise
        except Exception as exc:
            raise as_delivery_error(exc) from None

    async def _send(self, user: str, reply: Reply, remember: bool) -> None:
        buttons = reply.flat_buttons()
        if buttons and self.cards and len(buttons) <= CARD_MAX_BUTTONS:
            lead, card_text = self._card_split(reply.text)
            # A text too long for a card goes first as plain messages, so nothing is cut off.
            for part in split_text(lead, TEXT_LIMIT_BYTES, measure="bytes") if lead else []:
                if part.strip():
                    await in_thread(self.client.call, self.client.message.send_text, self.agent_id, user, part)
            await in_thread(self.client.call, self.client.message.send, self.agent_id, user,
                            msg=self._card(reply.model_copy(update={"text": card_text})))
        else:
            text = numbered_text(reply)
            for part in split_text(text, TEXT_LIMIT_BYTES, measure="bytes"):
                if part.strip():
                    await in_thread(self.client.call, self.client.message.send_text, self.agent_id, user, part)
            if buttons and remember:
                await self.dispatcher.remember_menu(CHANNEL, user, reply)
        for f in reply.files:
            kind = "image" if f.kind == "photo" else "file"
            media_id = await in_thread(self.client.upload, kind, f.filename, f.data)
            send = self.client.message.send_image if kind == "image" else self.client.message.send_file
            await in_thread(self.client.call, send, self.agent_id, user, media_id)

    @staticmethod
    def _fits_card(text: str) -> bool:
        title, _sep, rest = text.partition("\n")
        return len(title.encode()) <= CARD_TITLE_BYTES and len(rest.strip()) <= CARD_DESC_CHARS

    def _card_split(self, text: str) -> tuple[str, str]:
        """(what goes ahead as text, what the card shows): the whole text on the card when it
        fits; else the card keeps the last paragraph (the question its buttons answer)."""
        if self._fits_card(text):
            return "", text
        lead, _sep, last = text.rstrip().rpartition("\n\n")
        if not lead or not self._fits_card(last):
            lead, _sep, last = text.rstrip().rpartition("\n")
        if not lead or not self._fits_card(last):
            return text, "✓" if not last.strip() else last.strip().split("\n", 1)[0][:40]
        return lead, last

    def _card(self, reply: Reply) -> dict[str, Any]:
        title = reply.text.split("\n", 1)[0].encode()[:CARD_TITLE_BYTES].decode("utf-8", "ignore")
        rest = reply.text[len(title):].strip()
        return {
            "msgtype": "template_card",
            "template_card": {
                "card_type": "button_interaction",
                "main_title": {"title": title, "desc": rest[:CARD_DESC_CHARS]},
                "task_id": uuid.uuid4().hex,
                "button_list": [{"text": b.label[:20], "style": 1, "key": b.data} for b in reply.flat_buttons()],
            },
        }

    async def update_card(self, user: str, task_id: str, text: str) -> None:
        """After a card button was pressed: replace the buttons with what happened."""
        body = {"userids": [user], "agentid": self.agent_id, "response_code": task_id,
                "button": {"replace_name": text.split("\n", 1)[0][:20] or "✓"}}
        try:
            await in_thread(self.client.call, self.client.post, "message/update_template_card", data=body)
        except Exception:
            log.warning("template card update failed")
