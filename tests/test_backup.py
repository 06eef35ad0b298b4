"""`flask backup` while the portal writes, and `flask restore` into an empty instance."""
import hashlib
import io
import os
import stat
import tarfile
import threading
from pathlib import Path

import psycopg2
import pytest

import models
from app import create_app
from cli import MIGRATIONS, migration_router
from models import Account, Diploma, Report, StoredFile
from services import backup, files, pdf, photos, signing
from services.columns import KINDS
from tests.factories import (create_account, create_record, image_bytes, issue_report,
                             report_renderer, resident_id, roll_back_to)


def _settings(instance, **more):
    return dict(TESTING=True, WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False,
                INSTANCE_DIR=str(instance), PORTAL_BASE_URL="http://portal.test", **more)


def _hashes(folder) -> dict:
    folder = Path(folder)
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def first_report(app, make_account):
    """A student with a photographed diploma and a real signed report of it."""
    owner = make_account(username="zhang@example.edu.cn")
    record = create_record("diploma", 9000, account=owner.id)
    with models.db.connection_context():
        photo = photos.store_one(KINDS["diploma"], record.id, image_bytes(size=(120, 160)))
        Diploma.update(photo=photo).where(Diploma.id == record.id).execute()
        return issue_report(app, owner, Diploma.get_by_id(record.id), render=report_renderer(app))


class Writer(threading.Thread):
    """Accounts, records and reports created in a loop, as the portal would while backing up."""

    def __init__(self, app, pdf_bytes):
        super().__init__(daemon=True)
        self.app, self.pdf_bytes = app, pdf_bytes
        self.done, self.stop, self.error = 0, threading.Event(), None

    def run(self):
        try:
            while not self.stop.is_set():
                n = self.done + 1
                id_number = resident_id(sequence=100 + n)
                account = create_account(self.app, n, username=f"writer{n}@example.edu.cn",
                                         id_number=id_number)
                with models.db.connection_context():
                    record = create_record("diploma", n, account=account.id, id_number=id_number)
                    issue_report(self.app, account, record, render=lambda snapshot: self.pdf_bytes)
                self.done = n
        except BaseException as error:  # reported by the test
            self.error = error


def test_backup_while_writing_then_restore_into_a_new_instance(app, first_report, tmp_path):
    with models.db.connection_context():
        original_pdf = files.read(first_report.pdf_path)
    writer = Writer(app, original_pdf)
    writer.start()
    try:
        while writer.done < 3 and writer.error is None:
            writer.join(0.05)
        result = app.test_cli_runner().invoke(args=["backup", str(tmp_path)])
        written_after = writer.done
        while writer.done < written_after + 2 and writer.error is None:
            writer.join(0.05)
    finally:
        writer.stop.set()
        writer.join()
    assert writer.error is None, writer.error
    assert result.exit_code == 0, result.output
    archive = next(tmp_path.glob("portal-backup-*.tar.gz"))
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600 and "keep it secret" in result.output
    manifest = backup.verify(archive)
    counts = manifest["row_counts"]
    assert manifest["database"] == "sqlite" and manifest["created_at"].endswith("Z")
    newest = max(path.stem for path in MIGRATIONS.glob("[0-9]*.py"))
    assert manifest["migrations"][-1] == newest and counts["report"] >= 4
    # The files are rows of the database copy, consistent with the rows that name them.
    assert counts["storedfile"] == counts["report"] + 1  # the PDFs and the diploma's photo
    with models.db.connection_context():
        # Written during and after the backup: more rows than the archive holds.
        assert Account.select().count() > counts["account"]
    names = set(manifest["files"])
    assert {"instance/secret_key", "instance/keys/data.key", "instance/keys/index.key"} <= names
    assert not any(name.startswith("files/") or "outbox" in name for name in names)
    with models.db.connection_context():
        before = {s.name: hashlib.sha256(s.data).hexdigest() for s in StoredFile.select()}

    # A new, empty instance: the app's start makes keys there, restore replaces them.
    fresh = tmp_path / "restored"
    empty = create_app(_settings(fresh))
    restored_run = empty.test_cli_runner().invoke(args=["restore", str(archive)])
    assert restored_run.exit_code == 0, restored_run.output
    restored = create_app(_settings(fresh))
    assert (fresh / "keys" / "data.key").read_bytes() == (Path(app.instance_path) / "keys" / "data.key").read_bytes()
    with models.db.connection_context():
        assert Account.select().count() == counts["account"]
        assert Diploma.select().count() == counts["diploma"]
        assert Report.select().count() == counts["report"]
        ids = {r.id for r in Report.select()}
        assert first_report.id in ids and all(files.exists(r.pdf_path) for r in Report.select())
        # Encrypted columns read with the restored keys.
        assert Account.get(Account.username == "zhang@example.edu.cn").id_number
        photo = Diploma.get_by_id(first_report.record_id).photo
        # Every file the copy holds reads back (unsealed with the restored keys) as it was.
        restored_files = {s.name: hashlib.sha256(s.data).hexdigest() for s in StoredFile.select()}
        assert len(restored_files) == counts["storedfile"] and photo in restored_files
        assert all(before[name] == digest for name, digest in restored_files.items())
        signed = files.read(first_report.pdf_path)
    assert not (fresh / "uploads").exists() and not (fresh / "reports").exists()
    keys = signing.load_or_create(fresh / "keys", "示范大学", "Demonstration University")
    check = pdf.check_pdf(signed, keys)
    assert check.ok and check.snapshot["code"] == first_report.code
    page = restored.test_client().get(f"/verify/{first_report.code}")
    assert page.status_code == 200 and "有效的在线验证报告" in page.get_data(as_text=True)


