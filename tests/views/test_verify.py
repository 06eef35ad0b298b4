"""核对证件号码 on the verifier's page (/verify/<code>/match), the masked ID number on
the page and in the PDF check, and the issue form's choice of a full number."""
import io
import re
import time

import pytest
from pypdf import PdfReader

from models import Report, Verification, utcnow
from services import id_match
from tests.factories import EXAMPLE_ID, run_together

HX = {"HX-Request": "true"}
MASKED = "1101**********002X"
OTHER_ID = "440524188001010014"


def text(response):
    return response.get_data(as_text=True)


@pytest.fixture
def enrollment(owner, make_record):
    return make_record("enrollment", account=owner.id, id_type="居民身份证")


def _issue(signed_in, record, kind="enrollment", **data):
    response = signed_in.post(f"/reports/new/{kind}/{record.id}", data={"months": "3", **data})
    assert response.status_code == 303, text(response)
    return Report.select().order_by(Report.id.desc()).get()


@pytest.fixture
def report(signed_in, enrollment, db):
    return _issue(signed_in, enrollment)


def _match(client, report, typed, headers=None):
    return client.post(f"/verify/{report.code}/match", data={"id_number": typed},
                       headers=headers or {})


# --- issuing: full or masked -----------------------------------------------------------

def test_the_issue_form_offers_the_full_number_unticked(signed_in, enrollment, owner, make_record):
    page = text(signed_in.get(f"/reports/new/enrollment/{enrollment.id}"))
    assert 'name="full_id"' in page and "checked" not in page.split('name="full_id"')[1][:40]
    diploma = make_record("diploma", account=owner.id)
    # The diploma report leaves the ID number out: nothing to choose.
    assert 'name="full_id"' not in text(signed_in.get(f"/reports/new/diploma/{diploma.id}"))


def test_masked_by_default_on_the_page_the_api_and_the_owners_page(app, signed_in, report):
    assert report.full_id is False
    verifier = app.test_client()
    page = text(verifier.get(f"/verify/{report.code}"))
    assert MASKED in page and EXAMPLE_ID not in page
    api = verifier.get(f"/api/v1/reports/{report.code}").json
    assert {item["key"]: item["value"] for item in api["fields"]}["id_number"] == MASKED
    assert EXAMPLE_ID not in str(api)
    assert EXAMPLE_ID not in text(signed_in.get(f"/reports/{report.id}"))


def test_the_full_number_when_the_owner_chooses_it(app, signed_in, enrollment):
    report = _issue(signed_in, enrollment, full_id="y")
    assert report.full_id is True
    assert EXAMPLE_ID in text(app.test_client().get(f"/verify/{report.code}"))


def test_the_pdf_and_its_report_json_carry_the_masked_number(app, signed_in, report):
    pdf = signed_in.get(f"/reports/{report.id}/pdf").data
    reader = PdfReader(io.BytesIO(pdf))
    page = reader.pages[0].extract_text()
    assert MASKED in page and EXAMPLE_ID not in page
    attached = b"".join(b"".join(data) for data in reader.attachments.values()).decode()
    assert MASKED in attached and EXAMPLE_ID not in attached
    # The PDF check compares it with the stored (masked) snapshot: it is the report issued.
    checked = app.test_client().post("/verify/pdf", data={"pdf": (io.BytesIO(pdf), "r.pdf")},
                                     content_type="multipart/form-data")
    assert checked.status_code == 200 and "签名有效" in text(checked)
    assert EXAMPLE_ID not in text(checked)


def test_a_changed_record_shows_masked_too(app, report, enrollment, db):
    type(enrollment).update(major="历史学", updated_at=utcnow().replace(year=2100)).execute()
    page = text(app.test_client().get(f"/verify/{report.code}"))
    assert "历史学" in page and MASKED in page and EXAMPLE_ID not in page


# --- matching on the page ---------------------------------------------------------------

def test_the_valid_page_carries_the_match_form(app, report):
    page = text(app.test_client().get(f"/verify/{report.code}"))
    assert 'id="verify-match"' in page and f'action="/verify/{report.code}/match"' in page


