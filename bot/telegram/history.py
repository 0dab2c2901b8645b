"""Which messages are in a chat, so that /forget can delete them: held in memory only, never
stored and never tied to a tip. Only the latest messages of the most recent chats are kept;
Telegram lets a bot delete messages of the last 48 hours (its own, and a user's in a private
chat), so older ids would be of no use anyway."""

from __future__ import annotations

from collections import OrderedDict, deque

PER_CHAT = 300
CHATS = 5000


class ChatMessages:
    def __init__(self, per_chat: int = PER_CHAT, chats: int = CHATS) -> None:
        self.per_chat, self.chats = per_chat, chats
        self._ids: OrderedDict[int | str, deque[int]] = OrderedDict()

    def add(self, chat_id: int | str, message_id: int) -> None:
        ids = self._ids.get(chat_id)
        if ids is None:
            ids = self._ids[chat_id] = deque(maxlen=self.per_chat)
            while len(self._ids) > self.chats:
                self._ids.popitem(last=False)
        else:
            self._ids.move_to_end(chat_id)
        if message_id not in ids:
            ids.append(message_id)

    def take(self, chat_id: int | str) -> list[int]:
        """The ids held for a chat, newest first; the chat is forgotten."""
        return sorted(self._ids.pop(chat_id, ()), reverse=True)

    def clear(self) -> None:
        self._ids.clear()

    def __contains__(self, chat_id: object) -> bool:
        return chat_id in self._ids


# One per process: answers, pushes and incoming messages of every Telegram chat.
MESSAGES = ChatMessages()
