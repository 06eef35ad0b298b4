"""Migration 010_audit.py: indexes for the audit log viewer's filters (actor, action)."""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_index('auditentry', 'actor')
    migrator.add_index('auditentry', 'action')


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.drop_index('auditentry', 'action')
    migrator.drop_index('auditentry', 'actor')
