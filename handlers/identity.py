"""Keyed hashes of chat identities: enough to continue a conversation, never the id itself."""

from __future__ import annotations

import hashlib
import hmac


def sender_key(salt: bytes, channel: str, external_id: str, purpose: str = "conversation") -> str:
    """HMAC-SHA256 over purpose, channel and id; different purposes give unlinkable keys."""
    msg = f"{purpose}\x1f{channel}\x1f{external_id}".encode()
    return hmac.new(salt, msg, hashlib.sha256).hexdigest()
