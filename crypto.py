"""Encryption at rest for ID and phone numbers, and keyed look-up indexes.

Two keys live in the instance folder: one AES-256-GCM key that encrypts the
values, one HMAC-SHA256 key that turns a normalised value into a look-up index
(so a stolen database cannot be searched by guessing ID numbers without it).

Stored files (signed report PDFs, ID photos, evidence, record photos) are
sealed with the same data key (`seal` / `unseal`; they live in the database,
services.files), and every file and folder the portal makes in its instance
folder is for its own user only (0600 / 0700).
"""
import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_PREFIX = "v1:"
# The first bytes of a sealed file: no image or PDF starts like this.
_FILE_MAGIC = b"PORTAL-SEALED-1\n"
FILE_MODE, DIR_MODE = 0o600, 0o700


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

    def seal(self, data: bytes) -> bytes:
        nonce = os.urandom(12)
        return _FILE_MAGIC + nonce + self._aead.encrypt(nonce, bytes(data), None)

    def unseal(self, blob: bytes) -> bytes:
        raw = blob[len(_FILE_MAGIC):]
        return self._aead.decrypt(raw[:12], raw[12:], None)

    def blind_index(self, value: str) -> str:
        return hmac.new(self._index_key, value.encode("utf-8"), hashlib.sha256).hexdigest()


_keyring: Keyring | None = None


def _load_or_create(path: Path, size: int) -> bytes:
    if not path.exists():
        private_dir(path.parent)
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


# --- files ------------------------------------------------------------------------

def is_sealed(blob: bytes) -> bool:
    return blob.startswith(_FILE_MAGIC)


def seal(data: bytes) -> bytes:
    return keyring().seal(data)


def unseal(blob: bytes) -> bytes:
    """The plain bytes of a sealed file; a file written before sealing is returned as is."""
    return keyring().unseal(blob) if is_sealed(blob) else blob


def private_dir(path) -> Path:
    """Make `path` (and missing parents) readable by this user only."""
    path = Path(path)
    if not path.is_dir():
        missing = []
        for parent in (path, *path.parents):
            if parent.exists():
                break
            missing.append(parent)
        for folder in reversed(missing):
            try:
                folder.mkdir(mode=DIR_MODE)
            except FileExistsError:
                pass
    _chmod(path, DIR_MODE)
    return path


def _chmod(path: Path, mode: int) -> None:
    try:
        if (path.stat().st_mode & 0o777) != mode:
            os.chmod(path, mode)
    except PermissionError:  # someone else's folder above ours: not ours to change
        pass


def write_private(path, data: bytes, *, sealed: bool = True) -> Path:
    """Write `data` to `path`, 0600 in a 0700 folder, sealed with the data key unless
    `sealed=False`; written aside and renamed, so no reader sees half a file."""
    path = Path(path)
    private_dir(path.parent)
    partial = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.part")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(seal(data) if sealed else data)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return path


def tighten(folder) -> int:
    """Make everything under `folder` (and itself) 0700 / 0600; the number changed."""
    folder, changed = Path(folder), 0
    if not folder.exists():
        return 0
    for path in [folder, *folder.rglob("*")]:
        if path.is_symlink():
            continue
        mode = DIR_MODE if path.is_dir() else FILE_MODE
        if (path.stat().st_mode & 0o777) != mode:
            _chmod(path, mode)
            changed += 1
    return changed
