"""Migration 005_one_challenge.py: registration drafts become challenges.

One table for every flow that checks a 校验码. Drafts in progress are copied
with their token, so a student in the middle of the wizard carries on (the
session holds the token). Both tables keep `payload`/`data` encrypted with the
same key and format, so the ciphertext is copied as it is; plain SQL, so the
migration needs neither the keys nor the app's code.
"""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_fields(
        "challenge",
        step=pw.CharField(max_length=16, default="code"),
        password_hash=pw.CharField(max_length=255, null=True),
        updated_at=pw.DateTimeField(null=True))
    migrator.sql("UPDATE challenge SET updated_at = created_at")
    migrator.sql("UPDATE challenge SET step = 'new_password' "
                 "WHERE purpose = 'reset_password' AND verified_at IS NOT NULL")
    migrator.change_fields("challenge", updated_at=pw.DateTimeField())
    # A draft at 核对 had its code checked.
    migrator.sql(
        "INSERT INTO challenge (token, purpose, step, payload, password_hash, "
        "created_at, updated_at, verified_at) "
        "SELECT token, 'register', step, data, password_hash, created_at, updated_at, "
        "CASE WHEN step = 'confirm' THEN updated_at END FROM registrationdraft")
    migrator.remove_model("registrationdraft")


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class RegistrationDraft(pw.Model):
        id = pw.AutoField()
        token = pw.CharField(max_length=64, unique=True)
        step = pw.CharField(max_length=16)
        data = pw.TextField()
        password_hash = pw.CharField(max_length=255, null=True)
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()

        class Meta:
            table_name = "registrationdraft"

    migrator.sql(
        "INSERT INTO registrationdraft (token, step, data, password_hash, created_at, updated_at) "
        "SELECT token, step, payload, password_hash, created_at, updated_at FROM challenge "
        "WHERE purpose = 'register' AND finished_at IS NULL")
    migrator.sql("DELETE FROM challenge WHERE purpose = 'register'")
    migrator.remove_fields("challenge", "step", "password_hash", "updated_at")
