"""Migration 006_secrets_at_rest.py: encrypt the values that were stored in clear.

Report.snapshot (the code, and the ID number on 学籍 and 学位 reports),
CorrectionRequest.current_value / proposed_value (an ID number when that is the
field corrected) and AuditEntry.detail (old and new values of a correction) are
now encrypted with the data key, like the other sensitive fields. The columns
stay text; only the rows written before are converted. Idempotent: a value
that is already ciphertext is left alone.

The files (report PDFs, appeal photos, evidence) were sealed by `init-db`
(since migration 019 they are moved into the database, sealed, instead).
"""
import peewee as pw
from peewee_migrate import Migrator

import crypto

COLUMNS = [("report", "snapshot"), ("correctionrequest", "current_value"),
           ("correctionrequest", "proposed_value"), ("auditentry", "detail")]
PREFIX = "v1:"


def _convert(database, change, is_done):
    param = database.param
    for table, column in COLUMNS:
        sql = f'SELECT id, "{column}" FROM "{table}"'  # nosec B608 # names from COLUMNS
        rows = database.execute_sql(sql).fetchall()
        for row_id, value in rows:
            if value is None or is_done(value):
                continue
            update = f'UPDATE "{table}" SET "{column}" = {param} WHERE id = {param}'  # nosec B608 # names from COLUMNS
            database.execute_sql(update,
                                 (change(value), row_id))


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.run(_convert, database, crypto.encrypt,
                 lambda value: value.startswith(PREFIX))


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.run(_convert, database, crypto.decrypt,
                 lambda value: not value.startswith(PREFIX))
