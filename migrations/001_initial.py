"""Peewee migrations -- 001_initial.py.

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
    class Account(pw.Model):
        id = pw.AutoField()
        username = pw.CharField(max_length=254, unique=True)
        role = pw.CharField(default='student', max_length=16)
        real_name = pw.CharField(max_length=64, null=True)
        id_type = pw.CharField(max_length=16, null=True)
        id_number = pw.TextField(null=True)
        phone = pw.TextField(null=True)
        password_hash = pw.CharField(max_length=255)
        created_at = pw.DateTimeField()
        failed_logins = pw.IntegerField(default=0)
        locked_until = pw.DateTimeField(null=True)
        session_version = pw.IntegerField(default=1)
        last_login_at = pw.DateTimeField(null=True)
        id_number_index = pw.CharField(max_length=64, null=True, unique=True)
        phone_index = pw.CharField(index=True, max_length=64, null=True)

        class Meta:
            table_name = "account"

    @migrator.create_model
    class Appeal(pw.Model):
        id = pw.AutoField()
        reference = pw.CharField(max_length=32, unique=True)
        real_name = pw.CharField(max_length=64)
        id_type = pw.CharField(max_length=16)
        id_number = pw.TextField()
        contact_email = pw.CharField(max_length=254)
        photo_path = pw.CharField(max_length=255)
        status = pw.CharField(default='pending', max_length=16)
        decision_reason = pw.TextField(null=True)
        created_at = pw.DateTimeField()
        decided_at = pw.DateTimeField(null=True)
        ip = pw.CharField(default='', max_length=64)
        id_number_index = pw.CharField(index=True, max_length=64, null=True)

        class Meta:
            table_name = "appeal"

    @migrator.create_model
    class AuditEntry(pw.Model):
        id = pw.AutoField()
        account = pw.ForeignKeyField(column_name='account_id', field='id', model=migrator.orm['account'], null=True, on_delete='SET NULL')
        actor = pw.CharField(max_length=254)
        action = pw.CharField(max_length=64)
        detail = pw.TextField(default='')
        ip = pw.CharField(default='', max_length=64)
        at = pw.DateTimeField(index=True)

        class Meta:
            table_name = "auditentry"

    @migrator.create_model
    class LoginEvent(pw.Model):
        id = pw.AutoField()
        account = pw.ForeignKeyField(column_name='account_id', field='id', model=migrator.orm['account'], null=True, on_delete='CASCADE')
        at = pw.DateTimeField(index=True)
        ip = pw.CharField(max_length=64)
        user_agent = pw.CharField(max_length=512)
        success = pw.BooleanField()

        class Meta:
            table_name = "loginevent"

    @migrator.create_model
    class OneTimeCode(pw.Model):
        id = pw.AutoField()
        purpose = pw.CharField(max_length=32)
        subject = pw.CharField(index=True, max_length=64)
        channel = pw.CharField(max_length=8)
        destination_index = pw.CharField(index=True, max_length=64)
        code_hash = pw.CharField(max_length=255)
        created_at = pw.DateTimeField(index=True)
        expires_at = pw.DateTimeField()
        attempts = pw.IntegerField(default=0)
        used_at = pw.DateTimeField(null=True)
        ip = pw.CharField(default='', max_length=64)

        class Meta:
            table_name = "onetimecode"

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


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your rollback migrations here."""
    
    migrator.remove_model('registrationdraft')

    migrator.remove_model('onetimecode')

    migrator.remove_model('loginevent')

    migrator.remove_model('auditentry')

    migrator.remove_model('appeal')

    migrator.remove_model('account')
