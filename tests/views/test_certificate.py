"""报告签名证书 (管理员): rotate the signing certificate; reports signed before
still verify as the school's on /verify/pdf, new ones are signed with the new one."""
import io

import pytest

from models import Account, AuditEntry, Report, SigningCertificate
from services import pdf, signing
from tests.factories import PASSWORD, ec_signing_pair, signed_in_staff

HX = {"HX-Request": "true"}


def text(response):
    return response.get_data(as_text=True)


@pytest.fixture
def admin(app, db):
    return signed_in_staff(app, "root", Account.ADMIN)


@pytest.fixture
def student(app, make_account, make_record):
    owner = make_account(username="zhang@example.edu.cn", real_name="张三")
    diploma = make_record("diploma", account=owner.id)
    client = app.test_client()
    assert client.post("/login", data={"login": "zhang@example.edu.cn",
                                       "password": PASSWORD}).status_code == 303
    return client, diploma


def issue(student, months="3"):
    """A report issued through the student's pages; its PDF as downloaded."""
    client, diploma = student
    Report.update(closed_at=Report.issued_at).where(Report.closed_at.is_null()).execute()
    response = client.post(f"/reports/new/diploma/{diploma.id}", data={"months": months})
    assert response.status_code == 303, text(response)
    report = Report.select().order_by(Report.id.desc()).get()
    return report, client.get(f"/reports/{report.id}/pdf").data


def upload(client, key_pem, cert_pem, headers=None):
    return client.post("/admin/settings/certificate", headers=headers or {},
                       content_type="multipart/form-data",
                       data={"certificate": (io.BytesIO(cert_pem), "school.crt"),
                             "private_key": (io.BytesIO(key_pem), "school.key")})


def check(app, data):
    return app.test_client().post("/verify/pdf", data={"pdf": (io.BytesIO(data), "r.pdf")},
                                  content_type="multipart/form-data")


def test_the_page_shows_the_certificate_in_use(app, admin):
    keys = app.extensions["school_keys"]
    page = text(admin.get("/admin/settings/certificate"))
    assert page.startswith("<!doctype html>") and keys.fingerprint_sha256.upper() in page
    assert '<label for="private-key">' in page and "生成并换用新证书" in page
    fragment = text(admin.get("/admin/settings/certificate", headers=HX))
    assert "<html" not in fragment and 'id="admin-certificate"' in fragment


def test_rotation_keeps_old_pdfs_genuine_and_signs_new_ones_with_the_new_key(app, admin, student):
    old_keys = app.extensions["school_keys"]
    _old_report, old_pdf = issue(student)
    key_pem, cert_pem = ec_signing_pair()
    response = upload(admin, key_pem, cert_pem)
    assert response.status_code == 303 and response.headers["Location"] == "/admin/settings/certificate"
    new_keys = signing.check_pair(key_pem, cert_pem)
    entry = AuditEntry.get(AuditEntry.action == "signing.rotated")
    assert entry.actor == "root" and new_keys.fingerprint_sha256 in entry.detail
    page = text(admin.get("/admin/settings/certificate"))
    assert new_keys.fingerprint_sha256.upper() in page and old_keys.fingerprint_sha256.upper() in page

    # Issued before the rotation: still ours.
    before = check(app, old_pdf)
    assert before.status_code == 200 and "签名有效" in text(before)
    # Issued now: signed with the new certificate, checked as ours too.
    _new_report, new_pdf = issue(student)
    assert pdf.check_pdf(new_pdf, new_keys).by_school
    assert pdf.check_pdf(new_pdf, old_keys).problem == pdf.NOT_OURS
    after = check(app, new_pdf)
    assert after.status_code == 200 and "签名有效" in text(after)

    # The current certificate for download, the retired one listed and served too.
    current = app.test_client().get("/verify/certificate")
    assert current.data.strip() == cert_pem.strip()
    listing = text(app.test_client().get("/verify/certificates"))
    assert old_keys.fingerprint_sha256.upper() in listing and "停用" in listing
    retired = app.test_client().get(f"/verify/certificate/{old_keys.fingerprint_sha256}")
    assert retired.status_code == 200 and retired.data.strip() == old_keys.cert_pem.strip()
    assert app.test_client().get(f"/verify/certificate/{'0' * 64}").status_code == 404
    assert app.test_client().get("/verify/certificate/x").status_code == 404


def test_a_key_that_does_not_match_is_refused(app, admin):
    key_pem, _cert = ec_signing_pair()
    _key, cert_pem = ec_signing_pair()
    for headers in ({}, HX):
        response = upload(admin, key_pem, cert_pem, headers)
        page = text(response)
        assert response.status_code == 422 and ("<html" in page) == (not headers)
        assert "私钥与证书不匹配" in page.split('id="private-key-error">', 1)[1].split("</p>")[0]
    assert SigningCertificate.select().count() == 0
    assert not AuditEntry.select().where(AuditEntry.action == "signing.rotated").exists()


def test_not_a_certificate_and_missing_files_are_refused_beside_their_field(admin):
    key_pem, _cert = ec_signing_pair()
    response = upload(admin, key_pem, b"not a certificate")
    assert response.status_code == 422
    assert "PEM" in text(response).split('id="certificate-error">', 1)[1].split("</p>")[0]
    empty = admin.post("/admin/settings/certificate", data={},
                       content_type="multipart/form-data")
    assert empty.status_code == 422 and "请选择证书文件" in text(empty)
    assert SigningCertificate.select().count() == 0


def test_the_generate_button_makes_a_new_self_signed_pair(app, admin):
    unconfirmed = admin.post("/admin/settings/certificate/generate", data={})
    assert unconfirmed.status_code == 422 and "请先勾选确认" in text(unconfirmed)
    assert SigningCertificate.select().count() == 0
    done = admin.post("/admin/settings/certificate/generate", data={"confirm": "y"}, headers=HX)
    assert done.status_code == 200 and done.headers["HX-Redirect"] == "/admin/settings/certificate"
    current = SigningCertificate.get(SigningCertificate.retired_at.is_null())
    assert "示范大学" in current.subject
    assert current.fingerprint != app.extensions["school_keys"].fingerprint_sha256
