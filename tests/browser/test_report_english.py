"""A report for a reader abroad, in real Chromium and in English: the student
switches the portal to English and issues a report; a verifier who reads no Chinese
opens /verify/<code> in English and reads the values in English, and so does the
text of the PDF they download (services.values)."""
import io
import re

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

import models
from demo import LI_HUA
from tests.factories import PASSWORD

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
ENGLISH_VALUES = ("LI Hua", "Female", "Undergraduate (Bachelor's level)", "Full-time",
                  "Regular higher education", "Graduated", "4 years", "Demonstration University")


@pytest.fixture
def li_hua(live_server, demo_data, make_account, log_in, page):
    """李华, whose major has an English name in the registrar's table."""
    with live_server.app.app_context(), models.db.connection_context():
        models.MajorName.get_or_create(major="汉语言文学", defaults={
            "english": "Chinese Language and Literature", "updated_by": "office"})
    make_account(username=LI_HUA.username, real_name=LI_HUA.name, id_number=LI_HUA.id_number,
                 phone=LI_HUA.phone)
    log_in(LI_HUA.username, PASSWORD)
    expect(page.get_by_role("status")).to_have_text(f"欢迎回来，{LI_HUA.name}。")
    return LI_HUA


def test_report_in_english_for_a_verifier_abroad(page, verifier_page, li_hua):
    # The student reads the portal in English (the language switch in the header).
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")

    page.goto("/records/")
    page.locator("#section-diploma").get_by_role("link").click()
    page.get_by_role("link", name="Request an online verification report").click()
    page.get_by_label("3 months", exact=True).check()
    page.get_by_role("button", name="Create report").click()
    expect(page).to_have_url(re.compile(r"/reports/\d+$"))
    code = page.locator("#report-code").text_content().replace(" ", "")

    # A verifier abroad: English from the first page, no account.
    verifier = verifier_page
    verifier.goto("/verify/")
    verifier.get_by_role("button", name="English").click()
    expect(verifier.locator("html")).to_have_attribute("lang", "en")
    response = verifier.goto(f"/verify/{code}")
    assert response.status == 200
    record = verifier.locator("#verify .record")
    for value in ENGLISH_VALUES:
        expect(record).to_contain_text(value)
    assert not CJK.findall(record.inner_text()), record.inner_text()

    with verifier.expect_download() as download:
        verifier.get_by_role("link", name="Download report PDF").click()
    with open(download.value.path(), "rb") as pdf:
        text = PdfReader(io.BytesIO(pdf.read())).pages[0].extract_text()
    for value in ENGLISH_VALUES:
        assert value in text, value
    assert "李华" in text and "本科" in text           # the Chinese stays beside them
