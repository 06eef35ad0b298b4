"""Migration 014_search.py: indexes for the registrar's search (services.search):
names (prefix look-ups), and the columns its filters use — level, major, status
and the date or year each kind's year filter reads."""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext

INDEXES = {
    "account": ("real_name",),
    "enrollment": ("name", "level", "major", "status", "admission_date"),
    "diploma": ("name", "level", "major", "graduation_date"),
    "degree": ("name", "discipline", "award_date"),
    "admission": ("name", "level", "major", "year"),
    "aid": ("name", "paid_on"),
}


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    for table, columns in INDEXES.items():
        for column in columns:
            migrator.add_index(table, column)


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    for table, columns in reversed(INDEXES.items()):
        for column in reversed(columns):
            migrator.drop_index(table, column)
