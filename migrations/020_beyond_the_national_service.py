"""Migration 020_beyond_the_national_service.py: what batch checks, the public
diploma check, ID matching, check alerts and closing an account need.

account: public_checks (公开查询 allowed), closed_at and erase_after (注销账号).
report: full_id (the report shows the full ID number), alert_checks, alerted_at and
alerts_pending (查验提醒). verification: outcome (what the check saw). A new table,
publiccheck, holds the public diploma checks that found a diploma.

Every column is added nullable and then filled with literal UPDATEs: on SQLite a
NOT NULL column added through the migrator rebuilds the table, and dropping the
old `account` or `report` table would cascade-delete the rows that point at it.
Reports issued before this migration showed the full ID number, so they keep
full_id true; new reports default to a masked number (models.Report).
"""
import datetime

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_fields('account',
                        public_checks=pw.BooleanField(null=True),
                        closed_at=pw.DateTimeField(null=True),
                        erase_after=pw.DateTimeField(null=True, index=True))
    migrator.add_fields('report',
                        full_id=pw.BooleanField(null=True),
                        alert_checks=pw.BooleanField(null=True),
                        alerted_at=pw.DateTimeField(null=True),
                        alerts_pending=pw.IntegerField(null=True))
    migrator.add_fields('verification', outcome=pw.CharField(max_length=16, null=True))
    migrator.sql("UPDATE account SET public_checks = TRUE")
    migrator.sql("UPDATE report SET full_id = TRUE, alert_checks = FALSE, alerts_pending = 0")

    @migrator.create_model
    class PublicCheck(pw.Model):
        id = pw.AutoField()
        diploma = pw.ForeignKeyField(column_name='diploma_id', field='id', model=migrator.orm['diploma'],
                                     on_delete='CASCADE')
        at = pw.DateTimeField(default=datetime.datetime.utcnow, index=True)
        ip = pw.CharField(default='', max_length=64)

        class Meta:
            table_name = "publiccheck"


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model('publiccheck')
    migrator.remove_fields('verification', 'outcome')
    migrator.remove_fields('report', 'full_id', 'alert_checks', 'alerted_at', 'alerts_pending')
    migrator.drop_index('account', 'erase_after')
    migrator.remove_fields('account', 'public_checks', 'closed_at', 'erase_after')
