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
        """Create the database or bring its schema up to date (migration 019 moves the
        files older versions kept in the instance folder into the database; those
        folders are then emptied), make the instance folder private and add the
        majors' English names the table lacks (idempotent)."""
        import crypto
        from services import files, names, startup
        # One process at a time (several servers starting at once): the others wait
        # here, then find every migration applied.
        with models.db.connection_context(), startup.schema_lock(app.config["DATABASE_URL"]):
            done = migration_router().run()
            # After the migrations committed: each file only once its row holds the same bytes.
            cleared, left = files.clear_folders(app.config["UPLOAD_DIR"], app.config["REPORT_DIR"])
            majors = names.seed_majors()
        tightened = crypto.tighten(app.instance_path)
        click.echo(f"database ready ({len(done)} migration(s) applied)")
        if majors:
            click.echo(f"{majors} majors' English names added")
        if cleared:
            click.echo(f"{cleared} file(s) moved into the database removed from the instance folder")
        if left:
            click.echo(f"{left} file(s) no row names left in {app.config['UPLOAD_DIR']} or "
                       f"{app.config['REPORT_DIR']}: not part of the portal's state any more")
        if tightened:
            click.echo(f"{tightened} permission(s) tightened")

    @app.cli.command("make-migration")
    @click.argument("name")
    def make_migration(name):
        """Write a migration for the changes made to models.py (developers)."""
        with models.db.connection_context():
            migration_router().create(name, auto=models)

    @app.cli.command("create-admin")
    @click.argument("username")
    @click.option("--password", required=True, help="at least 8 characters, letters and digits")
    @click.option("--reset-totp", is_flag=True,
                  help="also remove the second factor (lost phone and recovery codes); "
                       "the next login enrols a new one")
    def create_admin(username, password, reset_totp):
        """Create a registrar account, or reset its password. The second factor
        (动态验证码) is enrolled at the account's first login and kept on a reset
        unless --reset-totp is given."""
        from services import accounts, staff_auth
        with models.db.connection_context():
            try:
                account, created = staff_auth.create_or_reset_admin(username, password,
                                                                    reset_totp=reset_totp)
            except accounts.AccountError as error:
                raise click.ClickException(str(error)) from None
        click.echo(f"{'created' if created else 'updated'} admin {account.username}")
        if reset_totp and not created:
            click.echo("second factor removed: enrol again at the next login")

    @app.cli.command("import-records")
    @click.option("--kind", required=True,
                  type=click.Choice(["enrollment", "diploma", "degree", "admission", "aid"]))
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--photos", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                  help="ZIP of JPEG/PNG photos named by 学号 (enrollment) or 证书编号 (diploma)")
    @click.option("--actor", default="cli", help="who imported, for the audit log")
    def import_records(kind, file, photos, actor):
        """Create or update records from a CSV or XLSX file (all rows or none)."""
        from services import clock, importer
        from services import settings as settings_service
        max_bytes = app.config.get("IMPORT_MAX_BYTES", importer.MAX_BYTES)
        with models.db.connection_context():
            # No record date may be later than the school's today (its TIMEZONE setting).
            today = clock.today(settings_service.current(app.config).get("TIMEZONE"))
            try:
                # Refused by name and size before the file is read into memory.
                importer.check_size(file.name, file.stat().st_size, max_bytes)
                result = importer.import_file(
                    kind, file.name, file.read_bytes(),
                    photos_zip=photos.read_bytes() if photos else None,
                    max_bytes=max_bytes, actor=actor,
                    today=today)
            except importer.ImportRejected as rejected:
                for error in rejected.errors:
                    click.echo(str(error), err=True)
                raise click.ClickException(str(rejected)) from None
        click.echo(f"imported {kind} from {file.name}: {result.rows} row(s), created {result.created}, "
                   f"updated {result.updated}, unchanged {result.unchanged}, photos {result.photos}")
        if result.bound_identity_changed:
            click.echo(f"note: {result.bound_identity_changed} bound record(s) changed name or ID number")

    @app.cli.command("decide-appeal")
    @click.argument("reference")
    @click.option("--approve/--reject", required=True)
    @click.option("--reason", default="", help="required when rejecting; sent to the appellant")
    @click.option("--actor", default="cli", help="who decided, for the audit log")
    def decide_appeal(reference, approve, reason, actor):
        """Approve or reject an identity appeal (申诉), as /admin/appeals does."""
        from models import Appeal
        from services import appeals
        with models.db.connection_context():
            appeal = Appeal.get_or_none(Appeal.reference == appeals.normalize_reference(reference))
            if appeal is None:
                raise click.ClickException(f"no appeal {reference}")
            try:
                appeals.decide(appeal, approve, reason, actor=actor,
                               postman=app.extensions["postman"])
            except appeals.AppealError as error:
                raise click.ClickException(str(error)) from None
        click.echo(f"appeal {appeal.reference}: {appeal.status}")

    @app.cli.command("decide-correction")
    @click.argument("request_id", type=int)
    @click.option("--approve/--reject", required=True)
    @click.option("--reply", default="", help="required when rejecting; shown to the student")
    @click.option("--actor", default="cli", help="who decided, for the audit log")
    def decide_correction(request_id, approve, reply, actor):
        """Adopt or decline a correction request (更正申请), as /admin/corrections does."""
        from models import CorrectionRequest
        from services import corrections
        with models.db.connection_context():
            request = CorrectionRequest.get_or_none(CorrectionRequest.id == request_id)
            if request is None:
                raise click.ClickException(f"no correction request {request_id}")
            try:
                corrections.decide(request, approve, reply, actor=actor,
                                   postman=app.extensions["postman"])
            except corrections.CorrectionError as error:
                raise click.ClickException(str(error)) from None
        click.echo(f"correction request {request.id}: {request.status}")

    @app.cli.command("send-reminders")
    def send_reminders():
        """SMS the owners of reports that expire within 7 days (run daily from cron)."""
        from services import reports
        with models.db.connection_context():
            sent = reports.send_reminders(postman=app.extensions["postman"])
        click.echo(f"{sent} reminder(s) sent")

    @app.cli.command("send-alerts")
    def send_alerts():
        """Sum up the checks of reports with 查验提醒 that no message has told yet,
        once their hour has passed (run from cron, e.g. every 10 minutes)."""
        from services import check_alerts
        with models.db.connection_context():
            sent = check_alerts.send_due(postman=app.extensions["postman"])
        click.echo(f"{sent} check alert(s) sent")

    @app.cli.command("purge")
    def purge():
        """Forget expired challenges (registration drafts too) and codes, old outbox lines,
        stored files no row names and closed accounts past retention (daily from cron)."""
        from services import retention
        with models.db.connection_context():
            done = retention.purge(outbox_path=app.config["OUTBOX_PATH"],
                                   outbox_days=int(app.config["OUTBOX_RETENTION_DAYS"]))
        click.echo(f"purged {done.challenges} challenge(s), {done.codes} code(s), "
                   f"{done.outbox_lines} outbox line(s), {done.import_batches} expired import batch(es), "
                   f"{done.login_sessions} ended login session(s), "
                   f"{done.stored_files} stored file(s) no row names, "
                   f"{done.closed_accounts} closed account(s) erased")

    @app.cli.command("seed-demo")
    @click.option("--if-empty", is_flag=True, help="do nothing when accounts or records exist")
    def seed_demo(if_empty):
        """Load demo data (idempotent)."""
        import demo
        from services import startup
        # Two servers seeding at once: the second waits and then finds data (--if-empty).
        with models.db.connection_context(), startup.schema_lock(app.config["DATABASE_URL"]):
            click.echo(demo.seed(school_names=app.config["SCHOOL_NAMES"], if_empty=if_empty))

    @app.cli.command("backup")
    @click.argument("dest", type=click.Path(path_type=Path))
    def backup_command(dest):
        """Write one archive (tar.gz, 0600) of the database, keys, settings and stored
        files while the portal runs; DEST is a file, or a folder for a timestamped one."""
        from services import backup
        sources = backup.Sources.from_config(app.instance_path, app.config)
        try:
            path, manifest = backup.backup(sources, dest,
                                           version=backup.code_version(Path(__file__).parent))
        except backup.BackupError as error:
            raise click.ClickException(str(error)) from None
        counts = manifest["row_counts"]
        click.echo(f"backup written to {path} ({manifest['database']}, {len(manifest['files'])} file(s), "
                   f"{counts.get('account', 0)} account(s), {counts.get('report', 0)} report(s)); "
                   "it holds the keys: keep it secret")

    @app.cli.command("restore")
    @click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    def restore_command(archive):
        """Put a backup into this EMPTY instance (PORTAL_INSTANCE_DIR, DATABASE_URL);
        refused when it already has a database, keys or files, or the archive's
        checksums do not match."""
        from services import backup
        target = backup.Sources.from_config(app.instance_path, app.config)
        try:
            manifest = backup.restore(archive, target,
                                      keys_at_start=app.extensions.get("keys_at_start", []))
        except backup.BackupError as error:
            raise click.ClickException(str(error)) from None
        click.echo(f"restored the backup of {manifest['created_at']} into {app.instance_path}; "
                   "run `flask --app app init-db` to bring the schema up to date")
