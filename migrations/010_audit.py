"""Migration 010_audit.py: indexes for the audit log viewer's filters: who did it
and which action, each followed by the time so matches come in time order."""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_index('auditentry', 'actor', 'at')
    migrator.add_index('auditentry', 'action', 'at')


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.drop_index('auditentry', 'action', 'at')
    migrator.drop_index('auditentry', 'actor', 'at')
