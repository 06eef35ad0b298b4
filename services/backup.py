"""One-archive backups of an instance, taken while the portal runs, and their restore.

The archive (tar.gz, 0600: it holds the keys) contains

    manifest.json                  what is inside, with the SHA-256 of every other member
    database/portal.sqlite3        SQLite: a copy made by the online backup API
    database/portal.dump           PostgreSQL: `pg_dump --format=custom`
    instance/secret_key, instance/config.py, instance/keys/...

Photos, evidence and the signed report PDFs are rows of the database
(services.files, migration 019), so the database copy holds them, consistent
with the rows that name them. Archives written before 019 also hold

    files/uploads/..., files/reports/...

restore puts those back into UPLOAD_DIR and REPORT_DIR, and the `init-db` that
follows every restore moves them into the database through migration 019 (the
restored database is from before 019) and empties the folders. The outbox is
not included. Nothing here reads Flask's current_app: paths and the database
URL are arguments.
"""
import dataclasses
import datetime
import glob
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess  # nosec B404 # pg_dump, pg_restore and git, fixed arguments, no shell
import tarfile
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import crypto

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database/portal.sqlite3"
PG_MEMBER = "database/portal.dump"
INSTANCE_FILES = ("secret_key", "config.py")
FILE_MODE = 0o600


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why."""


@dataclasses.dataclass
class Sources:
    """Where an instance keeps its state (config.py's defaults point into instance_dir)."""
    instance_dir: Path
    database_url: str
    upload_dir: Path
    report_dir: Path

    @classmethod
    def from_config(cls, instance_dir, config) -> "Sources":
        return cls(Path(instance_dir), config["DATABASE_URL"], Path(config["UPLOAD_DIR"]),
                   Path(config["REPORT_DIR"]))

    @property
    def folders(self) -> dict:
        """Archive prefix -> folder on disk, for a backup."""
        return {"instance/keys": self.instance_dir / "keys"}

    @property
    def restore_folders(self) -> dict:
        """Archive prefix -> folder on disk, for a restore: also the file folders of
        archives written before migration 019 (see the module's docstring)."""
        return {**self.folders, "files/uploads": self.upload_dir, "files/reports": self.report_dir}


# --- database helpers -------------------------------------------------------------

def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def sqlite_path(url: str) -> Path:
    """The file of a peewee `sqlite:///path` URL (`sqlite:////abs` or `sqlite:///rel`)."""
    path = url.split("://", 1)[1]
    if path.startswith("/"):
        path = path[1:]
    if not path or path == ":memory:":
        raise BackupError(f"cannot back up an in-memory database ({url})")
    return Path(path.split("?", 1)[0])


def libpq_url(url: str) -> str:
    """peewee's postgres URL spellings (postgres+pool://, postgresext://) as libpq takes them."""
    parts = urlsplit(url)
    return urlunsplit(("postgresql", *parts[1:]))


def pg_binary(name: str) -> str:
    """The newest Debian postgresql binary (`/usr/lib/postgresql/N/bin`), else PATH's."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                   key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0)
    if found:
        return found[-1]
    on_path = shutil.which(name)
    if not on_path:
        raise BackupError(f"{name} not found: install Debian's postgresql-client")
    return on_path


def _sqlite_summary(conn) -> tuple[list, dict]:
    tables = [row[0] for row in conn.execute(
        "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    return _summary(conn.cursor(), tables)


def _summary(cursor, tables) -> tuple[list, dict]:
    counts = {}
    for table in tables:
        cursor.execute(f'SELECT COUNT(*) FROM "{table}"')  # nosec B608 # names from the catalogue
        counts[table] = cursor.fetchone()[0]
    migrations = []
    if "migratehistory" in tables:
        cursor.execute("SELECT name FROM migratehistory ORDER BY id")
        migrations = [row[0] for row in cursor.fetchall()]
    return migrations, counts


def _pg_tables(cursor) -> list:
    cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
    return [row[0] for row in cursor.fetchall()]


def _dump_sqlite(url: str, target: Path) -> tuple[list, dict]:
    """A consistent copy through SQLite's online backup API, from a connection of our own."""
    source_path = sqlite_path(url)
    if not source_path.exists():
        raise BackupError(f"no database at {source_path}")
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True, timeout=30)
    copy = sqlite3.connect(target)
    try:
        source.execute("PRAGMA busy_timeout = 30000")
        source.backup(copy)
        # The copy, not the live file: the counts describe what the archive holds.
        copy.execute("PRAGMA journal_mode = DELETE")
        return _sqlite_summary(copy)
    finally:
        copy.close()
        source.close()


