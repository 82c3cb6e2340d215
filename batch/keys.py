"""The user's key: one AES-256 key (the proxy's ``ANONYMIZE_PROXY_KEY`` format) from which the
mapping file's encryption key and the pseudonyms' HMAC key are derived, so one secret does both
jobs and neither use weakens the other."""

from __future__ import annotations

import os
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from pipeline.errors import ConfigError
from proxy.crypto import ItemCipher
from proxy.settings import decode_key

KEY_ENV = "ANONYMIZE_PROXY_KEY"


@dataclass(frozen=True)
class BatchKeys:
    """The two derived keys; ``repr`` never shows them."""

    encryption: bytes
    pseudonyms: bytes

    def __repr__(self) -> str:
        return "BatchKeys(<hidden>)"

    def cipher(self) -> ItemCipher:
        return ItemCipher(self.encryption)


def derive(master: bytes) -> BatchKeys:
    return BatchKeys(_hkdf(master, b"anonymize-proxy batch mapping"),
                     _hkdf(master, b"anonymize-proxy batch pseudonyms"))


def load_keys(key_file: str | None = None, env: dict[str, str] | None = None) -> BatchKeys:
    """From ``--key-file`` (base64 text) or ``$ANONYMIZE_PROXY_KEY``; a clear error otherwise."""
    env = os.environ if env is None else env
    if key_file:
        try:
            with open(key_file, encoding="utf-8") as file:
                text, where = file.read(), key_file
        except OSError as exc:
            raise ConfigError("--key-file", f"cannot read: {exc.strerror}") from None
    elif env.get(KEY_ENV):
        text, where = env[KEY_ENV], KEY_ENV
    else:
        raise ConfigError(KEY_ENV, "a key is needed to encrypt the mapping (and for keyed "
                                   "pseudonyms); set it or pass --key-file")
    master = decode_key(text, where)
    assert master is not None
    return derive(master)


def _hkdf(master: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master)
