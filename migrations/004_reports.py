"""Peewee migrations -- 004_reports.py.

Some examples (model - class or model name)::

    > Model = migrator.orm['table_name']            # Return model in current state by name
    > Model = migrator.ModelClass                   # Return model in current state by name

    > migrator.sql(sql)                             # Run custom SQL
    > migrator.run(func, *args, **kwargs)           # Run python function with the given args
    > migrator.create_model(Model)                  # Create a model (could be used as decorator)
    > migrator.remove_model(model, cascade=True)    # Remove a model
    > migrator.add_fields(model, **fields)          # Add fields (allow_not_null=True skips default)
    > migrator.change_fields(model, **fields)       # Change fields
    > migrator.remove_fields(model, *field_names, cascade=True)
    > migrator.rename_field(model, old_field_name, new_field_name)
    > migrator.rename_table(model, new_table_name)
    > migrator.add_index(model, *col_names, unique=False)
    > migrator.add_not_null(model, *field_names)
    > migrator.add_default(model, field_name, default)
    > migrator.add_constraint(model, name, sql)
    > migrator.drop_index(model, *col_names)
    > migrator.drop_not_null(model, *field_names)
    > migrator.drop_constraints(model, *constraints)

"""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your migrations here."""
    
    @migrator.create_model
    class Report(pw.Model):
        id = pw.AutoField()
        account = pw.ForeignKeyField(column_name='account_id', field='id', model=migrator.orm['account'], on_delete='CASCADE')
        kind = pw.CharField(max_length=16)
        record_id = pw.IntegerField()
        code = pw.TextField()
        snapshot = pw.TextField()
        issued_at = pw.DateTimeField()
        expires_at = pw.DateTimeField(index=True)
        closed_at = pw.DateTimeField(null=True)
        reminded_at = pw.DateTimeField(null=True)
        pdf_path = pw.CharField(max_length=255, null=True)
        pdf_sha256 = pw.CharField(max_length=64, null=True)
        code_index = pw.CharField(max_length=64, null=True, unique=True)

        class Meta:
            table_name = "report"

    @migrator.create_model
    class Verification(pw.Model):
        id = pw.AutoField()
        report = pw.ForeignKeyField(column_name='report_id', field='id', model=migrator.orm['report'], on_delete='CASCADE')
        at = pw.DateTimeField(index=True)
        channel = pw.CharField(max_length=8)
        organisation = pw.CharField(default='', max_length=100)
        purpose = pw.CharField(default='', max_length=100)
        ip = pw.CharField(default='', max_length=64)

        class Meta:
            table_name = "verification"


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your rollback migrations here."""
    
    migrator.remove_model('verification')

    migrator.remove_model('report')
