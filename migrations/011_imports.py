"""Migration 011_imports.py: an import waits between its preview and the registrar's
导入 (or 取消) as an ImportBatch, its file sealed in the database; committed,
cancelled and expired batches keep only their metadata (the import history)."""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):

    @migrator.create_model
    class ImportBatch(pw.Model):
        id = pw.AutoField()
        token = pw.CharField(max_length=64, unique=True)
        kind = pw.CharField(max_length=16)
        filename = pw.CharField(max_length=255)
        uploaded_by = pw.CharField(max_length=254)
        uploaded_at = pw.DateTimeField(index=True)
        status = pw.CharField(max_length=16, index=True)
        rows = pw.IntegerField()
        created = pw.IntegerField()
        updated = pw.IntegerField()
        unchanged = pw.IntegerField()
        photos = pw.IntegerField()
        committed_at = pw.DateTimeField(null=True)
        finished_by = pw.CharField(max_length=254, null=True)
        finished_at = pw.DateTimeField(null=True)
        file_data = pw.BlobField(null=True)
        photos_data = pw.BlobField(null=True)

        class Meta:
            table_name = "importbatch"


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model('importbatch')
