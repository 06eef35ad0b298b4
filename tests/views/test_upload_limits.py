"""Request size limits: each upload page has its own, set before CSRFProtect reads
the body, and a 413 names the limit of the page it came from (issue 9, A)."""
import datetime
import io
import re

import pytest

from models import Enrollment
from services import accounts
from tests.factories import csv_bytes, enrollment, resident_id, second_factor_code

MB = 1024 * 1024


def text(response):
    return response.get_data(as_text=True)


def csrf_token(client, url):
    page = client.get(url)
    assert page.status_code == 200, (url, page.status_code)
    tag = re.search(r'<input[^>]*name="csrf_token"[^>]*>', text(page))
    return re.search(r'value="([^"]+)"', tag.group(0)).group(1)


@pytest.fixture
def csrf_app(app_factory):
    return app_factory(WTF_CSRF_ENABLED=True)


@pytest.fixture
def registrar(csrf_app):
    client = csrf_app.test_client()
    with csrf_app.app_context():
        from models import db
        with db.connection_context():
            accounts.create_or_reset_admin("office", "Desk-pass-2026")
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"login": "office", "password": "Desk-pass-2026",
                                           "csrf_token": token})
    # A first staff login enrols the second factor.
    assert response.headers["Location"] == "/login/enrol"
    token = csrf_token(client, "/login/enrol")
    with csrf_app.app_context():
        code = second_factor_code("office")
    enrolled = client.post("/login/enrol", data={"code": code, "csrf_token": token})
    assert enrolled.status_code == 200, text(enrolled)
    return client


def big_enrollment_csv(min_bytes: int) -> tuple[bytes, int]:
    """Valid 学籍 rows (each its own 学号 and ID number) until the file passes `min_bytes`."""
    rows, start = [], datetime.date(1995, 1, 1)
    per_row = len(csv_bytes([enrollment()])) // 2
    for n in range(min_bytes // per_row + 100):
        birth = start + datetime.timedelta(days=n // 400)
        rows.append(enrollment(**{"证件号码": resident_id(f"{birth:%Y%m%d}", (n % 400) * 2 + 1),
                                  "出生日期": birth.isoformat(), "学号": f"S{n:08d}"}))
    data = csv_bytes(rows)
    assert len(data) > min_bytes
    return data, len(rows)


def test_a_5_mb_import_passes_csrf_and_is_imported(registrar, db):
    data, count = big_enrollment_csv(5 * MB)
    token = csrf_token(registrar, "/admin/import")
    response = registrar.post("/admin/import", content_type="multipart/form-data", data={
        "csrf_token": token, "kind": "enrollment", "table": (io.BytesIO(data), "big.csv")})
    assert response.status_code == 200, text(response)[:2000]
    assert Enrollment.select().count() == 0  # the preview writes nothing
    commit = re.search(r'action="(/admin/imports/[^"]+/commit)"', text(response)).group(1)
    done = registrar.post(commit, data={"csrf_token": token})
    assert done.status_code == 303, text(done)[:2000]
    assert Enrollment.select().count() == count


def test_an_import_over_50_mb_is_413_naming_50_mb(registrar):
    token = csrf_token(registrar, "/admin/import")
    response = registrar.post("/admin/import", content_type="multipart/form-data", data={
        "csrf_token": token, "kind": "enrollment",
        "table": (io.BytesIO(b"x" * (52 * MB)), "big.csv")})
    assert response.status_code == 413
    assert "50 MB" in text(response) and "2 MB" not in text(response)


def test_the_import_limit_is_raised_for_registrars_only(csrf_app):
    """An anonymous post to the import page never gets the 50 MB allowance."""
    client = csrf_app.test_client()
    response = client.post("/admin/import", content_type="multipart/form-data", data={
        "kind": "enrollment", "table": (io.BytesIO(b"x" * (6 * MB)), "big.csv")})
    assert response.status_code == 413
    assert "4 MB" in text(response) and "50 MB" not in text(response)


def test_an_oversized_appeal_photo_names_the_photo_limit(csrf_app):
    client = csrf_app.test_client()
    response = client.post("/register/appeal", content_type="multipart/form-data", data={
        "real_name": "王𠮷", "id_type": "居民身份证", "id_number": "11010519491231002X",
        "contact_email": "wang@example.com", "photo": (io.BytesIO(b"x" * (5 * MB)), "p.png")})
    assert response.status_code == 413
    assert "2 MB" in text(response) and "50 MB" not in text(response)


def test_an_oversized_verify_pdf_names_its_limit(csrf_app):
    client = csrf_app.test_client()
    response = client.post("/verify/pdf", content_type="multipart/form-data",
                           data={"pdf": (io.BytesIO(b"x" * (5 * MB)), "r.pdf")})
    assert response.status_code == 413 and "2 MB" in text(response)


def test_an_oversized_post_elsewhere_names_the_site_limit_not_a_photo(csrf_app):
    client = csrf_app.test_client()
    response = client.post("/login", data={"login": "x" * (5 * MB), "password": "y"})
    assert response.status_code == 413
    assert "4 MB" in text(response) and "照片" not in text(response)


def test_the_413_is_in_english_for_english_readers(csrf_app):
    client = csrf_app.test_client()
    client.set_cookie("lang", "en")
    response = client.post("/register/appeal", content_type="multipart/form-data", data={
        "photo": (io.BytesIO(b"x" * (5 * MB)), "p.png")})
    assert response.status_code == 413 and "2 MB" in text(response)
    assert "too large" in text(response)
