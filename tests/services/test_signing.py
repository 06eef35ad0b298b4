"""Rotating the school's signing certificate: checks on the uploaded pair, the
current pair for every process, retired certificates kept for old PDFs."""
import pytest

from models import AuditEntry, SigningCertificate
from services import pdf, signing
from tests.factories import ec_signing_pair, report_renderer, sample_snapshot


@pytest.fixture
def disk_keys(app):
    return app.extensions["school_keys"]


def test_a_matching_pair_is_accepted(app, db):
    key_pem, cert_pem = ec_signing_pair()
    keys = signing.check_pair(key_pem, cert_pem)
    assert keys.cert_pem.strip() == cert_pem.strip()


@pytest.mark.parametrize("which, field, words", [
    ("mismatch", "private_key", "不匹配"),
    ("bad_cert", "certificate", "PEM"),
    ("bad_key", "private_key", "PEM"),
    ("expired", "certificate", "过期"),
])
def test_bad_pairs_are_refused_beside_their_field(app, db, which, field, words):
    key_pem, cert_pem = ec_signing_pair()
    other_key, _other_cert = ec_signing_pair()
    if which == "mismatch":
        key_pem = other_key
    elif which == "bad_cert":
        cert_pem = b"-----BEGIN CERTIFICATE-----\nnonsense\n-----END CERTIFICATE-----\n"
    elif which == "bad_key":
        key_pem = b"hello"
    else:
        key_pem, cert_pem = ec_signing_pair(days=-2)
    with pytest.raises(signing.SigningError) as caught:
        signing.check_pair(key_pem, cert_pem)
    assert caught.value.field == field and words in str(caught.value)


def test_rotation_keeps_the_old_certificate_and_signs_with_the_new(app, db, disk_keys):
    assert signing.active(disk_keys) is disk_keys and signing.history() == []
    key_pem, cert_pem = ec_signing_pair()
    signing.rotate(key_pem, cert_pem, current=disk_keys, actor="root", ip="10.0.0.1")
    now = signing.active(disk_keys)
    assert now.cert_pem.strip() == cert_pem.strip()
    rows = signing.history()
    assert [row.retired_at is None for row in rows] == [True, False]
    assert rows[1].fingerprint == disk_keys.fingerprint_sha256
    # The retired row keeps no key; the current one keeps it encrypted at rest.
    assert SigningCertificate.get_by_id(rows[1].id).private_key is None
    raw = SigningCertificate.select(SigningCertificate.private_key).where(
        SigningCertificate.id == rows[0].id).tuples().get()
    assert db.execute_sql("select private_key from signingcertificate where id = ?",
                          (rows[0].id,)).fetchone()[0].startswith("v1:")
    assert raw[0].startswith("-----BEGIN PRIVATE KEY-----")
    entry = AuditEntry.get(AuditEntry.action == "signing.rotated")
    assert entry.actor == "root" and entry.changes == {"settings": {"SIGNING_CERTIFICATE": [
        disk_keys.fingerprint_sha256, now.fingerprint_sha256]}}
    trusted = signing.trusted_certificates(now)
    assert {c.sha256.hex() for c in trusted} == {disk_keys.fingerprint_sha256,
                                                now.fingerprint_sha256}


def test_the_pair_in_use_or_a_retired_one_cannot_come_back(app, db, disk_keys):
    key_pem, cert_pem = ec_signing_pair()
    signing.rotate(key_pem, cert_pem, current=disk_keys, actor="root")
    with pytest.raises(signing.SigningError, match="现在使用"):
        signing.rotate(key_pem, cert_pem, current=disk_keys, actor="root")
    second = ec_signing_pair()
    signing.rotate(*second, current=disk_keys, actor="root")
    with pytest.raises(signing.SigningError, match="停用"):
        signing.rotate(key_pem, cert_pem, current=disk_keys, actor="root")
    assert SigningCertificate.select().count() == 3


def test_a_pdf_signed_before_the_rotation_still_checks_as_ours(app, db, disk_keys):
    old_pdf = report_renderer(app)(sample_snapshot())
    signing.rotate(*ec_signing_pair(), current=disk_keys, actor="root")
    now = signing.active(disk_keys)
    # Against the current certificate alone it would read as someone else's.
    assert pdf.check_pdf(old_pdf, now).problem == pdf.NOT_OURS
    check = pdf.check_pdf(old_pdf, now, signing.trusted_certificates(now))
    assert check.ok and check.by_school
    new_pdf = pdf.render_report(sample_snapshot(), now)
    assert pdf.check_pdf(new_pdf, now).ok
    assert pdf.check_pdf(new_pdf, disk_keys).problem == pdf.NOT_OURS


def test_the_report_pdf_shows_the_school_time_zone_and_logo(app):
    snapshot = sample_snapshot()  # issued 2026-11-28T12:00:00Z
    keys = app.extensions["school_keys"]
    shanghai = pdf.render_html(snapshot, keys)
    assert "2026-11-28 20:00" in shanghai and "(UTC+8)" in shanghai and 'class="logo"' not in shanghai
    look = pdf.Look(timezone="America/New_York", logo=("image/png", b"\x89PNG fake"))
    new_york = pdf.render_html(snapshot, keys, look)
    assert "2026-11-28 07:00" in new_york and "(UTC-5)" in new_york
    assert 'class="logo" src="data:image/png;base64,' in new_york
    assert "(UTC+5:30)" in pdf.render_html(snapshot, keys, pdf.Look(timezone="Asia/Kolkata"))
