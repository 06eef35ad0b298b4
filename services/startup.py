"""What an app server checks and holds while it starts, so that several servers can
share one database (README "Running on several machines").

* Keys: every server needs the same `secret_key` and `keys/` (data.key, index.key,
  school-signing.key). A server that finds one of them missing would make its own;
  when the database is already set up that is refused (`refuse_new_keys`), and keys
  that are there but do not open the database's values are refused too
  (`check_keys_match`).
* Migrations: `schema_lock` lets one process at a time change the schema (or seed
  the demo data); a second `init-db` waits, then finds nothing to do.
"""
import contextlib
import fcntl
import os
from pathlib import Path
from urllib.parse import urlparse

from cryptography.exceptions import InvalidTag

import crypto
from models import db

# The files a server makes when they are missing, relative to its instance folder.
SHARED_FILES = ("secret_key", "keys/data.key", "keys/index.key", "keys/school-signing.key")
# peewee_migrate's table: a row for every migration applied.
MIGRATE_TABLE = "migratehistory"
# pg_advisory_lock's key: any fixed number that no other code of ours uses ("PORTAL12").
_PG_LOCK_KEY = 0x504F5254414C3132


class KeysRefused(RuntimeError):
    pass


def missing_files(instance, *, secret_configured: bool) -> list[str]:
    """The shared files not in `instance` (secret_key only when SECRET_KEY is not
    set otherwise, by config.py or PORTAL_SECRET_KEY)."""
    instance = Path(instance)
    return [name for name in SHARED_FILES
            if not (name == "secret_key" and secret_configured) and not (instance / name).exists()]


def database_in_use() -> bool:
    """Whether migrations have been applied to the database (another server, or this
    one before its keys were lost, set it up)."""
    with db.connection_context():
        if not db.table_exists(MIGRATE_TABLE):
            return False
        return db.execute_sql("SELECT 1 FROM migratehistory LIMIT 1").fetchone() is not None


def refuse_new_keys(instance, missing: list[str]) -> None:
    """KeysRefused when files are `missing` from `instance` and the database is in use:
    new keys would not open what is stored, and new sessions or report signatures
    would not be those of the other servers."""
    if missing and database_in_use():
        raise KeysRefused(
            f"{Path(instance)} lacks {', '.join(missing)}, but the database "
            "is already set up with other keys: copy secret_key and keys/ from an existing "
            "server (or restore a backup) into this instance folder; the portal does not make "
            "new ones for a database in use")


def check_keys_match(instance) -> None:
    """KeysRefused when keys/data.key or keys/index.key are not the ones the database's
    values were written with (one stored phone number is opened and its index recomputed)."""
    with db.connection_context():
        if not db.table_exists("account"):
            return
        row = db.execute_sql("SELECT phone, phone_index FROM account "
                             "WHERE phone IS NOT NULL AND phone_index IS NOT NULL LIMIT 1").fetchone()
    if row is None:
        return
    token, index = row
    try:
        plain = crypto.decrypt(token)
    except (InvalidTag, ValueError):
        raise KeysRefused(f"{Path(instance) / 'keys' / 'data.key'} does not open the values stored in "
                          "the database: copy keys/ from an existing server") from None
    if crypto.blind_index(plain) != index:
        raise KeysRefused(f"{Path(instance) / 'keys' / 'index.key'} is not the one the database's "
                          "look-up indexes were made with: copy keys/ from an existing server")


def sqlite_lock_path(database_url: str) -> Path | None:
    """The lock file next to a SQLite database file (None: not a SQLite file)."""
    if not database_url.startswith("sqlite"):
        return None
    name = urlparse(database_url).path[1:]  # as playhouse.db_url reads it
    if not name or name.startswith(":memory:"):
        return None
    return Path(name).with_name(Path(name).name + ".lock")


@contextlib.contextmanager
def schema_lock(database_url: str):
    """Hold the database's schema lock: PostgreSQL's session-level advisory lock on
    this thread's connection (open it first), or an exclusive flock on a file next
    to a SQLite database. A second holder waits until the first lets go."""
    lock_file = sqlite_lock_path(database_url)
    if lock_file is not None:
        fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, crypto.FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the flock
        return
    if database_url.startswith("postgres"):
        db.execute_sql("SELECT pg_advisory_lock(%s)", (_PG_LOCK_KEY,))
        try:
            yield
        finally:
            if db.in_transaction():
                db.rollback()
            db.execute_sql("SELECT pg_advisory_unlock(%s)", (_PG_LOCK_KEY,))
        return
    yield
