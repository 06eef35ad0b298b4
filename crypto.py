"""Encryption at rest for ID and phone numbers, and keyed look-up indexes.

Two keys live in the instance folder: one AES-256-GCM key that encrypts the
values, one HMAC-SHA256 key that turns a normalised value into a look-up index
(so a stolen database cannot be searched by guessing ID numbers without it).
"""
import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_PREFIX = "v1:"


class Keyring:
    def __init__(self, data_key: bytes, index_key: bytes):
        self._aead = AESGCM(data_key)
        self._index_key = index_key

    def encrypt(self, plaintext: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode("utf-8"), None)
        return _PREFIX + base64.b64encode(nonce + sealed).decode("ascii")

    def decrypt(self, token: str) -> str:
        if not token.startswith(_PREFIX):
            raise ValueError("unknown ciphertext format")
        raw = base64.b64decode(token[len(_PREFIX):])
        return self._aead.decrypt(raw[:12], raw[12:], None).decode("utf-8")

    def blind_index(self, value: str) -> str:
        return hmac.new(self._index_key, value.encode("utf-8"), hashlib.sha256).hexdigest()


_keyring: Keyring | None = None


def _load_or_create(path: Path, size: int) -> bytes:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two workers starting at once must not write two different keys.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_bytes()
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(size))
    return path.read_bytes()


def configure(key_dir) -> Keyring:
    """Load the keys from `key_dir`, creating them on first run."""
    global _keyring
    key_dir = Path(key_dir)
    _keyring = Keyring(_load_or_create(key_dir / "data.key", 32),
                       _load_or_create(key_dir / "index.key", 32))
    return _keyring


def keyring() -> Keyring:
    if _keyring is None:
        raise RuntimeError("crypto.configure() has not been called")
    return _keyring


def encrypt(plaintext: str) -> str:
    return keyring().encrypt(plaintext)


def decrypt(token: str) -> str:
    return keyring().decrypt(token)


def blind_index(value: str) -> str:
    return keyring().blind_index(value)
