"""A verifier who reads no Chinese reads every value of a report: /verify/<code>,
the API and the PDF (services.values), and reports issued before value_en."""
import io
import json
import re

import pytest
from pypdf import PdfReader

from models import MajorName, Report
from services import files, reports
from tests.factories import report_renderer

HX = {"HX-Request": "true"}
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def text(response):
    return response.get_data(as_text=True)


def record_part(html):
    """The record on the verify page: photo and facts (the <div class="record">)."""
    match = re.search(r'<div class="record">(.*?)</div>\s*<p class="actions">', html, re.S)
    assert match, html
    return match.group(1)


@pytest.fixture
def diploma(owner, make_record, db):
    MajorName.create(major="汉语言文学", english="Chinese Language and Literature", updated_by="t")
    return make_record("diploma", account=owner.id, duration="4", study_mode="普通全日制",
                       education_category="普通高等教育", school_name="示范学院",
                       admission_date="2015-09-01", president="李明")


def test_new_reports_are_version_2_with_english_values(report):
    snapshot = reports.snapshot_of(report)
    assert snapshot["version"] == 2
    by_key = {item["key"]: item for item in snapshot["fields"]}
    assert all("value_en" in item for item in snapshot["fields"])
    assert by_key["gender"]["value_en"] == "Female"
    assert by_key["level"]["value_en"] == "Undergraduate (Bachelor's level)"
    assert by_key["duration"]["value"] == "4 年" and by_key["duration"]["value_en"] == "4 years"
    # A former name of the school (SCHOOL_NAMES) reads as its English name.
    assert by_key["school_name"]["value_en"] == "Demonstration University"
    assert by_key["name"]["value_en"] == "ZHANG San"


@pytest.mark.parametrize("headers", [{}, HX])
def test_verify_in_english_has_no_chinese_in_the_record(app, report, headers):
    verifier = app.test_client()
    verifier.set_cookie("lang", "en")
    page = verifier.get(f"/verify/{report.code}", headers=headers)
    assert page.status_code == 200
    part = record_part(text(page))
    assert not CJK.findall(part), sorted(set(re.findall(r"[^<>\n]*" + CJK.pattern + r"[^<>\n]*", part)))
    for english in ("ZHANG San", "Female", "Undergraduate (Bachelor&#39;s level)", "Full-time",
                    "Regular higher education", "Graduated", "4 years", "LI Ming",
                    "Demonstration University", "Chinese Language and Literature", "2019-07-01"):
        assert english in part, english


@pytest.mark.parametrize("headers", [{}, HX])
def test_verify_in_chinese_shows_both(app, report, headers):
    page = text(app.test_client().get(f"/verify/{report.code}", headers=headers))
    part = record_part(page)
    assert '女 <span lang="en">Female</span>' in part
    assert '本科 <span lang="en">Undergraduate (Bachelor&#39;s level)</span>' in part
    assert '4 年 <span lang="en">4 years</span>' in part
    # Same in both languages: no English repeated beside it.
    assert '<dd>2019-07-01</dd>' in part


def test_api_has_value_and_value_en(app, report):
    body = app.test_client().get(f"/api/v1/reports/{report.code}").json
    fields = {item["key"]: item for item in body["fields"]}
    assert all({"value", "value_en"} <= set(item) for item in body["fields"])
    assert (fields["gender"]["value"], fields["gender"]["value_en"]) == ("女", "Female")
    assert fields["major"]["value_en"] == "Chinese Language and Literature"
    assert fields["graduation_date"]["value_en"] == fields["graduation_date"]["value"] == "2019-07-01"


def test_api_after_a_change_computes_the_english_anew(app, report, diploma, db):
    diploma.completion = "结业"
    diploma.updated_at = diploma.updated_at.replace(year=diploma.updated_at.year + 1)
    diploma.save()
    body = app.test_client().get(f"/api/v1/reports/{report.code}").json
    fields = {item["key"]: item for item in body["fields"]}
    assert body["changed_since_issue"] is True
    assert fields["completion"]["value_en"] == "Completed (without graduation)"


def test_pdf_text_has_the_english_values(signed_in, report):
    pdf = signed_in.get(f"/reports/{report.id}/pdf").data
    page = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    for english in ("Female", "Undergraduate", "Demonstration University", "Graduated",
                    "4 years", "Full-time", "ZHANG San"):
        assert english in page, english


def _make_version_1(app, report):
    """Turn a report into one issued before value_en: the snapshot and its signed PDF."""
    snapshot = reports.snapshot_of(report)
    snapshot["version"] = 1
    for item in snapshot["fields"]:
        del item["value_en"]
        if item["key"] == "duration":
            item["value"] = "4"
    Report.update(snapshot=json.dumps(snapshot, ensure_ascii=False, sort_keys=True)).where(
        Report.id == report.id).execute()
    return report_renderer(app)(snapshot)


def test_version_1_report_still_verifies_and_reads_in_english(app, report, db):
    pdf = _make_version_1(app, report)
    verifier = app.test_client()
    checked = verifier.post("/verify/pdf", data={"pdf": (io.BytesIO(pdf), "r.pdf")},
                            content_type="multipart/form-data")
    assert checked.status_code == 200, text(checked)
    assert "签名有效" in text(checked)

    verifier.set_cookie("lang", "en")
    part = record_part(text(verifier.get(f"/verify/{report.code}")))
    assert not CJK.search(part)
    assert "Female" in part and "4 years" in part and "ZHANG San" in part
    assert "Demonstration University" in part

    body = verifier.get(f"/api/v1/reports/{report.code}").json
    fields = {item["key"]: item for item in body["fields"]}
    assert fields["level"]["value_en"] == "Undergraduate (Bachelor's level)"
    assert fields["duration"]["value"] == "4" and fields["duration"]["value_en"] == "4 years"
    # The stored snapshot is as issued (the PDF check compares it with the PDF's).
    assert "value_en" not in json.dumps(reports.snapshot_of(Report.get_by_id(report.id)))


def test_enrollment_with_photo_and_ethnicity_in_english(app, signed_in, owner, make_record, db):
    from PIL import Image
    photo = io.BytesIO()
    Image.new("RGB", (30, 40), (90, 120, 160)).save(photo, "JPEG")
    files.put("photos/enrollment/1.jpg", photo.getvalue())
    MajorName.create(major="汉语言文学", english="Chinese Language and Literature", updated_by="t")
    record = make_record("enrollment", account=owner.id, photo="photos/enrollment/1.jpg",
                         ethnicity="维吾尔族", study_mode="函授", duration="3.5")
    response = signed_in.post(f"/reports/new/enrollment/{record.id}", data={"months": "1"})
    assert response.status_code == 303, text(response)
    verifier = app.test_client()
    verifier.set_cookie("lang", "en")
    part = record_part(text(verifier.get(f"/verify/{Report.get().code}")))
    assert 'alt="Admission photo"' in part and not CJK.search(part)
    for english in ("Uyghur", "Correspondence", "3.5 years", "Not enrolled (graduated)",
                    "Resident Identity Card", "1101**********002X"):
        assert english in part, english
