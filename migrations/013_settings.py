"""Migration 013_settings.py: the school's logo in the database, and the signing
certificates the school has used (current and retired)."""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class SchoolLogo(pw.Model):
        id = pw.AutoField()
        sha256 = pw.CharField(max_length=64, unique=True)
        content_type = pw.CharField(max_length=32)
        data = pw.BlobField()
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "schoollogo"

    @migrator.create_model
    class SigningCertificate(pw.Model):
        id = pw.AutoField()
        fingerprint = pw.CharField(max_length=64, unique=True)
        subject = pw.CharField(max_length=512)
        serial = pw.CharField(max_length=80)
        not_before = pw.DateTimeField()
        not_after = pw.DateTimeField()
        cert_pem = pw.TextField()
        private_key = pw.TextField(null=True)
        created_at = pw.DateTimeField()
        created_by = pw.CharField(max_length=254)
        retired_at = pw.DateTimeField(index=True, null=True)

        class Meta:
            table_name = "signingcertificate"


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model('signingcertificate')
    migrator.remove_model('schoollogo')