def test_backup_to_a_file_and_restore_refuses_an_instance_in_use(app, db, first_report, tmp_path):
    target = tmp_path / "nightly.tar.gz"
    result = app.test_cli_runner().invoke(args=["backup", str(target)])
    assert result.exit_code == 0 and target.is_file(), result.output
    database = Path(backup.sqlite_path(app.config["DATABASE_URL"]))
    keys_before = _hashes(Path(app.instance_path) / "keys")
    db_before = hashlib.sha256(database.read_bytes()).hexdigest()
    refused = app.test_cli_runner().invoke(args=["restore", str(target)])
    assert refused.exit_code != 0 and "empty instance" in refused.output
    assert "keys" in refused.output and "tables" in refused.output
    assert _hashes(Path(app.instance_path) / "keys") == keys_before
    assert hashlib.sha256(database.read_bytes()).hexdigest() == db_before


def _tampered(archive: Path, out: Path, member_prefix: str) -> Path:
    """The same archive with one member's bytes changed and its manifest left as it was."""
    with tarfile.open(archive, "r:gz") as source, tarfile.open(out, "w:gz") as copy:
        changed = False
        for member in source:
            data = source.extractfile(member).read()
            if not changed and member.name.startswith(member_prefix):
                data, changed = data[:-1] + bytes([data[-1] ^ 1]), True
                member.size = len(data)
            copy.addfile(member, io.BytesIO(data))
    assert changed
    return out


@pytest.mark.parametrize("prefix", ["instance/keys/", "database/"])
def test_restore_refuses_a_tampered_archive_and_writes_nothing(app, db, first_report, tmp_path, prefix):
    archive, _ = backup.backup(backup.Sources.from_config(app.instance_path, app.config),
                               tmp_path / "good.tar.gz")
    bad = _tampered(archive, tmp_path / "bad.tar.gz", prefix)
    empty = tmp_path / "empty"
    target = backup.Sources(empty, f"sqlite:///{empty}/portal.sqlite3", empty / "uploads",
                            empty / "reports")
    with pytest.raises(backup.BackupError, match="checksum"):
        backup.restore(bad, target, keys_at_start=[])
    assert not empty.exists()
    # Unknown members are refused too, and so is a member missing from the archive.
    with tarfile.open(archive, "r:gz") as source, tarfile.open(tmp_path / "extra.tar.gz", "w:gz") as copy:
        for member in source:
            copy.addfile(member, source.extractfile(member))
        info = tarfile.TarInfo("files/uploads/../../escape")
        info.size = 1
        copy.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(backup.BackupError, match="not listed"):
        backup.restore(tmp_path / "extra.tar.gz", target, keys_at_start=[])
    assert not empty.exists() and not (tmp_path / "escape").exists()
    assert os.stat(archive).st_mode & 0o077 == 0


