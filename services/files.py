"""The files the portal keeps, in the database (models.StoredFile, migration 019).

Record photos, appeal (ID card) photos, correction evidence and the signed
report PDFs are rows, not files next to one app server: any server can serve
them, and a backup of the database holds them. Everything here is personal
data, so the bytes are sealed with the data key (fields.SealedBlobField).

A file is named by what the row that refers to it holds (Enrollment.photo,
Appeal.photo_path, CorrectionRequest.evidence_path, Report.pdf_path):

    photos/<kind>/<record id>[-<random>].jpg   record photos
    appeals/<reference>.<jpg|png>              appeal photos
    evidence/<random>.<jpg|png|pdf>            correction evidence
    reports/<report id>-<random>.pdf           signed report PDFs

`put` and `delete` are single statements: called inside the caller's
transaction, the file and the row that names it are written (or undone)
together. `sweep` (services.retention) deletes files no row names any more.
"""
import datetime
import hashlib
from pathlib import Path, PurePosixPath
from typing import NamedTuple

from peewee import EXCLUDED, chunked, fn

import crypto
from models import Appeal, CorrectionRequest, Diploma, Enrollment, Report, StoredFile, db, utcnow

CONTENT_TYPES = {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png",
                 "pdf": "application/pdf"}
# Each column that names a stored file.
REFERENCES = ((Appeal, Appeal.photo_path), (CorrectionRequest, CorrectionRequest.evidence_path),
              (Report, Report.pdf_path), (Enrollment, Enrollment.photo), (Diploma, Diploma.photo))
# SQLite's old limit on bound variables is 999 per statement.
CHUNK = 900


def content_type_for(name: str) -> str:
    suffix = PurePosixPath(name).suffix.lower().lstrip(".")
    return CONTENT_TYPES.get(suffix, "application/octet-stream")


def put(name: str, data: bytes, content_type: str | None = None) -> str:
    """Store `data` under `name`, replacing what the name held; returns `name`."""
    data = bytes(data)
    (StoredFile.insert(name=name, data=data, size=len(data),
                       sha256=hashlib.sha256(data).hexdigest(),
                       content_type=content_type or content_type_for(name), created_at=utcnow())
     .on_conflict(conflict_target=[StoredFile.name],
                  update={StoredFile.data: EXCLUDED.data, StoredFile.size: EXCLUDED.size,
                          StoredFile.sha256: EXCLUDED.sha256,
                          StoredFile.content_type: EXCLUDED.content_type,
                          StoredFile.created_at: EXCLUDED.created_at})
     .execute())
    return name


class Found(NamedTuple):
    name: str
    data: bytes
    size: int
    content_type: str
    created_at: datetime.datetime


# The one SELECT a download makes, compiled once per kind of database: building it
# with peewee each time cost more than the query and the unsealing together.
_GET_SQL = {}


def get(name: str | None) -> Found | None:
    """The stored file (name, data unsealed, size, content_type, created_at), or None."""
    if not name:
        return None
    database = db.obj
    sql = _GET_SQL.get(type(database))
    if sql is None:
        query = StoredFile.select(StoredFile.name, StoredFile.data, StoredFile.size,
                                  StoredFile.content_type, StoredFile.created_at).where(
            StoredFile.name == "?")
        sql = _GET_SQL[type(database)] = query.sql()[0]
    row = database.execute_sql(sql, (name,)).fetchone()
    if row is None:
        return None
    return Found(row[0], StoredFile.data.python_value(row[1]), row[2], row[3],
                 StoredFile.created_at.python_value(row[4]))


def read(name: str | None) -> bytes | None:
    found = get(name)
    return None if found is None else found.data


def exists(name: str | None) -> bool:
    return bool(name) and StoredFile.select(StoredFile.id).where(StoredFile.name == name).exists()


def digests(names) -> dict:
    """name -> SHA-256 of the plain bytes, for the names that are stored."""
    found = {}
    for chunk in chunked(list(names), CHUNK):
        query = StoredFile.select(StoredFile.name, StoredFile.sha256).where(StoredFile.name.in_(chunk))
        found.update(query.tuples())
    return found


def delete(*names) -> int:
    """Delete the files of these names (None and missing ones are ignored); the number deleted."""
    names = [name for name in names if name]
    deleted = 0
    for chunk in chunked(names, CHUNK):
        deleted += StoredFile.delete().where(StoredFile.name.in_(chunk)).execute()
    return deleted


def count() -> tuple[int, int]:
    """(files, bytes of their plain content)."""
    files, size = StoredFile.select(fn.COUNT(StoredFile.id), fn.SUM(StoredFile.size)).scalar(as_tuple=True)
    return files, size or 0


def sweep(before: datetime.datetime) -> int:
    """Delete the files created before `before` that no row names; the number deleted.

    Every write puts a file in the transaction of the row that names it, so an
    orphan is left only by a row that stopped naming it outside this module
    (a manual fix, an old version); `before` keeps a margin all the same."""
    query = StoredFile.select(StoredFile.id).where(StoredFile.created_at < before)
    for model, column in REFERENCES:
        query = query.where(~fn.EXISTS(model.select(model.id).where(column == StoredFile.name)))
    ids = [row_id for (row_id,) in query.tuples()]
    deleted = 0
    for chunk in chunked(ids, CHUNK):
        deleted += StoredFile.delete().where(StoredFile.id.in_(chunk)).execute()
    return deleted


# --- the folders used before migration 019 --------------------------------------------

def clear_folders(upload_dir, report_dir) -> tuple[int, int]:
    """Delete the files under the old upload and report folders that migration 019
    moved into the database (the row holds the same bytes), then the folders left
    empty; (files deleted, files left). A file no row names, or whose row differs,
    is left for the operator to look at. Idempotent: `init-db` runs it."""
    deleted = left = 0
    for folder, prefix in ((Path(upload_dir), ""), (Path(report_dir), "reports/")):
        if not folder.is_dir():
            continue
        paths = [path for path in folder.rglob("*") if path.is_file() and not path.is_symlink()]
        names = {f"{prefix}{path.relative_to(folder).as_posix()}": path for path in paths}
        stored = digests(names)
        for name, path in names.items():
            if name in stored and _digest(path) == stored[name]:
                path.unlink()
                deleted += 1
            else:
                left += 1
        for path in sorted((p for p in folder.rglob("*") if p.is_dir()), reverse=True):
            if not any(path.iterdir()):
                path.rmdir()
        if not any(folder.iterdir()):
            folder.rmdir()
    return deleted, left


def _digest(path: Path) -> str | None:
    """SHA-256 of a file's plain bytes; None when it cannot be unsealed (another key)."""
    try:
        return hashlib.sha256(crypto.unseal(path.read_bytes())).hexdigest()
    except Exception:  # cryptography's InvalidTag, a damaged file: left for the operator
        return None
