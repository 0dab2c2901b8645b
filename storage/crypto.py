"""Encryption at rest: AES-256-GCM with a key id stored beside each sealed value.

Keys come from settings; the first key seals, every listed key opens, so keys can be
rotated (re-seal everything under the new key, then drop the old one).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12


class UnknownKeyError(KeyError):
    """A value was sealed under a key that is no longer configured."""


class Sealer:
    def __init__(self, keyring: dict[str, bytes]) -> None:
        if not keyring:
            raise ValueError("empty keyring")
        self._raw = dict(keyring)
        self._ciphers: dict[str, AESGCM] = {}
        self.current_key_id = next(iter(keyring))

    def _cipher(self, key_id: str) -> AESGCM:
        """The key's cipher, made on first use: importing cryptography maps its own OpenSSL (about
        6 MiB resident), which a process that has sealed and opened nothing yet does not need."""
        aes = self._ciphers.get(key_id)
        if aes is None:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM

            aes = self._ciphers[key_id] = AESGCM(self._raw[key_id])
        return aes

    def seal(self, data: bytes, *, aad: bytes = b"") -> tuple[str, bytes]:
        nonce = os.urandom(NONCE_BYTES)
        return self.current_key_id, nonce + self._cipher(self.current_key_id).encrypt(nonce, data, aad)

    def open(self, key_id: str, blob: bytes, *, aad: bytes = b"") -> bytes:
        if key_id not in self._raw:
            raise UnknownKeyError(key_id)
        aes = self._cipher(key_id)
        return aes.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)

    def seal_text(self, text: str) -> tuple[str, bytes]:
        return self.seal(text.encode("utf-8"))

    def open_text(self, key_id: str, blob: bytes) -> str:
        return self.open(key_id, blob).decode("utf-8")

    def seal_with(self, key_id: str, data: bytes) -> bytes:
        """Seal under a given key, for several fields of one row that share a key id."""
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._cipher(key_id).encrypt(nonce, data, b"")
