"""Migration 016_english_names.py: the passport spelling of a person's name
(account.latin_name) and the table of majors' English names, both for the
English side of reports."""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_fields('account', latin_name=pw.CharField(max_length=64, null=True))

    @migrator.create_model
    class MajorName(pw.Model):
        id = pw.AutoField()
        major = pw.CharField(max_length=128, unique=True)
        english = pw.CharField(max_length=200)
        updated_at = pw.DateTimeField()
        updated_by = pw.CharField(max_length=254)

        class Meta:
            table_name = "majorname"


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model('majorname')
    migrator.remove_fields('account', 'latin_name')
