"""Every file the portal keeps is a sealed row of the database (services.files,
migration 019): the journey that writes each kind of file leaves nothing but the
keys, the secret key, the config, the outbox and the database in the instance
folder; each file is served back byte-identical; a failed write leaves neither
row nor file; migration 019 moves the files older versions kept in folders."""
import datetime
import hashlib
import io
import re
from pathlib import Path

import pytest
from PIL import Image

import crypto
import models
from cli import migration_router
from models import Account, Appeal, CorrectionRequest, Enrollment, Report, StoredFile
from services import files, keeping, photos, retention
from services.columns import KINDS
from tests.factories import (EXAMPLE_ID, PASSWORD, create_record, csv_bytes, enrollment, image_bytes, issue_report,
                             minimal_pdf, png_bytes, report_renderer, resident_id, roll_back_to,
                             signed_in_staff, walk_to, zip_bytes)

# What the instance folder may hold besides the database (portal.sqlite3 and its -wal, -shm).
INSTANCE_FILES = {"keys", "secret_key", "config.py", "outbox.jsonl"}
MAGIC = (b"\xff\xd8\xff", b"\x89PNG", b"%PDF")


def _raw_blobs() -> dict:
    """name -> the bytes as the database holds them."""
    rows = models.db.execute_sql("SELECT name, data FROM storedfile").fetchall()
    return {name: bytes(data) for name, data in rows}


def _edit_values(client, url) -> dict:
    page = client.get(url).get_data(as_text=True)
    import html
    import json
    found = re.search(r'name="original"[^>]*value="([^"]*)"|value="([^"]*)"[^>]*name="original"', page)
    raw = html.unescape(found.group(1) or found.group(2))
    return dict(json.loads(raw), original=raw)


def test_a_journey_leaves_every_file_in_the_database(app, outbox):
    with models.db.connection_context():
        record = create_record("enrollment", 1, name="王𠮷")
    desk = signed_in_staff(app, "office", Account.REGISTRAR)

    student = app.test_client()
    walk_to(student, outbox, "confirm")
    assert student.post("/register/confirm", data={"yes": "1"}).status_code == 303

    # 1. The document photo of an appeal against a taken ID number.
    appeal_photo = png_bytes()
    response = app.test_client().post("/register/appeal", data=dict(
        real_name="王𠮷", id_type="居民身份证", id_number=EXAMPLE_ID,
        contact_email="wang@example.com", photo=(io.BytesIO(appeal_photo), "me.png")))
    assert response.status_code == 200, response.get_data(as_text=True)

    # 2. A record photo uploaded on the record's edit page.
    url = f"/admin/records/enrollment/{record.id}/edit"
    upload = image_bytes("JPEG", size=(600, 800))
    response = desk.post(url, content_type="multipart/form-data",
                         data=dict(_edit_values(desk, url), photo=(io.BytesIO(upload), "me.jpg")))
    assert response.status_code == 303, response.get_data(as_text=True)

    # 3. A correction with evidence.
    evidence = minimal_pdf()
    response = student.post(f"/records/enrollment/{record.id}/correct", data={
        "field": "major", "proposed_value": "历史学", "reason": "与证书不一致",
        "evidence": (io.BytesIO(evidence), "cert.pdf")})
    assert response.status_code == 303, response.get_data(as_text=True)

    # 4. A photo ZIP imported with its records (preview, then 导入).
    zipped = image_bytes("PNG", size=(300, 400))
    row = enrollment(学号="2019777", 证件号码=resident_id(sequence=777))
    response = desk.post("/admin/import", content_type="multipart/form-data", data=dict(
        kind="enrollment", table=(io.BytesIO(csv_bytes([row])), "学籍.csv"),
        photos=(io.BytesIO(zip_bytes({"2019777.png": zipped})), "photos.zip")))
    assert response.status_code == 200, response.get_data(as_text=True)
    with models.db.connection_context():
        token = models.ImportBatch.get().token
    assert desk.post(f"/admin/imports/{token}/commit").status_code in (200, 303)

    # 5. A report, issued and signed.
    response = student.post(f"/reports/new/enrollment/{record.id}", data={"months": "3"})
    assert response.status_code == 303, response.get_data(as_text=True)

    with models.db.connection_context():
        appeal = Appeal.get()
        correction = CorrectionRequest.get()
        imported = Enrollment.get(Enrollment.student_number == "2019777")
        report = Report.get()
        photo_name = Enrollment.get_by_id(record.id).photo
        assert {appeal.photo_path, correction.evidence_path, imported.photo, report.pdf_path,
                photo_name} == {stored.name for stored in StoredFile.select(StoredFile.name)}
        blobs = _raw_blobs()
    instance = Path(app.instance_path)
    left = {path.name for path in instance.iterdir()} - INSTANCE_FILES
    assert {name for name in left if not name.startswith("portal.sqlite3")} == set(), left

    # Served back as uploaded (photos as the portal made them from the upload).
    assert desk.get(f"/admin/appeals/{appeal.id}/photo").data == appeal_photo
    assert desk.get(f"/admin/corrections/{correction.id}/evidence").data == evidence
    served = student.get(f"/records/corrections/{correction.id}/evidence")
    assert served.data == evidence and served.headers["Content-Type"] == "application/pdf"
    assert desk.get(f"/admin/records/enrollment/{imported.id}/photo").data == photos.small_jpeg(zipped)
    mine = student.get(f"/records/enrollment/{record.id}/photo")
    assert mine.data == photos.small_jpeg(upload) and mine.headers["Content-Type"] == "image/jpeg"
    pdf = student.get(f"/reports/{report.id}/pdf")
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    assert hashlib.sha256(pdf.data).hexdigest() == report.pdf_sha256
    assert pdf.headers["Content-Disposition"] == f"attachment; filename=report-{report.code}.pdf"
    assert pdf.headers["Cache-Control"] == "no-store" and "ETag" not in pdf.headers
    public = app.test_client().get(f"/verify/{report.code}/pdf")
    assert public.data == pdf.data and "ETag" not in public.headers
    assert public.headers["Cache-Control"] == "no-store"

    # Sealed in the database: no JPEG, PNG or PDF in the raw column.
    for name, raw in blobs.items():
        assert crypto.is_sealed(raw) and not any(magic in raw for magic in MAGIC), name


