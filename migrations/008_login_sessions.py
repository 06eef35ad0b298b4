"""Migration 008_login_sessions.py: one row per login on one device (logout ends it),
failed logins counted per account (or typed login) and address, and when the
owner was last told about them."""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your migrations here."""

    @migrator.create_model
    class LoginSession(pw.Model):
        id = pw.AutoField()
        token_hash = pw.CharField(max_length=64, unique=True)
        account = pw.ForeignKeyField(column_name='account_id', field='id', model=migrator.orm['account'], on_delete='CASCADE')
        created_at = pw.DateTimeField()
        last_seen_at = pw.DateTimeField()
        ended_at = pw.DateTimeField(null=True)
        ip = pw.CharField(max_length=64)
        user_agent = pw.CharField(max_length=512)

        class Meta:
            table_name = "loginsession"

    @migrator.create_model
    class LoginThrottle(pw.Model):
        id = pw.AutoField()
        key = pw.CharField(max_length=64, unique=True)
        account = pw.ForeignKeyField(column_name='account_id', field='id', model=migrator.orm['account'], null=True, on_delete='CASCADE')
        failures = pw.IntegerField()
        locked_until = pw.DateTimeField(null=True)
        updated_at = pw.DateTimeField()

        class Meta:
            table_name = "loginthrottle"

    migrator.add_fields('account', failure_alert_at=pw.DateTimeField(null=True))


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your rollback migrations here."""

    migrator.remove_fields('account', 'failure_alert_at')
    migrator.remove_model('loginthrottle')
    migrator.remove_model('loginsession')
