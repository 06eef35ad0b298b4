"""Migration 019_stored_files.py: the files the portal keeps move into the database.

Record photos, appeal photos and correction evidence (under UPLOAD_DIR) and the
signed report PDFs (under REPORT_DIR) become rows of `storedfile`, sealed with the
data key, so any app server can serve them (services.files). The columns that
named them keep their values as the file's name, except Report.pdf_path, which
gains a `reports/` prefix (upload and report names lived in two folders).

The folders are the running app's (UPLOAD_DIR, REPORT_DIR; `flask --app app init-db`
runs migrations inside it). Files written sealed and files from before sealing
both occur: each is unsealed (crypto.unseal) and sealed again as a row. A row
whose file is missing keeps its name and serves a 404, as it did before. The
files are not deleted here: the migration runs in a transaction that may still
roll back, so `init-db` deletes them after it committed (services.files.clear_folders), each
only once its row holds the same bytes.

Rolled back, the rows are written back as files (sealed as before, record photos
plain) and the table is dropped.
"""
import datetime
import hashlib
import logging
from pathlib import Path

import peewee as pw
from peewee_migrate import Migrator

import crypto

log = logging.getLogger("peewee_migrate")

# (table, column, folder: "upload" or "report")
COLUMNS = [("appeal", "photo_path", "upload"), ("correctionrequest", "evidence_path", "upload"),
           ("enrollment", "photo", "upload"), ("diploma", "photo", "upload"),
           ("report", "pdf_path", "report")]
REPORT_PREFIX = "reports/"
TYPES = {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "pdf": "application/pdf"}


def folders():
    """(upload folder, report folder) of the running app, or None outside one."""
    try:
        from flask import current_app, has_app_context
    except ImportError:  # pragma: no cover - flask is a dependency
        return None
    if not has_app_context():
        return None
    instance = Path(current_app.instance_path)
    config = current_app.config
    return (Path(config.get("UPLOAD_DIR") or instance / "uploads"),
            Path(config.get("REPORT_DIR") or instance / "reports"))


def _inside(folder: Path, relative: str):
    """folder/relative if it stays inside folder, else None."""
    if not relative or relative.startswith("/") or ".." in Path(relative).parts:
        return None
    return folder / relative


def _stored_model(database):
    class StoredFile(pw.Model):
        name = pw.CharField(max_length=255, unique=True)
        data = pw.BlobField()
        size = pw.IntegerField()
        sha256 = pw.CharField(max_length=64)
        content_type = pw.CharField(max_length=100)
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "storedfile"
    StoredFile._meta.set_database(database)
    return StoredFile


def _referenced(database):
    """(table, column, row id, value, folder key) for every row that names a file."""
    for table, column, folder in COLUMNS:
        sql = f'SELECT id, "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL'  # nosec B608 # names from COLUMNS
        for row_id, value in database.execute_sql(sql).fetchall():
            if value:
                yield table, column, row_id, value, folder


def move_in(database, where) -> tuple[int, int]:
    """Copy every named file into storedfile; (files stored, names without a file).
    Idempotent: a name already stored is left alone."""
    model = _stored_model(database)
    upload, report = where or (None, None)
    stored = missing = 0
    param = database.param
    for table, column, row_id, value, folder in list(_referenced(database)):
        name = value
        if folder == "report":
            relative = value[len(REPORT_PREFIX):] if value.startswith(REPORT_PREFIX) else value
            name, base = REPORT_PREFIX + relative, report
        else:
            relative, base = value, upload
        if not model.select().where(model.name == name).exists():
            path = _inside(base, relative) if base is not None else None
            if path is None or not path.is_file():
                if base is None:
                    raise RuntimeError("migration 019 moves the stored files into the database and "
                                       "needs the app's folders: run `flask --app app init-db`")
                missing += 1
                log.warning("019: %s names %s, which is not in %s", table, value, base)
                continue
            data = crypto.unseal(path.read_bytes())
            mtime = datetime.datetime.fromtimestamp(path.stat().st_mtime, datetime.timezone.utc)
            model.insert(name=name, data=crypto.seal(data), size=len(data),
                         sha256=hashlib.sha256(data).hexdigest(),
                         content_type=TYPES.get(name.rsplit(".", 1)[-1].lower(), "application/octet-stream"),
                         created_at=mtime.replace(tzinfo=None)).execute()
            stored += 1
        if name != value:
            database.execute_sql(f'UPDATE "{table}" SET "{column}" = {param} WHERE id = {param}',  # nosec B608 # names from COLUMNS
                                 (name, row_id))
    return stored, missing


def move_out(database, where) -> int:
    """Write every stored file back into the folders (the layout before 019); the number written."""
    model = _stored_model(database)
    rows = model.select(model.name).tuples()
    names = [name for (name,) in rows]
    if names and where is None:
        raise RuntimeError("rolling back 019 writes the stored files back into the app's folders: "
                           "run it inside the app (flask --app app shell)")
    upload, report = where or (None, None)
    written = 0
    for name in names:
        data = crypto.unseal(bytes(model.get(model.name == name).data))
        if name.startswith(REPORT_PREFIX):
            path = _inside(report, name[len(REPORT_PREFIX):])
        else:
            path = _inside(upload, name)
        if path is None:
            continue
        # As the code before 019 wrote them: record photos plain, the rest sealed.
        crypto.write_private(path, data, sealed=not name.startswith("photos/"))
        written += 1
    param = database.param
    sql = (f'UPDATE "report" SET "pdf_path" = substr("pdf_path", {len(REPORT_PREFIX) + 1}) '
           f"WHERE \"pdf_path\" LIKE {param}")  # nosec B608 # fixed names
    database.execute_sql(sql, (REPORT_PREFIX + "%",))
    return written


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.create_model(_stored_model(database))
    if not fake:
        migrator.run(lambda: log.info("019: %s file(s) moved into the database, %s missing",
                                      *move_in(database, folders())))


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    if not fake:
        migrator.run(lambda: move_out(database, folders()))
    migrator.remove_model('storedfile')