def _with_old_file_members(archive: Path, out: Path, folders: dict) -> Path:
    """The archive as a version before migration 019 wrote it: the file folders
    (archive prefix -> folder) as members, listed in the manifest."""
    import json
    with tarfile.open(archive, "r:gz") as source:
        members = {m.name: source.extractfile(m).read() for m in source}
    manifest = json.loads(members.pop(backup.MANIFEST))
    for prefix, folder in folders.items():
        for path in Path(folder).rglob("*"):
            if path.is_file():
                members[f"{prefix}/{path.relative_to(folder).as_posix()}"] = path.read_bytes()
    manifest["files"] = {name: hashlib.sha256(data).hexdigest() for name, data in members.items()}
    with tarfile.open(out, "w:gz") as copy:
        for name, data in [(backup.MANIFEST, json.dumps(manifest).encode()), *members.items()]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            copy.addfile(info, io.BytesIO(data))
    return out


def test_an_archive_from_before_019_restores_its_files_into_the_database(app, first_report, tmp_path):
    """Its files go back into the folders; the `init-db` after the restore moves them
    into the database (migration 019) and empties the folders."""
    with models.db.connection_context():
        contents = {s.name: s.data for s in StoredFile.select()}
    with app.app_context(), models.db.connection_context():
        roll_back_to(migration_router(), "018_appeal_phone")
    archive, _ = backup.backup(backup.Sources.from_config(app.instance_path, app.config),
                               tmp_path / "new.tar.gz")
    old = _with_old_file_members(archive, tmp_path / "old.tar.gz",
                                 {"files/uploads": app.config["UPLOAD_DIR"],
                                  "files/reports": app.config["REPORT_DIR"]})
    assert backup.verify(old)["migrations"][-1].startswith("018")

    fresh = tmp_path / "restored"
    empty = create_app(_settings(fresh))
    run = empty.test_cli_runner().invoke(args=["restore", str(old)])
    assert run.exit_code == 0 and "init-db" in run.output, run.output
    restored = create_app(_settings(fresh))
    done = restored.test_cli_runner().invoke(args=["init-db"])
    assert done.exit_code == 0 and "2 file(s) moved into the database removed" in done.output, done.output
    assert not (fresh / "uploads").exists() and not (fresh / "reports").exists()
    with models.db.connection_context():
        assert {s.name: s.data for s in StoredFile.select()} == contents
        signed = files.read(Report.get_by_id(first_report.id).pdf_path)
    keys = signing.load_or_create(fresh / "keys", "示范大学", "Demonstration University")
    assert pdf.check_pdf(signed, keys).ok


def _new_database(server: str, name: str) -> str:
    admin = psycopg2.connect(server + "/postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    return f"{server}/{name}"


def test_postgres_round_trip(postgres_server, app_factory, make_account, tmp_path):
    source = app_factory(DATABASE_URL=_new_database(postgres_server, "t_backup_source"))
    owner = make_account(username="zhang@example.edu.cn")
    record = create_record("diploma", 1, account=owner.id)
    with models.db.connection_context():
        report = issue_report(source, owner, record, render=report_renderer(source))
    result = source.test_cli_runner().invoke(args=["backup", str(tmp_path / "pg.tar.gz")])
    assert result.exit_code == 0, result.output
    manifest = backup.verify(tmp_path / "pg.tar.gz")
    assert manifest["database"] == "postgresql" and manifest["row_counts"]["report"] == 1

    fresh = tmp_path / "restored"
    restored_url = _new_database(postgres_server, "t_backup_restored")
    empty = create_app(_settings(fresh, DATABASE_URL=restored_url))
    run = empty.test_cli_runner().invoke(args=["restore", str(tmp_path / "pg.tar.gz")])
    assert run.exit_code == 0, run.output
    restored = create_app(_settings(fresh, DATABASE_URL=restored_url))
    with models.db.connection_context():
        assert Account.get(Account.username == "zhang@example.edu.cn").id_number
        assert Report.get().code == report.code
    page = restored.test_client().get(f"/verify/{report.code}")
    assert page.status_code == 200 and "有效的在线验证报告" in page.get_data(as_text=True)
    # Now the database has tables: a second restore is refused.
    again = restored.test_cli_runner().invoke(args=["restore", str(tmp_path / "pg.tar.gz")])
    assert again.exit_code != 0 and "tables" in again.output
