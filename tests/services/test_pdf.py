"""Report PDF: real rendering and signing, and the offline check of such files."""
import base64
import hashlib
import io
import json
import os
import re
import stat

import pytest
from PIL import Image
from pypdf import PdfReader, PdfWriter

from services import pdf, signing
from tests.factories import sample_snapshot

SCHOOL, SCHOOL_EN = "示范大学", "Demonstration University"


def sample_photo(colour=(235, 200, 170)) -> bytes:
    image = Image.new("RGB", (300, 400), (70, 110, 170))
    image.paste(colour, (95, 70, 205, 200))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    return signing.load_or_create(tmp_path_factory.mktemp("keys"), SCHOOL, SCHOOL_EN)


@pytest.fixture(scope="module")
def snapshot():
    return sample_snapshot(sample_photo())


@pytest.fixture(scope="module")
def report(snapshot, keys):
    return pdf.render_report(snapshot, keys)


@pytest.fixture(scope="module")
def text(report):
    return PdfReader(io.BytesIO(report)).pages[0].extract_text()


def test_is_one_page_pdf(report):
    assert report.startswith(b"%PDF-1.7")
    assert len(PdfReader(io.BytesIO(report)).pages) == 1


def test_text_is_extractable(text):
    for expected in ("买买提·艾力", "王𠮷", "䶮", "示范大学 学历证书电子注册备案表",
                     "计算机科学与技术（中外合作办学）", "ABCD 2345 EFGH 6789",
                     "姓名 Name", "Valid until", "有效期至", "更新日期",
                     "http://127.0.0.1:8000/verify/certificate"):
        assert expected in text
    assert "教育部" not in text and "Ministry" not in text


def test_values_read_in_english_too(text):
    """Snapshot version 2: each value's English beside it (services.values)."""
    for expected in ("女 Female", "Undergraduate (Bachelor's level)", "Demonstration University",
                     "4 年 4 years", "Full-time", "Regular higher education", "Graduated",
                     "MAIMAITI AILI", "LI Ming"):
        assert expected in text, expected
    assert "2003-05-17 2003-05-17" not in text      # no English repeated when it is the same


def test_version_1_snapshot_still_renders_on_one_page(keys):
    old = pdf.render_unsigned(sample_snapshot(version=1), keys)
    page = PdfReader(io.BytesIO(old)).pages
    assert len(page) == 1 and "Female" not in page[0].extract_text()


def test_fonts_are_embedded_subsets(report):
    reader = PdfReader(io.BytesIO(report))
    fonts = reader.pages[0]["/Resources"]["/Font"]
    assert fonts
    for font in fonts.values():
        descendant = font.get_object()["/DescendantFonts"][0].get_object()
        descriptor = descendant["/FontDescriptor"].get_object()
        assert re.match(r"/?[A-Z]{6}\+Noto-", descriptor["/FontName"])  # a subset
        assert "/FontFile3" in descriptor or "/FontFile2" in descriptor


def test_fonts_are_bare_compact_cff(report, keys):
    """One face, embedded as a bare CFF of the glyphs used (not ~60,000 empty slots)."""
    fonts = PdfReader(io.BytesIO(report)).pages[0]["/Resources"]["/Font"]
    assert len(fonts) == 1
    for font in fonts.values():
        descendant = font.get_object()["/DescendantFonts"][0].get_object()
        program = descendant["/FontDescriptor"]["/FontFile3"].get_object()
        assert program["/Subtype"] == "/CIDFontType0C" and len(program.get_data()) < 60_000


def test_a_character_no_font_has_keeps_the_font_compact(keys):
    """王𪚥: no installed font draws 𪚥 (it shows as a box); the font stays compact."""
    snapshot = sample_snapshot()
    snapshot["fields"][0]["value"] = "王𪚥"
    data = pdf.render_report(snapshot, keys)
    for font in PdfReader(io.BytesIO(data)).pages[0]["/Resources"]["/Font"].values():
        descendant = font.get_object()["/DescendantFonts"][0].get_object()
        assert descendant["/FontDescriptor"]["/FontFile3"].get_object()["/Subtype"] == \
            "/CIDFontType0C"
    assert len(data) < 60 * 1024 and pdf.check_pdf(data, keys).ok


def test_signed_by_the_school(report, keys):
    check = pdf.check_pdf(report, keys)
    assert (check.signed, check.intact, check.by_school) == (True, True, True)
    assert check.problem is None and check.ok