@pytest.mark.parametrize("headers", [{}, HX])
@pytest.mark.parametrize("typed, matched", [
    (EXAMPLE_ID, True), ("110105491231002", True), ("１１０１０５１９４９１２３１００２ｘ", True),
    ("11010519491231002x", True), (OTHER_ID, False)])
def test_match_answers_and_logs(app, signed_in, report, headers, typed, matched):
    response = _match(app.test_client(), report, typed, headers)
    assert response.status_code == 200, text(response)
    body = text(response)
    answer = re.search(r'id="verify-match-answer"[^>]*>\s*(\S+?)：', body).group(1)
    assert answer == ("一致" if matched else "不一致")
    assert ("<html" in body) is not bool(headers)  # the fragment for htmx, else the whole page
    assert EXAMPLE_ID not in body.replace(f'value="{typed}"', "")
    assert [(v.channel, v.outcome) for v in Verification.select()] == [
        ("match", "match" if matched else "mismatch")]
    # Each try shows in the owner's 查验记录.
    checks = text(signed_in.get(f"/reports/{report.id}"))
    assert "证件号码比对" in checks and ("不一致" in checks) is not matched


@pytest.mark.parametrize("headers", [{}, HX])
@pytest.mark.parametrize("typed, message", [
    ("", "请填写证件号码"), ("garbage", "居民身份证号码应为 18 位"),
    ("110105194912310021", "校验位不正确")])
def test_an_invalid_number_is_422_beside_the_field_and_no_try(app, report, headers, typed, message):
    response = _match(app.test_client(), report, typed, headers)
    assert response.status_code == 422
    error = re.search(r'<p class="error" id="id-number-error">(.*?)</p>', text(response), re.S)
    assert error and message in error.group(1)
    assert Verification.select().count() == 0


@pytest.mark.parametrize("headers", [{}, HX])
def test_the_sixth_try_in_a_day_is_429(app, report, headers):
    verifier = app.test_client()
    for _ in range(id_match.TRIES_PER_DAY):
        assert _match(verifier, report, OTHER_ID, headers).status_code == 200
    refused = _match(app.test_client(), report, EXAMPLE_ID, headers)
    assert refused.status_code == 429 and "最多核对 5 次" in text(refused)
    assert 'id="verify-match-answer"' not in text(refused)
    assert Verification.select().count() == id_match.TRIES_PER_DAY


@pytest.mark.parametrize("headers", [{}, HX])
def test_a_report_that_is_not_valid_answers_as_its_page(app, report, headers, db):
    Report.update(closed_at=utcnow()).execute()
    response = _match(app.test_client(), report, EXAMPLE_ID, headers)
    assert response.status_code == 410 and "该报告已被本人关闭" in text(response)
    assert 'id="verify-match' not in text(response)
    if headers:
        assert response.headers["HX-Retarget"] == "#verify"
    assert [v.channel for v in Verification.select()] == ["web"]
    unknown = app.test_client().post("/verify/ABCDEFGHJKLMNPQR/match", data={"id_number": EXAMPLE_ID})
    assert unknown.status_code == 404


def test_ten_tries_at_once_get_five(app, report, monkeypatch):
    """The count and the insert are one transaction (BEGIN IMMEDIATE on the SQLite file):
    each try counts after the one before has written, however long counting takes."""
    counted = id_match.tries_in_window

    def slow_count(*args, **kwargs):
        found = counted(*args, **kwargs)
        time.sleep(0.05)  # the others are counting meanwhile, unless they wait
        return found

    monkeypatch.setattr(id_match, "tries_in_window", slow_count)
    statuses = run_together(*[lambda: _match(app.test_client(), report, OTHER_ID).status_code
                              for _ in range(10)])
    assert all(isinstance(status, int) for status in statuses), statuses
    assert sorted(statuses) == [200] * 5 + [429] * 5
    assert Verification.select().where(Verification.channel == "match").count() == 5


def test_the_english_page_says_it_in_english(app, report):
    verifier = app.test_client()
    verifier.set_cookie("lang", "en")
    body = text(_match(verifier, report, EXAMPLE_ID))
    assert "Matches: the ID number you typed" in body and "Check an ID number" in body
