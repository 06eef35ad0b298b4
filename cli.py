"""Flask CLI commands (`flask --app app COMMAND`)."""
from pathlib import Path

import click
from flask import Flask
from peewee_migrate import Router

import models

MIGRATIONS = Path(__file__).parent / "migrations"


def migration_router() -> Router:
    return Router(models.db, migrate_dir=MIGRATIONS, ignore=["basemodel", "record"])


def register(app: Flask) -> None:
    @app.cli.command("init-db")
    def init_db():
        """Create the database or bring its schema up to date."""
        with models.db.connection_context():
            done = migration_router().run()
        click.echo(f"database ready ({len(done)} migration(s) applied)")

    @app.cli.command("make-migration")
    @click.argument("name")
    def make_migration(name):
        """Write a migration for the changes made to models.py (developers)."""
        with models.db.connection_context():
            migration_router().create(name, auto=models)

    @app.cli.command("create-admin")
    @click.argument("username")
    @click.option("--password", required=True, help="at least 8 characters, letters and digits")
    def create_admin(username, password):
        """Create a registrar account, or reset its password."""
        from services import accounts
        with models.db.connection_context():
            try:
                account, created = accounts.create_or_reset_admin(username, password)
            except accounts.AccountError as error:
                raise click.ClickException(str(error)) from None
        click.echo(f"{'created' if created else 'updated'} admin {account.username}")

    @app.cli.command("decide-appeal")
    @click.argument("reference")
    @click.option("--approve/--reject", required=True)
    @click.option("--reason", default="", help="required when rejecting; sent to the appellant")
    @click.option("--actor", default="cli", help="who decided, for the audit log")
    def decide_appeal(reference, approve, reason, actor):
        """Approve or reject an identity appeal (申诉) until the admin pages exist."""
        from models import Appeal
        from services import appeals
        with models.db.connection_context():
            appeal = Appeal.get_or_none(Appeal.reference == appeals.normalize_reference(reference))
            if appeal is None:
                raise click.ClickException(f"no appeal {reference}")
            try:
                appeals.decide(appeal, approve, reason, actor=actor, config=app.config)
            except appeals.AppealError as error:
                raise click.ClickException(str(error)) from None
        click.echo(f"appeal {appeal.reference}: {appeal.status}")

    @app.cli.command("seed-demo")
    @click.option("--if-empty", is_flag=True, help="do nothing when accounts or records exist")
    def seed_demo(if_empty):
        """Load demo data (idempotent)."""
        from services import demo
        with models.db.connection_context():
            click.echo(demo.seed(if_empty=if_empty))
