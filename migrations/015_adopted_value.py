"""Migration 015_adopted_value.py: the value a registrar adopted for a correction
request (the student's, or the registrar's amended one), encrypted like the others."""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_fields('correctionrequest', adopted_value=pw.TextField(null=True))


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_fields('correctionrequest', 'adopted_value')