def _dump_postgres(url: str, target: Path) -> tuple[list, dict]:
    """`pg_dump -Fc` from a snapshot exported by a transaction that also counts the rows."""
    import psycopg2
    conn = psycopg2.connect(libpq_url(url))
    try:
        conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
        with conn.cursor() as cursor:
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            migrations, counts = _summary(cursor, _pg_tables(cursor))
            done = subprocess.run(  # nosec B603 # fixed binary, no shell
                [pg_binary("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
                 f"--snapshot={snapshot}", "--file", str(target), "--dbname", libpq_url(url)],
                capture_output=True, text=True)
            if done.returncode:
                raise BackupError(f"pg_dump failed: {done.stderr.strip()}")
        conn.rollback()
    finally:
        conn.close()
    return migrations, counts


# --- backup -------------------------------------------------------------------------

def archive_path(dest, now: datetime.datetime) -> Path:
    """DEST itself, or a timestamped file inside DEST when it is a folder."""
    dest = Path(dest)
    if dest.is_dir():
        return dest / f"portal-backup-{now.strftime('%Y%m%dT%H%M%SZ')}.tar.gz"
    if not dest.parent.is_dir():
        raise BackupError(f"folder {dest.parent} does not exist")
    return dest


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def backup(sources: Sources, dest, *, version: str | None = None,
           now: datetime.datetime | None = None) -> tuple[Path, dict]:
    """Write one archive of the instance; returns its path and manifest."""
    now = (now or datetime.datetime.now(datetime.timezone.utc)).replace(microsecond=0)
    target = archive_path(dest, now)
    sqlite = is_sqlite(sources.database_url)
    with tempfile.TemporaryDirectory(prefix="portal-backup-") as work:
        work = Path(work)
        dump = work / "database"
        if sqlite:
            migrations, counts = _dump_sqlite(sources.database_url, dump)
        else:
            migrations, counts = _dump_postgres(sources.database_url, dump)
        members = [(SQLITE_MEMBER if sqlite else PG_MEMBER, dump)]
        for name in INSTANCE_FILES:
            path = sources.instance_dir / name
            if path.is_file():
                members.append((f"instance/{name}", path))
        for prefix, folder in sources.folders.items():
            if folder.is_dir():
                for path in sorted(folder.rglob("*")):
                    # Half-written files (.name.part) are not state yet.
                    if path.is_file() and not path.is_symlink() and not path.name.endswith(".part"):
                        members.append((f"{prefix}/{path.relative_to(folder).as_posix()}", path))
        # Copied aside first, so the checksum and the archived bytes are the same bytes
        # even if a file is replaced meanwhile; a file gone meanwhile is skipped.
        files = {}
        staged = work / "files"
        for index, (name, path) in enumerate(members):
            copy = staged / str(index)
            copy.parent.mkdir(exist_ok=True)
            try:
                shutil.copyfile(path, copy)
            except FileNotFoundError:
                continue
            files[name] = (copy, _sha256(copy))
        manifest = {
            "format": FORMAT,
            "created_at": now.isoformat().replace("+00:00", "Z"),
            "portal_version": version,
            "database": "sqlite" if sqlite else "postgresql",
            "migrations": migrations,
            "row_counts": counts,
            "files": {name: digest for name, (_, digest) in sorted(files.items())},
        }
        partial = target.with_name(f".{target.name}.part")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        try:
            os.fchmod(fd, FILE_MODE)
            with os.fdopen(fd, "wb") as fh, tarfile.open(fileobj=fh, mode="w:gz") as tar:
                _add_bytes(tar, MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False).encode())
                for name, (copy, _) in sorted(files.items()):
                    info = tar.gettarinfo(str(copy), arcname=name)
                    info.uid = info.gid = 0
                    info.uname = info.gname = ""
                    info.mode = FILE_MODE
                    with open(copy, "rb") as data:
                        tar.addfile(info, data)
            os.replace(partial, target)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise
    return target, manifest


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), FILE_MODE
    tar.addfile(info, io.BytesIO(data))


# --- restore ------------------------------------------------------------------------

def read_manifest(archive) -> dict:
    try:
        with tarfile.open(archive, "r:gz") as tar:
            member = tar.getmember(MANIFEST)
            manifest = json.loads(tar.extractfile(member).read())
    except (OSError, KeyError, tarfile.TarError, ValueError) as error:
        raise BackupError(f"{archive} is not a portal backup: {error}") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"unknown backup format {manifest.get('format')!r}")
    return manifest


def verify(archive) -> dict:
    """The manifest, once every member's SHA-256 matches it and nothing is missing or extra."""
    manifest = read_manifest(archive)
    expected = manifest.get("files") or {}
    seen = set()
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            if member.name == MANIFEST:
                continue
            if member.name not in expected or not member.isfile():
                raise BackupError(f"{member.name}: not listed in the manifest")
            digest = hashlib.sha256()
            data = tar.extractfile(member)
            for block in iter(lambda: data.read(1 << 20), b""):
                digest.update(block)
            if digest.hexdigest() != expected[member.name]:
                raise BackupError(f"{member.name}: checksum does not match the manifest")
            seen.add(member.name)
    missing = set(expected) - seen
    if missing:
        raise BackupError(f"missing from the archive: {', '.join(sorted(missing))}")
    database = SQLITE_MEMBER if manifest.get("database") == "sqlite" else PG_MEMBER
    if database not in seen:
        raise BackupError("the archive holds no database")
    return manifest


