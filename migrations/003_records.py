"""Peewee migrations -- 003_records.py.

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
from decimal import ROUND_HALF_EVEN

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your migrations here."""
    
    @migrator.create_model
    class Admission(pw.Model):
        id = pw.AutoField()
        name = pw.CharField(max_length=64)
        id_type = pw.CharField(default='居民身份证', max_length=16)
        id_number = pw.TextField(null=True)
        account = pw.ForeignKeyField(column_name='account_id', field='id', model=migrator.orm['account'], null=True, on_delete='SET NULL')
        bound_by = pw.CharField(max_length=16, null=True)
        bound_at = pw.DateTimeField(null=True)
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()
        id_number_index = pw.CharField(index=True, max_length=64, null=True)
        candidate_number = pw.CharField(max_length=32, unique=True)
        year = pw.IntegerField()
        batch = pw.CharField(max_length=64, null=True)
        major = pw.CharField(max_length=128)
        level = pw.CharField(max_length=16)

        class Meta:
            table_name = "admission"

    @migrator.create_model
    class Aid(pw.Model):
        id = pw.AutoField()
        name = pw.CharField(max_length=64)
        id_type = pw.CharField(default='居民身份证', max_length=16)
        id_number = pw.TextField(null=True)
        account = pw.ForeignKeyField(column_name='account_id', field='id', model=migrator.orm['account'], null=True, on_delete='SET NULL')
        bound_by = pw.CharField(max_length=16, null=True)
        bound_at = pw.DateTimeField(null=True)
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()
        id_number_index = pw.CharField(index=True, max_length=64, null=True)
        school_year = pw.CharField(max_length=16)
        program = pw.CharField(max_length=128)
        amount = pw.DecimalField(auto_round=False, decimal_places=2, max_digits=12, rounding=ROUND_HALF_EVEN)
        paid_on = pw.DateField()

        class Meta:
            table_name = "aid"
            indexes = [(('id_number_index', 'school_year', 'program', 'paid_on'), True)]

    @migrator.create_model
    class BindAttempt(pw.Model):
        id = pw.AutoField()
        account = pw.ForeignKeyField(column_name='account_id', field='id', model=migrator.orm['account'], on_delete='CASCADE')
        at = pw.DateTimeField(index=True)
        success = pw.BooleanField()
        ip = pw.CharField(default='', max_length=64)

        class Meta:
            table_name = "bindattempt"

    @migrator.create_model
    class CorrectionRequest(pw.Model):
        id = pw.AutoField()
        account = pw.ForeignKeyField(column_name='account_id', field='id', model=migrator.orm['account'], on_delete='CASCADE')
        kind = pw.CharField(max_length=16)
        record_id = pw.IntegerField()
        field = pw.CharField(max_length=32)
        current_value = pw.TextField(default='')
        proposed_value = pw.TextField()
        reason = pw.TextField()
        evidence_path = pw.CharField(max_length=255, null=True)
        status = pw.CharField(default='pending', max_length=16)
        reply = pw.TextField(null=True)
        created_at = pw.DateTimeField()
        decided_at = pw.DateTimeField(null=True)
        decided_by = pw.CharField(max_length=254, null=True)
        pending_key = pw.CharField(max_length=64, null=True, unique=True)

        class Meta:
            table_name = "correctionrequest"

    @migrator.create_model
    class Degree(pw.Model):
        id = pw.AutoField()
        name = pw.CharField(max_length=64)
        id_type = pw.CharField(default='居民身份证', max_length=16)
        id_number = pw.TextField(null=True)
        account = pw.ForeignKeyField(column_name='account_id', field='id', model=migrator.orm['account'], null=True, on_delete='SET NULL')
        bound_by = pw.CharField(max_length=16, null=True)
        bound_at = pw.DateTimeField(null=True)
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()
        id_number_index = pw.CharField(index=True, max_length=64, null=True)
        gender = pw.CharField(max_length=4, null=True)
        birth_date = pw.DateField(null=True)
        awarding_unit = pw.CharField(max_length=128)
        degree = pw.CharField(max_length=64)
        discipline = pw.CharField(max_length=128)
        award_date = pw.DateField()
        certificate_number = pw.CharField(max_length=32, unique=True)
        certificate_key = pw.CharField(index=True, max_length=32)

        class Meta:
            table_name = "degree"

    @migrator.create_model
    class Diploma(pw.Model):
        id = pw.AutoField()
        name = pw.CharField(max_length=64)
        id_type = pw.CharField(default='居民身份证', max_length=16)
        id_number = pw.TextField(null=True)
        account = pw.ForeignKeyField(column_name='account_id', field='id', model=migrator.orm['account'], null=True, on_delete='SET NULL')
        bound_by = pw.CharField(max_length=16, null=True)
        bound_at = pw.DateTimeField(null=True)
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()
        id_number_index = pw.CharField(index=True, max_length=64, null=True)
        gender = pw.CharField(max_length=4, null=True)
        birth_date = pw.DateField(null=True)
        school_name = pw.CharField(max_length=128)
        level = pw.CharField(max_length=16)
        major = pw.CharField(max_length=128)
        duration = pw.CharField(max_length=16, null=True)
        study_mode = pw.CharField(max_length=16, null=True)
        education_category = pw.CharField(max_length=16, null=True)
        admission_date = pw.DateField(null=True)
        graduation_date = pw.DateField()
        completion = pw.CharField(max_length=8)
        certificate_number = pw.CharField(max_length=32, null=True, unique=True)
        school_number = pw.CharField(max_length=32, null=True)
        president = pw.CharField(max_length=64, null=True)
        photo = pw.CharField(max_length=255, null=True)
        certificate_key = pw.CharField(index=True, max_length=32, null=True)
        school_number_key = pw.CharField(index=True, max_length=32, null=True)

        class Meta:
            table_name = "diploma"

    @migrator.create_model
    class Enrollment(pw.Model):
        id = pw.AutoField()
        name = pw.CharField(max_length=64)
        id_type = pw.CharField(default='居民身份证', max_length=16)
        id_number = pw.TextField(null=True)
        account = pw.ForeignKeyField(column_name='account_id', field='id', model=migrator.orm['account'], null=True, on_delete='SET NULL')
        bound_by = pw.CharField(max_length=16, null=True)
        bound_at = pw.DateTimeField(null=True)
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()
        id_number_index = pw.CharField(index=True, max_length=64, null=True)
        gender = pw.CharField(max_length=4, null=True)
        birth_date = pw.DateField(null=True)
        ethnicity = pw.CharField(max_length=32, null=True)
        school_name = pw.CharField(max_length=128)
        level = pw.CharField(max_length=16)
        department = pw.CharField(max_length=128, null=True)
        class_name = pw.CharField(max_length=64, null=True)
        major = pw.CharField(max_length=128)
        student_number = pw.CharField(max_length=32, unique=True)
        study_mode = pw.CharField(max_length=16, null=True)
        admission_date = pw.DateField(null=True)
        duration = pw.CharField(max_length=16, null=True)
        education_category = pw.CharField(max_length=16, null=True)
        status = pw.CharField(max_length=16)
        expected_graduation = pw.DateField(null=True)
        photo = pw.CharField(max_length=255, null=True)

        class Meta:
            table_name = "enrollment"


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your rollback migrations here."""
    
    migrator.remove_model('enrollment')

    migrator.remove_model('diploma')

    migrator.remove_model('degree')

    migrator.remove_model('correctionrequest')

    migrator.remove_model('bindattempt')

    migrator.remove_model('aid')

    migrator.remove_model('admission')