def test_a_name_without_a_file_is_a_404(app, db, client, make_account, login):
    owner = make_account()
    record = create_record("enrollment", 1, account=owner.id, photo="photos/enrollment/gone.jpg")
    login(owner.username)
    assert client.get(f"/records/enrollment/{record.id}/photo").status_code == 404
    bare = create_record("enrollment", 2, account=owner.id)
    assert client.get(f"/records/enrollment/{bare.id}/photo").status_code == 404


def test_put_replaces_and_delete_removes(db):
    assert files.put("evidence/a.pdf", b"%PDF-1 one") == "evidence/a.pdf"
    files.put("evidence/a.pdf", b"%PDF-1 two")
    stored = files.get("evidence/a.pdf")
    assert (stored.data, stored.size, stored.content_type) == (b"%PDF-1 two", 10, "application/pdf")
    assert isinstance(stored.created_at, datetime.datetime)
    assert files.exists("evidence/a.pdf") and not files.exists("evidence/b.pdf") and not files.exists(None)
    digest = hashlib.sha256(b"%PDF-1 two").hexdigest()
    assert files.digests(["evidence/a.pdf", "x"]) == {"evidence/a.pdf": digest}
    assert files.delete("evidence/a.pdf", None, "nothing") == 1
    assert files.get("evidence/a.pdf") is None and files.read(None) is None and files.count() == (0, 0)


def test_a_failed_write_leaves_neither_row_nor_file(app, db):
    kind = KINDS["enrollment"]
    first = create_record("enrollment", 1)
    second = create_record("enrollment", 2)
    with app.test_request_context():
        keeping.update(kind, first, keeping.form_values(kind, first), actor="desk",
                       photo=image_bytes(), max_photo_bytes=2_000_000)
        before = Enrollment.get_by_id(first.id).photo
        # A taken 学号 with a new photo: the record, its photo and the old file stay as they were.
        with pytest.raises(keeping.KeepingError):
            keeping.update(kind, Enrollment.get_by_id(first.id),
                           dict(keeping.form_values(kind, first), student_number=second.student_number),
                           actor="desk", photo=image_bytes(colour=(10, 200, 10)),
                           max_photo_bytes=2_000_000)
    assert Enrollment.get_by_id(first.id).photo == before
    assert [s.name for s in StoredFile.select(StoredFile.name)] == [before]


def test_a_new_photo_replaces_the_old_one(app, db):
    kind = KINDS["enrollment"]
    record = create_record("enrollment", 1, student_number="2019001")
    with app.test_request_context():
        keeping.update(kind, record, keeping.form_values(kind, record), actor="desk",
                       photo=image_bytes(), max_photo_bytes=2_000_000)
    by_hand = Enrollment.get_by_id(record.id).photo
    # The import names the photo after the record: the edit page's file goes.
    assert photos.store(kind, {"2019001": photos.small_jpeg(image_bytes(colour=(1, 2, 3)))}) == 1
    assert Enrollment.get_by_id(record.id).photo == f"photos/enrollment/{record.id}.jpg"
    assert [s.name for s in StoredFile.select(StoredFile.name)] == [f"photos/enrollment/{record.id}.jpg"]
    with app.test_request_context():
        keeping.update(kind, Enrollment.get_by_id(record.id), keeping.form_values(kind, record),
                       actor="desk", photo=image_bytes(), max_photo_bytes=2_000_000)
    assert [s.name for s in StoredFile.select(StoredFile.name)] == [Enrollment.get_by_id(record.id).photo]
    assert by_hand not in {s.name for s in StoredFile.select(StoredFile.name)}


