"""Uploaded images and PDFs that are not what they claim (issue 9, items C and D):
decompression bombs, huge photos in an import ZIP, evidence PDFs that do not parse,
and evidence served to staff as a download, never inline."""
import io
import struct
import time
import zlib

import pytest
from PIL import Image

import models
from models import CorrectionRequest
from services import accounts, photos
from services.columns import KINDS
from tests.factories import minimal_pdf, sign_in_staff, zip_bytes


def bomb_png(width=20000, height=20000):
    """A 1-bit PNG that claims width x height pixels, all white: under 100 KB for
    20000 x 20000, 400 megapixels once decoded."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    row = b"\x00" + b"\xff" * ((width + 7) // 8)
    packer = zlib.compressobj(9)
    body = b"".join(packer.compress(row * 100) for _ in range(height // 100)) + packer.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", body) + chunk(b"IEND", b""))


def png(size=(60, 80)):
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 180, 160)).save(buffer, "PNG")
    return buffer.getvalue()


def text(response):
    return response.get_data(as_text=True)


@pytest.fixture
def student_with_record(app, make_account, make_record, login):
    account = make_account(username="zhang@example.edu.cn", real_name="张三")
    record = make_record("diploma", account=account.id, major="汉语言文学")
    login("zhang@example.edu.cn")
    return record


def correct(client, record, evidence):
    return client.post(f"/records/diploma/{record.id}/correct", data=dict(
        field="major", proposed_value="汉语言文学（师范）", reason="与毕业证书不一致",
        evidence=(io.BytesIO(evidence[1]), evidence[0])), content_type="multipart/form-data")


def nothing_stored(app):
    with models.db.connection_context():
        return models.StoredFile.select().count() == 0


# --- C: decompression bombs ---------------------------------------------------------

def test_the_bomb_is_small():
    assert len(bomb_png()) < 100 * 1024


def test_appeal_photo_bomb_is_422_beside_the_photo(client, app, db):
    response = client.post("/register/appeal", data=dict(
        real_name="王𠮷", id_type="居民身份证", id_number="11010519491231002X",
        contact_email="wang@example.com", photo=(io.BytesIO(bomb_png()), "photo.png")),
        content_type="multipart/form-data")
    assert response.status_code == 422
    assert 'id="photo-error"' in text(response) and "像素过多" in text(response)
    assert models.Appeal.select().count() == 0 and nothing_stored(app)


def test_evidence_bomb_is_422_beside_the_evidence(client, app, db, student_with_record):
    response = correct(client, student_with_record, ("scan.png", bomb_png()))
    assert response.status_code == 422
    assert 'id="evidence-error"' in text(response) and "像素过多" in text(response)
    assert CorrectionRequest.select().count() == 0 and nothing_stored(app)


def test_evidence_bomb_message_is_english_too(client, app, db, student_with_record):
    client.set_cookie("lang", "en")
    response = correct(client, student_with_record, ("scan.png", bomb_png()))
    assert response.status_code == 422 and "too many pixels" in text(response)


def test_photo_zip_refuses_bombs_and_huge_photos_before_decoding():
    archive = zip_bytes({"2019001.png": bomb_png(), "2019002.png": bomb_png(5000, 8000),
                         "2019003.png": png()})
    started = time.perf_counter()
    found, problems = photos.read_zip(KINDS["enrollment"], archive, set(), check_database=False)
    elapsed = time.perf_counter() - started
    assert list(found) == ["2019003"]
    assert len(problems) == 2 and all("像素过多" in problem for problem in problems), problems
    assert "2019001.png" in problems[0] and "2019002.png" in problems[1]
    assert elapsed < 0.5, elapsed


# --- D: evidence PDFs ---------------------------------------------------------------

def test_evidence_that_only_starts_like_a_pdf_is_422(client, app, db, student_with_record):
    response = correct(client, student_with_record, ("x.pdf", b"%PDF-1.7\n<script>alert(1)</script>"))
    assert response.status_code == 422
    assert 'id="evidence-error"' in text(response) and "PDF" in text(response)
    assert CorrectionRequest.select().count() == 0 and nothing_stored(app)


def test_a_real_pdf_is_accepted(client, db, student_with_record):
    assert correct(client, student_with_record, ("x.pdf", minimal_pdf())).status_code == 303


@pytest.mark.parametrize("name, data", [("x.pdf", None), ("x.png", png())])
def test_evidence_is_a_download_for_staff_and_student(app, client, db, student_with_record,
                                                      name, data):
    data = data or minimal_pdf()
    assert correct(client, student_with_record, (name, data)).status_code == 303
    correction = CorrectionRequest.get()
    mine = client.get(f"/records/corrections/{correction.id}/evidence")
    accounts.create_or_reset_admin("office@example.edu.cn", "registrar-42")
    staff = app.test_client()
    sign_in_staff(staff, "office@example.edu.cn", "registrar-42")
    theirs = staff.get(f"/admin/corrections/{correction.id}/evidence")
    for response in (mine, theirs):
        assert response.status_code == 200 and response.data == data
        assert response.headers["Content-Disposition"].startswith("attachment")
        assert response.headers["X-Content-Type-Options"] == "nosniff"
