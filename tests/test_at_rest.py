"""Secrets at rest and the instance folder's permissions (issue 9, items A and B).

A whole journey runs through the app: registration with a phone and an ID
number, records bound, a correction of the ID number with evidence, an appeal
with a photo, reports for a 学籍 and a 学位 record, their verification on the web
and by PDF, the registrar's decision. Then the raw bytes of the database (and
its -wal and -shm) and of every file under the instance folder are searched for
the ID numbers, the phone number and the report codes.

Left out of the scan: keys/ and secret_key (the keys themselves), and
outbox.jsonl, which stands in for the SMS and e-mail gateway: what it holds has
left the school (it must carry `to`, the phone number a text goes to).
"""
import io
import os
import sqlite3
import stat
from pathlib import Path

import pytest
from PIL import Image

import crypto
import models
from models import CorrectionRequest, Report
from services import accounts, reports
from tests.factories import (EXAMPLE_ID, create_record, resident_id, roll_back_to, sign_in_staff,
                             walk_to)

PHONE = "13812345678"
NEW_ID = resident_id(birth="19491231", sequence=8)
SCAN_EXCLUDED = {"keys", "secret_key", "outbox.jsonl"}


def _png(size=(60, 80)):
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 180, 160)).save(buffer, "PNG")
    return buffer.getvalue()


def _journey(app, outbox):
    """Everything a student, a verifier and the registrar do; returns the report codes."""
    with models.db.connection_context():
        enrollment = create_record("enrollment", 1, name="王𠮷")
        degree = create_record("degree", 2, name="王𠮷")
        accounts.create_or_reset_admin("office@example.edu.cn", "registrar-42")

    student = app.test_client()
    walk_to(student, outbox, "confirm")
    assert student.post("/register/confirm", data={"yes": "1"}).status_code == 303

    response = student.post(f"/records/enrollment/{enrollment.id}/correct", data={
        "field": "id_number", "proposed_value": NEW_ID, "reason": "身份证号码录错了",
        "evidence": (io.BytesIO(_png()), "id.png")})
    assert response.status_code == 303, response.get_data(as_text=True)

    stranger = app.test_client()
    response = stranger.post("/register/appeal", data=dict(
        real_name="王𠮷", id_type="居民身份证", id_number=EXAMPLE_ID,
        contact_email="wang@example.com", photo=(io.BytesIO(_png()), "me.png")))
    assert response.status_code == 200, response.get_data(as_text=True)

    codes = []
    for kind, record in (("enrollment", enrollment), ("degree", degree)):
        response = student.post(f"/reports/new/{kind}/{record.id}", data={"months": "3"})
        assert response.status_code == 303, response.get_data(as_text=True)
    with models.db.connection_context():
        issued = list(Report.select().order_by(Report.id))
        codes = [report.code for report in issued]
        ids = [report.id for report in issued]
    verifier = app.test_client()
    for report_id, code in zip(ids, codes):
        pdf = student.get(f"/reports/{report_id}/pdf")
        assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
        assert verifier.get(f"/verify/{reports.grouped(code, '-')}").status_code == 200
        response = verifier.post("/verify/pdf", data={"pdf": (io.BytesIO(pdf.data), "r.pdf")})
        assert response.status_code == 200, response.get_data(as_text=True)
        assert verifier.get(f"/verify/{code}/pdf").data == pdf.data

    office = app.test_client()
    sign_in_staff(office, "office@example.edu.cn", "registrar-42")
    with models.db.connection_context():
        correction = CorrectionRequest.get()
    evidence = office.get(f"/admin/corrections/{correction.id}/evidence")
    assert evidence.status_code == 200 and evidence.data == _png()
    response = office.post(f"/admin/corrections/{correction.id}",
                           data={"decision": "approve", "reply": ""})
    assert response.status_code == 303, response.get_data(as_text=True)
    with models.db.connection_context():
        assert type(enrollment).get_by_id(enrollment.id).id_number == NEW_ID
        appeal = models.Appeal.get()
    photo = office.get(f"/admin/appeals/{appeal.id}/photo")
    assert photo.status_code == 200 and photo.data == _png()
    return codes


def _scanned_files(instance: Path):
    for path in sorted(instance.rglob("*")):
        relative = path.relative_to(instance)
        if relative.parts[0] in SCAN_EXCLUDED or not path.is_file():
            continue
        yield relative, path.read_bytes()


@pytest.fixture
def journey_app(app_factory):
    """The app, with one more connection held open to the end so that SQLite keeps
    its -wal and -shm files (the last connection to close folds them in)."""
    app = app_factory()
    held = sqlite3.connect(Path(app.instance_path) / "portal.sqlite3")
    held.execute("SELECT count(*) FROM account").fetchall()
    yield app, app.config["OUTBOX_PATH"]
    held.close()