def test_signature_is_pades(report):
    from pyhanko.pdf_utils.reader import PdfFileReader
    signature = PdfFileReader(io.BytesIO(report)).embedded_signatures[0]
    assert signature.field_name == "SchoolSignature"
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert SCHOOL in signature.sig_object["/Reason"]


def test_attached_snapshot_equals_input(report, keys, snapshot):
    assert pdf.check_pdf(report, keys).snapshot == snapshot
    attachments = PdfReader(io.BytesIO(report)).attachments
    attached = json.loads(attachments["report.json"][0].decode("utf-8"))
    # The photo is in the file once: report.json names the page's JPEG by its SHA-256.
    photo = base64.b64decode(snapshot["photo"]["jpeg_base64"])
    assert attached["photo"] == {"zh": snapshot["photo"]["zh"], "en": snapshot["photo"]["en"],
                                 "jpeg_sha256": hashlib.sha256(photo).hexdigest()}
    assert {**attached, "photo": snapshot["photo"]} == snapshot
    assert photo in report and report.count(snapshot["photo"]["jpeg_base64"][:40].encode()) == 0


def test_snapshot_without_its_photo_image_does_not_match(keys, snapshot):
    """report.json names a photo the page does not show: the snapshot keeps the
    bare hash, so it matches no stored report (views.verify compares them)."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf.render_unsigned(snapshot, keys))))
    del writer.root_object["/Names"]
    other = pdf.attached_form(dict(snapshot, photo=dict(snapshot["photo"], jpeg_base64=(
        base64.b64encode(sample_photo(colour=(10, 200, 10))).decode("ascii")))))
    writer.add_attachment("report.json", json.dumps(other).encode("utf-8"))
    out = io.BytesIO()
    writer.write(out)
    check = pdf.check_pdf(pdf.sign(out.getvalue(), snapshot, keys), keys)
    assert check.ok and check.snapshot["photo"] == other["photo"]
    assert check.snapshot != snapshot


def test_a_page_tree_that_loops_is_no_trap(report, keys):
    """Looking for the photo walks the page tree of an uploaded file, whatever its
    signature says: a loop in it ends the walk instead of the check."""
    writer = PdfWriter(io.BytesIO(report), incremental=True)
    writer.root_object["/Pages"]["/Kids"].append(writer.root_object.raw_get("/Pages"))
    out = io.BytesIO()
    writer.write(out)
    check = pdf.check_pdf(out.getvalue(), keys)
    assert not check.ok and check.problem == pdf.TAMPERED


def test_photo_that_is_not_kept_as_it_is_goes_into_report_json(keys):
    """A JPEG WeasyPrint re-encodes (one turned by its EXIF orientation) is carried
    in report.json as before: the page does not hold its bytes."""
    image = Image.new("RGB", (30, 40), (200, 10, 10))
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90° when shown
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    snapshot = sample_snapshot(out.getvalue())
    data = pdf.render_report(snapshot, keys)
    assert out.getvalue() not in data
    attached = json.loads(PdfReader(io.BytesIO(data)).attachments["report.json"][0])
    assert attached == snapshot and pdf.check_pdf(data, keys).snapshot == snapshot


def test_pdfa_3b_identification(report):
    xmp = PdfReader(io.BytesIO(report)).trailer["/Root"]["/Metadata"].get_object().get_data()
    assert b'pdfaid:part="3"' in xmp or b"<pdfaid:part>3</pdfaid:part>" in xmp
    assert b'pdfaid:conformance="B"' in xmp or b"<pdfaid:conformance>B" in xmp


def test_flipped_byte_in_signed_range_is_detected(report, keys):
    # Inside the page content, well before the signature's /Contents.
    position = report.index(b"stream", len(report) // 3) + 20
    tampered = bytearray(report)
    tampered[position] ^= 0x01
    check = pdf.check_pdf(bytes(tampered), keys)
    assert check.signed and not check.intact and not check.by_school
    assert check.problem == pdf.TAMPERED


def test_appended_update_is_not_intact(report, keys):
    writer = PdfWriter(io.BytesIO(report), incremental=True)
    writer.add_metadata({"/Title": "changed"})
    out = io.BytesIO()
    writer.write(out)
    check = pdf.check_pdf(out.getvalue(), keys)
    assert not check.intact and check.problem == pdf.TAMPERED


def test_other_key_is_not_the_school(snapshot, keys, tmp_path):
    impostor = signing.load_or_create(tmp_path / "other", SCHOOL, SCHOOL_EN)
    forged = pdf.render_report(snapshot, impostor)
    check = pdf.check_pdf(forged, keys)
    assert check.signed and check.intact and not check.by_school
    assert check.problem == pdf.NOT_OURS


def test_missing_snapshot_is_reported(keys):
    # Signed by the school but without the attachment: drop it before signing.
    unsigned = PdfWriter(clone_from=PdfReader(io.BytesIO(
        pdf.render_unsigned(sample_snapshot(), keys))))
    del unsigned.root_object["/Names"]
    out = io.BytesIO()
    unsigned.write(out)
    signed = pdf.sign(out.getvalue(), sample_snapshot(), keys)
    check = pdf.check_pdf(signed, keys)
    assert check.by_school and check.snapshot is None and check.problem == pdf.NO_DATA


@pytest.mark.parametrize("data", [
    b"",
    b"hello",
    os.urandom(4096),
    b"%PDF-1.7\n" + os.urandom(2048),
    b"%PDF-1.7\n%%EOF",
])
def test_garbage_gives_a_problem(keys, data):
    check = pdf.check_pdf(data, keys)
    assert not check.signed and check.problem in (pdf.NOT_PDF, pdf.UNSIGNED)


def test_truncated_report_gives_a_problem(report, keys):
    for length in (100, len(report) // 2, len(report) - 100):
        check = pdf.check_pdf(report[:length], keys)
        assert check.problem is not None and not check.ok


def test_unsigned_pdf(keys):
    check = pdf.check_pdf(pdf.render_unsigned(sample_snapshot(), keys), keys)
    assert not check.signed and check.problem == pdf.UNSIGNED


def test_encrypted_pdf(report, keys):
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(report)))
    writer.encrypt("secret", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    check = pdf.check_pdf(out.getvalue(), keys)
    assert not check.ok and check.problem is not None


def test_key_is_created_once_and_private(tmp_path):
    first = signing.load_or_create(tmp_path, SCHOOL, SCHOOL_EN)
    second = signing.load_or_create(tmp_path, "别的名字", "Another name")
    assert first.fingerprint_sha256 == second.fingerprint_sha256
    assert first.cert_pem == second.cert_pem
    assert stat.S_IMODE((tmp_path / signing.KEY_FILE).stat().st_mode) == 0o600
    assert first.cert_pem.startswith(b"-----BEGIN CERTIFICATE-----")


def test_certificate_names_the_school(keys):
    from cryptography import x509
    from cryptography.x509.oid import NameOID
    cert = x509.load_der_x509_certificate(keys.cert_der)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == SCHOOL
    assert cert.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value == "CN"
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment
    assert (cert.not_valid_after_utc - cert.not_valid_before_utc).days >= 3650


def test_school_supplied_pair_is_used(tmp_path, keys):
    supplied = signing.load_or_create(tmp_path / "made", SCHOOL, SCHOOL_EN)
    target = tmp_path / "instance"
    target.mkdir()
    for name in (signing.KEY_FILE, signing.CERT_FILE):
        (target / name).write_bytes((tmp_path / "made" / name).read_bytes())
    assert signing.load_or_create(target, SCHOOL, SCHOOL_EN).fingerprint_sha256 == \
        supplied.fingerprint_sha256


def test_mismatched_pair_is_refused(tmp_path):
    signing.load_or_create(tmp_path / "a", SCHOOL, SCHOOL_EN)
    signing.load_or_create(tmp_path / "b", SCHOOL, SCHOOL_EN)
    (tmp_path / "a" / signing.CERT_FILE).write_bytes(
        (tmp_path / "b" / signing.CERT_FILE).read_bytes())
    with pytest.raises(ValueError):
        signing.load_or_create(tmp_path / "a", SCHOOL, SCHOOL_EN)


def test_certificate_without_its_key_is_refused(tmp_path):
    signing.load_or_create(tmp_path, SCHOOL, SCHOOL_EN)
    (tmp_path / signing.KEY_FILE).unlink()
    with pytest.raises(RuntimeError):
        signing.load_or_create(tmp_path, SCHOOL, SCHOOL_EN)


def test_without_photo(keys):
    data = pdf.render_report(sample_snapshot(), keys)
    check = pdf.check_pdf(data, keys)
    assert check.ok and check.snapshot["photo"] is None


def test_long_values_and_many_fields_stay_on_one_page(keys):
    snapshot = sample_snapshot(sample_photo())
    snapshot["fields"] += [dict(snapshot["fields"][6], key=f"extra{i}") for i in range(4)]
    snapshot["fields"][6]["value"] = "计算机科学与技术（中外合作办学）" * 3
    data = pdf.render_report(snapshot, keys)
    assert len(PdfReader(io.BytesIO(data)).pages) == 1
