"""Migration 012_binding.py: 绑定确认 — records held until the student types a 学号
or 证书编号, or the registrar approves (setting BIND_MODE)."""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class BindRequest(pw.Model):
        id = pw.AutoField()
        account = pw.ForeignKeyField(column_name='account_id', field='id', model=migrator.orm['account'], on_delete='CASCADE')
        status = pw.CharField(max_length=16)
        settled_by = pw.CharField(max_length=16, null=True)
        created_at = pw.DateTimeField()
        decided_at = pw.DateTimeField(null=True)
        decided_by = pw.CharField(max_length=254, null=True)
        reason = pw.TextField(null=True)
        pending_key = pw.CharField(max_length=32, null=True, unique=True)

        class Meta:
            table_name = "bindrequest"


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model('bindrequest')
