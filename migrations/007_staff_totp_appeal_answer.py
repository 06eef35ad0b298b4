"""Migration 007_staff_totp_appeal_answer.py: the registrar's second factor (TOTP
secret and recovery codes) and the ID holder's answer to an appeal."""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_fields(
        'appeal',
        holder_answer=pw.TextField(null=True),
        holder_answered_at=pw.DateTimeField(null=True))

    @migrator.create_model
    class StaffTotp(pw.Model):
        id = pw.AutoField()
        account = pw.ForeignKeyField(column_name='account_id', field='id', model=migrator.orm['account'], on_delete='CASCADE', unique=True)
        secret = pw.TextField()
        enrolled_at = pw.DateTimeField(null=True)
        last_counter = pw.IntegerField(null=True)
        failed = pw.IntegerField(default=0)
        generation = pw.IntegerField(default=0)
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "stafftotp"

    @migrator.create_model
    class StaffRecoveryCode(pw.Model):
        id = pw.AutoField()
        account = pw.ForeignKeyField(column_name='account_id', field='id', model=migrator.orm['account'], on_delete='CASCADE')
        code_hash = pw.CharField(index=True, max_length=64)
        used_at = pw.DateTimeField(null=True)
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "staffrecoverycode"


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model('staffrecoverycode')
    migrator.remove_model('stafftotp')
    migrator.remove_fields('appeal', 'holder_answer', 'holder_answered_at')