def test_no_secret_is_stored_in_clear(journey_app):
    from tests.factories import Outbox
    app, outbox_path = journey_app
    codes = _journey(app, Outbox(outbox_path))
    instance = Path(app.instance_path)
    secrets = {"ID number": EXAMPLE_ID, "ID number, 15 digits": "110105491231002",
               "new ID number": NEW_ID, "phone": PHONE}
    for n, code in enumerate(codes):
        secrets[f"code {n}"] = code
        secrets[f"code {n}, grouped"] = reports.grouped(code)
        secrets[f"code {n}, with hyphens"] = reports.grouped(code, "-")
    found = []
    for relative, data in _scanned_files(instance):
        for name, secret in secrets.items():
            for form in {secret, secret.lower()}:
                if form.encode("utf-8") in data:
                    found.append(f"{name} in {relative}")
        # Compressed PDF streams and images would hide text from a byte scan: what
        # holds secrets must not be a readable PDF or image at all (record photos,
        # which carry no number, are the one kind of plain image kept).
        if relative.parts[:2] != ("uploads", "photos"):
            for magic in (b"%PDF-", b"\x89PNG", b"\xff\xd8\xff"):
                if data.startswith(magic):
                    found.append(f"plain {magic!r} file {relative}")
    assert found == [], "\n".join(found)
    assert any(path.name.endswith("-wal") for path in instance.iterdir())


def test_instance_files_and_folders_are_private(journey_app):
    from tests.factories import Outbox
    app, outbox_path = journey_app
    _journey(app, Outbox(outbox_path))
    instance = Path(app.instance_path)
    wrong = []
    for path in [instance, *instance.rglob("*")]:
        mode = stat.S_IMODE(os.stat(path).st_mode)
        wanted = 0o700 if path.is_dir() else 0o600
        if mode != wanted:
            wrong.append(f"{path.relative_to(instance)}: {mode:o}")
    assert wrong == [], "\n".join(wrong)
    names = {path.name for path in instance.iterdir()}
    assert {"portal.sqlite3", "portal.sqlite3-wal", "outbox.jsonl", "keys"} <= names


def test_rows_and_files_stored_in_clear_before_are_converted(app, runner, make_account):
    """Migration 006 encrypts old rows; 019 moves an old file written in clear into the
    database, sealed, and `init-db` then removes it from the instance folder."""
    from cli import migration_router
    account = make_account()
    upload_dir = Path(app.config["UPLOAD_DIR"])
    old_file = upload_dir / "evidence" / "old.png"
    old_file.parent.mkdir(parents=True)
    old_file.write_bytes(_png())
    os.chmod(old_file, 0o644)
    with models.db.connection_context():
        roll_back_to(migration_router(), "005_one_challenge")  # rows were written in clear
        models.db.execute_sql(
            "INSERT INTO correctionrequest (account_id, kind, record_id, field, current_value,"
            " proposed_value, reason, evidence_path, status, created_at)"
            " VALUES (?, 'enrollment', 1, 'id_number', ?, ?, 'r', 'evidence/old.png', 'pending',"
            " '2024-01-01 00:00:00')", (account.id, EXAMPLE_ID, NEW_ID))
        models.db.execute_sql("INSERT INTO auditentry (actor, action, detail, ip, at)"
                              " VALUES ('cli', 'record.corrected', ?, '', '2024-01-01 00:00:00')",
                              (f"{EXAMPLE_ID} -> {NEW_ID}",))
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    assert "1 file(s) moved into the database removed" in result.output
    with models.db.connection_context():
        raw = models.db.execute_sql(
            "SELECT current_value, proposed_value FROM correctionrequest").fetchone()
        detail = models.db.execute_sql(
            "SELECT detail FROM auditentry WHERE action = 'record.corrected'").fetchone()
        assert all(value.startswith("v1:") for value in (*raw, *detail))
        correction = CorrectionRequest.get()
        assert (correction.current_value, correction.proposed_value) == (EXAMPLE_ID, NEW_ID)
        assert models.AuditEntry.get(models.AuditEntry.action == "record.corrected").detail \
            == f"{EXAMPLE_ID} -> {NEW_ID}"
    assert not old_file.exists() and not upload_dir.exists()
    with models.db.connection_context():
        raw = models.db.execute_sql("SELECT data FROM storedfile WHERE name = 'evidence/old.png'").fetchone()
    assert crypto.is_sealed(bytes(raw[0])) and b"PNG" not in bytes(raw[0])
    assert "moved" not in runner.invoke(args=["init-db"]).output  # idempotent
    client = app.test_client()
    client.post("/login", data={"login": account.username, "password": "secret-pass-1"})
    assert client.get(f"/records/corrections/{correction.id}/evidence").data == _png()
