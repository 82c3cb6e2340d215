"""AES-256-GCM for item maps at rest: Redis holds personal data only in encrypted form.

The Redis key is bound as associated data, so a ciphertext copied under another request id
does not decrypt.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = b"v1:"
_NONCE_BYTES = 12


class DecryptionError(Exception):
    """A stored map could not be decrypted (wrong key, or tampered with)."""


class ItemCipher:
    """Encrypts and decrypts one stored blob with a random nonce each time."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the key must be 32 bytes (AES-256)")
        self._aead = AESGCM(key)

    def encrypt(self, plaintext: bytes, context: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext, context.encode())
        return _VERSION + base64.b64encode(nonce + sealed)

    def decrypt(self, blob: bytes, context: str) -> bytes:
        if not blob.startswith(_VERSION):
            raise DecryptionError("stored value is not encrypted with this proxy's format")
        try:
            raw = base64.b64decode(blob[len(_VERSION):], validate=True)
            return self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], context.encode())
        except (InvalidTag, ValueError):
            raise DecryptionError("stored value does not decrypt with this key") from None


def generate_key() -> str:
    """A fresh key in the form ``ANONYMIZE_PROXY_KEY`` expects (base64 of 32 bytes)."""
    return base64.b64encode(os.urandom(32)).decode()
