"""Migration 009_staff_roles_settings.py: the registrar's side — disabled
accounts with a reason, withdrawn records and reports, readable changes in the audit log,
and the settings a 管理员 keeps in the portal."""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext

RECORD_TABLES = ("enrollment", "diploma", "degree", "admission", "aid")


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_fields(
        'account',
        disabled_at=pw.DateTimeField(null=True),
        disabled_reason=pw.TextField(null=True))
    for table in RECORD_TABLES:
        migrator.add_fields(
            table,
            withdrawn_at=pw.DateTimeField(null=True),
            withdrawn_reason=pw.TextField(null=True))
    migrator.add_fields('auditentry', changes=pw.TextField(null=True))
    migrator.add_fields('report', withdrawn_at=pw.DateTimeField(null=True))

    @migrator.create_model
    class Setting(pw.Model):
        id = pw.AutoField()
        key = pw.CharField(max_length=64, unique=True)
        value = pw.TextField()
        updated_at = pw.DateTimeField()
        updated_by = pw.CharField(max_length=254)

        class Meta:
            table_name = "setting"


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model('setting')
    migrator.remove_fields('report', 'withdrawn_at')
    migrator.remove_fields('auditentry', 'changes')
    for table in RECORD_TABLES:
        migrator.remove_fields(table, 'withdrawn_at', 'withdrawn_reason')
    migrator.remove_fields('account', 'disabled_at', 'disabled_reason')