def test_purge_deletes_files_no_row_names(app, db, tmp_path):
    record = create_record("enrollment", 1, photo="photos/enrollment/1.jpg")
    files.put("photos/enrollment/1.jpg", b"named")
    files.put("evidence/orphan.pdf", b"nobody")
    files.put("evidence/young.pdf", b"nobody yet")
    old = models.utcnow() - datetime.timedelta(days=2)
    StoredFile.update(created_at=old).where(StoredFile.name != "evidence/young.pdf").execute()
    done = retention.purge(outbox_path=tmp_path / "outbox.jsonl", outbox_days=30)
    assert done.stored_files == 1
    assert {s.name for s in StoredFile.select(StoredFile.name)} == {"photos/enrollment/1.jpg",
                                                                   "evidence/young.pdf"}
    assert files.read(record.photo) == b"named"


# --- migration 019 --------------------------------------------------------------------

@pytest.fixture
def stored_everything(app, make_account):
    """A report, an appeal photo, evidence and a record photo, stored by this version."""
    owner = make_account()
    with models.db.connection_context():
        record = create_record("diploma", 1, account=owner.id)
        photo = photos.store_one(KINDS["diploma"], record.id, photos.small_jpeg(image_bytes()))
        models.Diploma.update(photo=photo).where(models.Diploma.id == record.id).execute()
        report = issue_report(app, owner, models.Diploma.get_by_id(record.id), render=report_renderer(app))
        appeal = Appeal.create(reference="SS20260101-ABCDEF", real_name="王𠮷", id_type="居民身份证",
                               id_number=EXAMPLE_ID, contact_email="a@example.com",
                               photo_path=files.put("appeals/SS20260101-ABCDEF.png", png_bytes()))
        # A row whose file was lost before the upgrade: it keeps its name.
        CorrectionRequest.create(account=owner, kind="diploma", record_id=record.id, field="major",
                                 current_value="a", proposed_value="b", reason="r",
                                 evidence_path="evidence/lost.pdf", pending_key="k")
        contents = {s.name: s.data for s in StoredFile.select()}
    return dict(owner=owner, report=report, appeal=appeal, contents=contents, photo=photo)


def test_019_rolls_back_to_folders_and_forward_into_the_database(app, runner, stored_everything):
    report, contents = stored_everything["report"], stored_everything["contents"]
    uploads, reports_dir = Path(app.config["UPLOAD_DIR"]), Path(app.config["REPORT_DIR"])
    with app.app_context(), models.db.connection_context():
        roll_back_to(migration_router(), "018_appeal_phone")
        assert "storedfile" not in models.db.get_tables()
        pdf_path = models.db.execute_sql("SELECT pdf_path FROM report").fetchone()[0]
    # The layout before 019: reports sealed in REPORT_DIR, uploads in UPLOAD_DIR, photos plain.
    assert "reports/" + pdf_path == report.pdf_path
    assert crypto.is_sealed((reports_dir / pdf_path).read_bytes())
    assert crypto.unseal((reports_dir / pdf_path).read_bytes()) == contents[report.pdf_path]
    assert (uploads / stored_everything["photo"]).read_bytes() == contents[stored_everything["photo"]]
    assert crypto.is_sealed((uploads / "appeals" / "SS20260101-ABCDEF.png").read_bytes())
    # One file written before files were sealed.
    (uploads / "appeals" / "SS20260101-ABCDEF.png").write_bytes(png_bytes())
    (uploads / "stray.txt").write_bytes(b"no row names me")

    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    assert "3 file(s) moved into the database removed" in result.output
    assert "1 file(s) no row names left" in result.output
    assert [p.name for p in uploads.rglob("*")] == ["stray.txt"] and not reports_dir.exists()
    with models.db.connection_context():
        assert {s.name: s.data for s in StoredFile.select()} == contents
        assert Report.get().pdf_path == report.pdf_path
        assert CorrectionRequest.get().evidence_path == "evidence/lost.pdf"
        assert all(crypto.is_sealed(raw) for raw in _raw_blobs().values())
    client = app.test_client()
    client.post("/login", data={"login": stored_everything["owner"].username, "password": PASSWORD})
    pdf = client.get(f"/reports/{report.id}/pdf")
    assert pdf.status_code == 200 and pdf.data == contents[report.pdf_path]
    with models.db.connection_context():
        correction = CorrectionRequest.get()
    assert client.get(f"/records/corrections/{correction.id}/evidence").status_code == 404
    assert "moved" not in runner.invoke(args=["init-db"]).output  # idempotent


def test_019_needs_the_app_for_files_in_folders(app, stored_everything):
    """Outside the app the migration does not know the folders: it stops rather than
    lose a file."""
    with app.app_context(), models.db.connection_context():
        router = migration_router()
        roll_back_to(router, "018_appeal_phone")
    with models.db.connection_context():
        with pytest.raises(RuntimeError, match="init-db"):
            migration_router().run()
        assert "storedfile" not in models.db.get_tables()


def test_a_sealed_photo_reads_back_as_an_image(db):
    jpeg = photos.small_jpeg(image_bytes())
    files.put("photos/enrollment/9.jpg", jpeg)
    with Image.open(io.BytesIO(files.read("photos/enrollment/9.jpg"))) as image:
        assert image.size == photos.SIZE
