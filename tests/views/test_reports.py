"""我的报告 and the public verification page and API, through the test client."""
import io
import re

import pytest

from models import Report, Verification, utcnow
from tests.factories import PASSWORD

HX = {"HX-Request": "true"}


def text(response):
    return response.get_data(as_text=True)


# --- the owner's side ---------------------------------------------------------------

def test_issue_page_offers_the_validity_choices(signed_in, diploma):
    page = text(signed_in.get(f"/reports/new/diploma/{diploma.id}"))
    assert page.count('name="months"') == 6 and "6 个月" in page


def test_issue_then_see_the_code_status_and_pdf(signed_in, report):
    page = text(signed_in.get(f"/reports/{report.id}"))
    assert re.sub(r"(.{4})", r"\1 ", report.code).strip() in page and "有效" in page
    listing = text(signed_in.get("/reports/"))
    assert "学历证书电子注册备案表" in listing
    pdf = signed_in.get(f"/reports/{report.id}/pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
    assert pdf.headers["Content-Type"] == "application/pdf"


def test_issuing_again_offers_to_extend(signed_in, diploma, report):
    again = signed_in.post(f"/reports/new/diploma/{diploma.id}", data={"months": "2"})
    assert again.status_code == 422 and "延长" in text(again)
    assert Report.select().count() == 1


def test_bad_validity_is_422(signed_in, diploma, db):
    response = signed_in.post(f"/reports/new/diploma/{diploma.id}", data={"months": "9"}, headers=HX)
    assert response.status_code == 422 and "1 到 6 个月" in text(response)
    assert Report.select().count() == 0


def test_extend_and_close(signed_in, report):
    extended = signed_in.post(f"/reports/{report.id}/extend", data={"months": "6"})
    assert extended.status_code == 303
    assert Report.get_by_id(report.id).expires_at > report.expires_at
    bad = signed_in.post(f"/reports/{report.id}/extend", data={"months": "0"})
    assert bad.status_code == 422
    assert signed_in.post(f"/reports/{report.id}/close", data={"confirm": "yes"}).status_code == 303
    assert Report.get_by_id(report.id).closed_at is not None
    assert "已关闭" in text(signed_in.get(f"/reports/{report.id}"))
    assert signed_in.post(f"/reports/{report.id}/extend", data={"months": "1"}).status_code == 422


def test_close_without_javascript_goes_through_a_confirmation_page(signed_in, report):
    detail = text(signed_in.get(f"/reports/{report.id}"))
    assert f'method="get" action="/reports/{report.id}/close"' in detail
    assert "hx-confirm" not in detail
    page = signed_in.get(f"/reports/{report.id}/close")
    body = text(page)
    assert page.status_code == 200 and "<!doctype html>" in body
    assert "不能撤销" in body and "确认关闭" in body and 'name="confirm" value="yes"' in body
    assert f'href="/reports/{report.id}"' in body and "返回" in body
    assert Report.get_by_id(report.id).closed_at is None
    closed = signed_in.post(f"/reports/{report.id}/close", data={"confirm": "yes"})
    assert closed.status_code == 303 and closed.headers["Location"].endswith(f"/reports/{report.id}")
    assert Report.get_by_id(report.id).closed_at is not None
    # Closed: the confirmation is not offered any more.
    again = signed_in.get(f"/reports/{report.id}/close")
    assert again.status_code == 303
    assert "立即关闭报告" not in text(signed_in.get(f"/reports/{report.id}"))


def test_close_with_htmx_confirms_in_the_page(signed_in, report):
    fragment = signed_in.get(f"/reports/{report.id}/close", headers=HX)
    body = text(fragment)
    assert fragment.status_code == 200 and "<!doctype html>" not in body
    assert body.lstrip().startswith("<section") or 'id="report-close"' in body
    assert 'id="report-close"' in body and "不能撤销" in body
    assert f'hx-post="/reports/{report.id}/close"' in body
    closed = signed_in.post(f"/reports/{report.id}/close", data={"confirm": "yes"}, headers=HX)
    assert closed.status_code == 200 and closed.headers["HX-Redirect"] == f"/reports/{report.id}"
    assert Report.get_by_id(report.id).closed_at is not None


@pytest.mark.parametrize("headers", [{}, HX])
def test_a_post_without_the_confirmation_closes_nothing(signed_in, report, headers):
    for data in ({}, {"confirm": ""}, {"confirm": "no"}):
        response = signed_in.post(f"/reports/{report.id}/close", data=data, headers=headers)
        body = text(response)
        assert response.status_code == 422, data
        assert "确认关闭" in body and "关闭报告需要确认" in body
        assert ("<!doctype html>" in body) == (not headers)
    assert Report.get_by_id(report.id).closed_at is None


def test_other_students_cannot_touch_a_report(app, report, make_account, make_record):
    make_account(username="li@example.edu.cn", real_name="李四", id_number="440524188001010014")
    other = app.test_client()
    other.post("/login", data={"login": "li@example.edu.cn", "password": PASSWORD})
    for method, url in (("get", f"/reports/{report.id}"), ("get", f"/reports/{report.id}/pdf"),
                        ("post", f"/reports/{report.id}/extend"), ("post", f"/reports/{report.id}/close"),
                        ("get", f"/reports/{report.id}/close")):
        assert getattr(other, method)(url, data={"months": "1"}).status_code == 404, url
    assert report.code not in text(other.get("/reports/"))
    theirs = report.record_id
    assert other.get(f"/reports/new/diploma/{theirs}").status_code == 404
    assert other.post(f"/reports/new/diploma/{theirs}", data={"months": "1"}).status_code == 404
    aid = make_record("aid")
    assert other.get(f"/reports/new/aid/{aid.id}").status_code == 404


# --- the verifier's side -----------------------------------------------------------

def test_verify_by_qr_link_shows_the_report_bilingually(app, report):
    page = app.test_client().get(f"/verify/{report.code}")
    body = text(page)
    assert page.status_code == 200 and "有效的在线验证报告" in body and "This report is valid" in body
    assert "汉语言文学" in body and "Major" in body and "11010519491231002X" not in body
    assert Verification.get().channel == "web"


def test_verify_form_records_organisation_and_purpose(app, signed_in, report):
    verifier = app.test_client()
    response = verifier.post("/verify/", data={"code": report.code.lower(), "organisation": "某某科技公司",
                                               "purpose": "入职审核"})
    assert response.status_code == 200
    check = Verification.get()
    assert (check.organisation, check.purpose, check.channel) == ("某某科技公司", "入职审核", "web")
    history = text(signed_in.get(f"/reports/{report.id}"))
    assert "某某科技公司" in history and "入职审核" in history


@pytest.mark.parametrize("code, status, message", [
    ("ABCDEFGHJKLMNPQR", 404, "没有这个在线验证码"),
    ("ABC", 422, "不是有效的在线验证码格式"),
    ("ABCD-EFGH-JKLM-NPQ!", 422, "不是有效的在线验证码格式"),
])
def test_verify_unknown_and_malformed(client, code, status, message):
    response = client.get(f"/verify/{code}")
    assert response.status_code == status and message in text(response)
    assert "证件号码" not in text(response)


def test_verify_form_malformed_is_a_field_error(client):
    response = client.post("/verify/", data={"code": "12"})
    assert response.status_code == 422 and 'id="code-error"' in text(response)
    empty = client.post("/verify/", data={"code": ""})
    assert empty.status_code == 422 and "请填写在线验证码" in text(empty)


def test_expired_and_closed_say_so_and_nothing_more(app, signed_in, report, db):
    Report.update(expires_at=utcnow()).execute()
    expired = app.test_client().get(f"/verify/{report.code}")
    assert expired.status_code == 410 and "已过期" in text(expired)
    assert "汉语言文学" not in text(expired) and "张三" not in text(expired)
    Report.update(closed_at=utcnow()).execute()
    closed = app.test_client().get(f"/verify/{report.code}")
    assert closed.status_code == 410 and "已被本人关闭" in text(closed)
    assert app.test_client().get(f"/verify/{report.code}/pdf").status_code == 404


def test_verifier_downloads_the_pdf_while_valid(app, report):
    pdf = app.test_client().get(f"/verify/{report.code}/pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")


def test_latest_data_and_change_notice(app, report, diploma, db):
    diploma.major = "汉语言文学（师范）"
    diploma.updated_at = utcnow().replace(year=utcnow().year + 1)
    diploma.save()
    body = text(app.test_client().get(f"/verify/{report.code}"))
    assert "汉语言文学（师范）" in body and 'id="verify-changed"' in body


def test_certificate_download(client, report):
    response = client.get("/verify/certificate")
    assert response.status_code == 200 and response.data.startswith(b"-----BEGIN CERTIFICATE-----")


def test_pdf_upload_check(app, signed_in, report):
    pdf = signed_in.get(f"/reports/{report.id}/pdf").data
    verifier = app.test_client()
    good = verifier.post("/verify/pdf", data={"pdf": (io.BytesIO(pdf), "r.pdf")},
                         content_type="multipart/form-data")
    assert good.status_code == 200 and "签名有效" in text(good)
    assert Verification.select().where(Verification.channel == "pdf").count() == 1
    tampered = bytearray(pdf)
    middle = len(tampered) // 3
    tampered[middle] = (tampered[middle] + 1) % 256
    bad = verifier.post("/verify/pdf", data={"pdf": (io.BytesIO(bytes(tampered)), "r.pdf")},
                        content_type="multipart/form-data")
    assert bad.status_code == 422 and "签名有效" not in text(bad)
    junk = verifier.post("/verify/pdf", data={"pdf": (io.BytesIO(b"hello"), "r.pdf")},
                         content_type="multipart/form-data")
    assert junk.status_code == 422
    nothing = verifier.post("/verify/pdf", data={}, content_type="multipart/form-data")
    assert nothing.status_code == 422 and "请选择" in text(nothing)


# --- the JSON API ------------------------------------------------------------------

def test_api_valid(app, report):
    response = app.test_client().get(f"/api/v1/reports/{report.code}")
    assert response.status_code == 200 and response.json["status"] == "valid"
    assert response.json["code"] == report.code and response.json["kind"] == "diploma"
    fields = {item["key"]: item["value"] for item in response.json["fields"]}
    assert fields["major"] == "汉语言文学" and "id_number" not in fields
    assert response.headers["Cache-Control"] == "no-store"
    assert Verification.get().channel == "api"


@pytest.mark.parametrize("code, status, outcome", [
    ("ABCDEFGHJKLMNPQR", 404, "unknown"), ("abc", 400, "malformed")])
def test_api_unknown_and_malformed(client, code, status, outcome):
    response = client.get(f"/api/v1/reports/{code}")
    assert response.status_code == status and response.json == {"status": outcome}


def test_api_expired_and_closed_are_410(app, report, db):
    Report.update(expires_at=utcnow()).execute()
    assert app.test_client().get(f"/api/v1/reports/{report.code}").json == {"status": "expired"}
    Report.update(closed_at=utcnow()).execute()
    response = app.test_client().get(f"/api/v1/reports/{report.code}")
    assert response.status_code == 410 and response.json == {"status": "closed"}


def test_verification_is_rate_limited(app_factory):
    client = app_factory(RATELIMIT_ENABLED=True, RATELIMIT_VERIFY="3 per minute").test_client()
    statuses = [client.get("/verify/ABCDEFGHJKLMNPQR").status_code for _ in range(4)]
    assert statuses == [404, 404, 404, 429]
    # One budget for the page, the PDF check and the API together.
    api = client.get("/api/v1/reports/ABCDEFGHJKLMNPQR")
    assert api.status_code == 429 and api.json["status"] == "error"
