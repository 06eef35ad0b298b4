"""Migration 018_appeal_phone.py: the phone number an appellant may give for
contact (the acknowledgement and the decision are texted to it too), encrypted
like every phone number."""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_fields('appeal', contact_phone=pw.TextField(null=True))


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_fields('appeal', 'contact_phone')