def _has_files(folder: Path) -> bool:
    return folder.is_dir() and any(p.is_file() for p in folder.rglob("*"))


def _database_in_use(url: str) -> bool:
    if is_sqlite(url):
        path = sqlite_path(url)
        if not path.exists() or path.stat().st_size == 0:
            return False
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return bool(conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE type='table'").fetchone()[0])
        finally:
            conn.close()
    import psycopg2
    conn = psycopg2.connect(libpq_url(url))
    try:
        with conn.cursor() as cursor:
            return bool(_pg_tables(cursor))
    finally:
        conn.close()


def refusals(target: Sources, keys_at_start) -> list:
    """Why `target` is not an empty instance ([] when it is). `keys_at_start`: the names
    the keys folder held before this process started (the app makes keys when it starts)."""
    reasons = []
    if keys_at_start:
        reasons.append(f"{target.instance_dir / 'keys'} already holds keys ({', '.join(sorted(keys_at_start))})")
    if _database_in_use(target.database_url):
        reasons.append("the database already has tables")
    for folder in (target.upload_dir, target.report_dir):
        if _has_files(folder):
            reasons.append(f"{folder} is not empty")
    return reasons


def _destination(target: Sources, name: str) -> Path | None:
    """Where a member goes; None for a member that is placed otherwise (the database)."""
    if name.startswith("database/"):
        return None
    if name.startswith("instance/") and name[len("instance/"):] in INSTANCE_FILES:
        return target.instance_dir / name[len("instance/"):]
    for prefix, folder in target.restore_folders.items():
        if name.startswith(prefix + "/"):
            relative = Path(name[len(prefix) + 1:])
            if relative.is_absolute() or ".." in relative.parts:
                break
            return folder / relative
    raise BackupError(f"{name}: unexpected member")


def restore(archive, target: Sources, *, keys_at_start) -> dict:
    """Put the archive into the empty instance `target`; returns the manifest.

    Refused (BackupError, nothing written) when the instance is not empty or the
    archive does not match its manifest."""
    manifest = verify(archive)
    sqlite = manifest["database"] == "sqlite"
    if sqlite != is_sqlite(target.database_url):
        raise BackupError(f"the archive holds a {manifest['database']} database, "
                          f"DATABASE_URL is {'not ' if sqlite else ''}a PostgreSQL one")
    reasons = refusals(target, keys_at_start)
    if reasons:
        raise BackupError("restore needs an empty instance: " + "; ".join(reasons))
    # Checked before anything is written: every member has a place.
    with tarfile.open(archive, "r:gz") as tar:
        names = [m.name for m in tar if m.name != MANIFEST]
    for name in names:
        _destination(target, name)
    with tempfile.TemporaryDirectory(prefix="portal-restore-") as work:
        work = Path(work)
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                if member.name == MANIFEST:
                    continue
                dest = _destination(target, member.name)
                if dest is None:
                    _write(work / "database", tar.extractfile(member))
                    continue
                if dest.name == "config.py" and dest.exists():
                    # The target's own settings (its DATABASE_URL) stay; the old ones beside them.
                    dest = dest.with_name("config.py.from-backup")
                _write(dest, tar.extractfile(member))
        if sqlite:
            path = sqlite_path(target.database_url)
            partial = path.with_name(f".{path.name}.restore")
            shutil.copyfile(work / "database", partial)
            os.chmod(partial, FILE_MODE)
            for stale in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
                stale.unlink(missing_ok=True)
            os.replace(partial, path)
        else:
            done = subprocess.run(  # nosec B603 # fixed binary, no shell
                [pg_binary("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
                 "--dbname", libpq_url(target.database_url), str(work / "database")],
                capture_output=True, text=True)
            if done.returncode:
                raise BackupError(f"pg_restore failed: {done.stderr.strip()}")
    return manifest


def _write(dest: Path, data) -> None:
    """Written aside and renamed; folders 0700, files 0600."""
    crypto.private_dir(dest.parent)
    partial = dest.with_name(f".{dest.name}.restore")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "wb") as fh:
        shutil.copyfileobj(data, fh)
    os.replace(partial, dest)


def code_version(folder) -> str | None:
    """The git commit of the portal's code, when it runs from a checkout."""
    try:
        done = subprocess.run(  # nosec B603, B607 # fixed arguments, git from PATH, no shell
            ["git", "-C", str(folder), "rev-parse", "--short=12", "HEAD"],
            capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None
