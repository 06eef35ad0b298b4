"""批量查验: the page /verify/batch, its downloads, and POST /api/v1/reports/batch."""
import csv
import datetime
import io
import re

import pytest
from openpyxl import load_workbook

from models import Report, Verification, utcnow
from services import verify_batch
from tests.factories import csv_bytes, issue_report, xlsx_bytes

HX = {"HX-Request": "true"}
FORM = {"organisation": "示范科技有限公司", "purpose": "入职背景核查"}


def text(response):
    return response.get_data(as_text=True)


def fake_pdf(snapshot):
    return b"%PDF-1.4 batch test"


def unknown_codes(count):
    """Well-formed codes that no report has."""
    return [f"{n:04d}ZZZZYYYYXXXX" for n in range(count)]


@pytest.fixture
def reports_of_each_kind(app, db, make_account, make_record):
    """valid, expired, closed, withdrawn (diplomas) and a valid degree, of two owners."""
    zhang = make_account(username="zhang@example.edu.cn", real_name="张三")
    li = make_account(username="li@example.edu.cn", real_name="李四", id_number="440524188001010014")
    made = {}
    made["valid"] = issue_report(app, zhang, make_record("diploma", account=zhang.id, major="汉语言文学"),
                                 render=fake_pdf)
    made["expired"] = issue_report(app, zhang, make_record("diploma", account=zhang.id),
                                   render=fake_pdf, now=utcnow() - datetime.timedelta(days=400))
    made["closed"] = issue_report(app, li, make_record("diploma", account=li.id, name="李四"),
                                  render=fake_pdf)
    Report.update(closed_at=utcnow()).where(Report.id == made["closed"].id).execute()
    made["withdrawn"] = issue_report(app, li, make_record("diploma", account=li.id, name="李四"),
                                     render=fake_pdf)
    Report.update(withdrawn_at=utcnow()).where(Report.id == made["withdrawn"].id).execute()
    made["degree"] = issue_report(app, li, make_record("degree", account=li.id, name="李四"),
                                  render=fake_pdf, kind="degree")
    return made


def post_codes(client, codes_text, headers=None, **data):
    return client.post("/verify/batch", data=dict(FORM, codes=codes_text, **data), headers=headers or {},
                       content_type="multipart/form-data")


def result_rows(page):
    body = page.split('<tbody>', 1)[1].split('</tbody>', 1)[0]
    return re.findall(r'<tr class="outcome-(\w+)">\s*<td class="code">([^<]*)</td>', body)


# --- the page ---------------------------------------------------------------------

@pytest.mark.parametrize("headers", [{}, HX])
def test_the_form(client, headers):
    response = client.get("/verify/batch", headers=headers)
    page = text(response)
    assert response.status_code == 200 and 'id="verify-batch"' in page
    assert ('<html' in page) == (not headers)
    for label in ("在线验证码（每行一个，最多 100 个）", "或上传 CSV / XLSX 文件", "单位名称", "用途"):
        assert re.search(rf'<label for="[\w-]+">{re.escape(label)}', page), label
    assert "查验" in page and 'enctype="multipart/form-data"' in page
    assert response.headers["Cache-Control"] == "no-store"


def test_verify_and_help_link_to_the_batch_page(client):
    assert 'href="/verify/batch"' in text(client.get("/verify/"))
    assert 'href="/verify/batch"' in text(client.get("/help/verifying"))


@pytest.mark.parametrize("headers", [{}, HX])
def test_mixed_outcomes_in_input_order_each_logged(client, reports_of_each_kind, headers):
    made = reports_of_each_kind
    typed = [made["valid"].code.lower(), made["expired"].code, made["closed"].code,
             made["withdrawn"].code, "ZZZZ-ZZZZ-ZZZZ-ZZZZ", "12", made["degree"].code]
    response = post_codes(client, "\n".join(typed), headers)
    page = text(response)
    assert response.status_code == 200, page
    assert ('<html' in page) == (not headers)
    assert result_rows(page) == list(zip(
        ["valid", "expired", "closed", "withdrawn", "unknown", "malformed", "valid"], typed))
    # The single result page's wording, a valid report's name, kind, school and key fields.
    for message in ("有效的在线验证报告。", "该报告已过期", "该报告已被本人关闭。", "该报告已被学校撤销。",
                    "没有这个在线验证码对应的报告", "这不是有效的在线验证码格式"):
        assert message in page, message
    assert "张三" in page and "学历" in page and "示范大学" in page and "汉语言文学" in page
    assert "证书编号" in page and "学位" in page and "李四" in page
    assert "已查验 7 个验证码，其中 2 个是有效的在线验证报告。" in page
    # Every code that exists is in its owner's 查验记录, once, as a batch check.
    logged = {(v.report_id, v.outcome) for v in Verification.select()}
    assert logged == {(made[key].id, outcome) for key, outcome in [
        ("valid", "valid"), ("expired", "expired"), ("closed", "closed"),
        ("withdrawn", "withdrawn"), ("degree", "valid")]}
    assert {(v.channel, v.organisation, v.purpose) for v in Verification.select()} == {
        ("batch", FORM["organisation"], FORM["purpose"])}
    assert response.headers["Cache-Control"] == "no-store"


def test_the_owner_sees_the_batch_check(client, app, reports_of_each_kind, login):
    post_codes(client, reports_of_each_kind["valid"].code)
    login("zhang@example.edu.cn")
    page = text(client.get(f"/reports/{reports_of_each_kind['valid'].id}"))
    assert "批量查验" in page and FORM["organisation"] in page and FORM["purpose"] in page


def test_duplicates_separators_case_and_hyphens(client, reports_of_each_kind):
    code = reports_of_each_kind["valid"].code
    grouped = " ".join(code[i:i + 4] for i in range(0, 16, 4)).lower()
    hyphens = "-".join(code[i:i + 4] for i in range(0, 16, 4))
    pasted = f"{grouped}，{hyphens}、ZZZZZZZZZZZZZZZZ;{code}\tzzzz zzzz zzzz zzzz"
    page = text(post_codes(client, pasted))
    assert result_rows(page) == [("valid", grouped), ("unknown", "ZZZZZZZZZZZZZZZZ")]
    assert Verification.select().count() == 1


@pytest.mark.parametrize("headers", [{}, HX])
def test_no_codes_is_422_beside_the_field(client, headers):
    response = post_codes(client, " \n ", headers)
    assert response.status_code == 422
    assert 'id="codes-error"' in text(response) and "请填写或上传至少一个在线验证码。" in text(response)


def test_organisation_and_purpose_are_required(client, reports_of_each_kind):
    response = client.post("/verify/batch", data={"codes": reports_of_each_kind["valid"].code},
                           content_type="multipart/form-data")
    page = text(response)
    assert response.status_code == 422
    assert 'id="organisation-error"' in page and 'id="purpose-error"' in page
    assert Verification.select().count() == 0


def test_one_and_a_hundred_codes(client, reports_of_each_kind):
    one = post_codes(client, reports_of_each_kind["valid"].code)
    assert one.status_code == 200 and len(result_rows(text(one))) == 1
    hundred = post_codes(client, "\n".join([reports_of_each_kind["valid"].code] + unknown_codes(99)))
    assert hundred.status_code == 200 and len(result_rows(text(hundred))) == 100


def test_a_hundred_and_one_codes_are_refused(client):
    response = post_codes(client, "\n".join(unknown_codes(101)))
    assert response.status_code == 422
    assert 'id="codes-error"' in text(response) and "一次最多查验 100 个验证码" in text(response)


def test_csv_upload(client, reports_of_each_kind):
    data = csv_bytes([{"姓名": "张三", "验证码": reports_of_each_kind["valid"].code.lower()},
                      {"姓名": "某人", "验证码": "ZZZZZZZZZZZZZZZZ"}])
    response = post_codes(client, "", file=(io.BytesIO(data), "codes.csv"))
    assert response.status_code == 200
    assert [outcome for outcome, _code in result_rows(text(response))] == ["valid", "unknown"]


@pytest.mark.parametrize("headers", [{}, HX])
def test_xlsx_upload(client, reports_of_each_kind, headers):
    data = xlsx_bytes([["序号", "在线验证码"], [1, reports_of_each_kind["degree"].code],
                       [2, reports_of_each_kind["expired"].code]])
    response = post_codes(client, "", headers, file=(io.BytesIO(data), "codes.xlsx"))
    assert response.status_code == 200
    assert [outcome for outcome, _code in result_rows(text(response))] == ["valid", "expired"]


def test_unreadable_upload_is_422_beside_the_file(client):
    response = post_codes(client, "", file=(io.BytesIO(b"PK\x03\x04broken"), "codes.xlsx"))
    assert response.status_code == 422
    assert 'id="file-error"' in text(response) and "无法读取这个文件" in text(response)


def test_oversized_upload_is_refused(app_factory):
    client = app_factory(VERIFY_BATCH_MAX_BYTES=1000).test_client()
    response = post_codes(client, "", file=(io.BytesIO(b"A" * 5000), "codes.csv"))
    assert response.status_code == 422 and 'id="file-error"' in text(response)
    huge = post_codes(client, "", file=(io.BytesIO(b"A" * (6 * 1024 * 1024)), "codes.csv"))
    assert huge.status_code == 413


# --- downloads ----------------------------------------------------------------------

def downloads(page):
    return re.findall(r'href="(/verify/batch/[\w-]+\.(?:csv|xlsx))"', page)


def test_downloads_are_the_result_and_check_nothing_again(client, reports_of_each_kind):
    valid = reports_of_each_kind["valid"]
    page = text(post_codes(client, f"=HYPERLINK(\"http://evil\")\n{valid.code}"))
    csv_url, xlsx_url = downloads(page)
    assert Verification.select().count() == 1

    got = client.get(csv_url)
    assert got.status_code == 200 and got.mimetype == "text/csv"
    assert "attachment" in got.headers["Content-Disposition"]
    assert got.headers["Cache-Control"] == "no-store"
    lines = list(csv.reader(io.StringIO(got.data.decode("utf-8-sig"))))
    assert lines[0][:3] == ["验证码", "查验结果", "姓名"]
    assert lines[1][0] == "'=HYPERLINK(\"http://evil\")" and lines[2][:3] == [
        valid.code, "有效的在线验证报告。", "张三"]

    sheet = load_workbook(io.BytesIO(client.get(xlsx_url).data)).active
    assert sheet["A2"].value == "'=HYPERLINK(\"http://evil\")" and sheet["A2"].data_type != "f"
    assert sheet["C3"].value == "张三"
    assert Verification.select().count() == 1


def test_downloads_expire_and_unknown_tokens_are_404(client, app, reports_of_each_kind):
    page = text(post_codes(client, reports_of_each_kind["valid"].code))
    csv_url = downloads(page)[0]
    assert client.get("/verify/batch/not-a-token.csv").status_code == 404
    assert client.get(csv_url.replace(".csv", ".pdf")).status_code == 404
    from models import Challenge
    Challenge.update(created_at=utcnow() - verify_batch.LIFETIME - datetime.timedelta(minutes=1)).execute()
    assert client.get(csv_url).status_code == 404


def test_downloads_in_english(client, reports_of_each_kind):
    client.set_cookie("lang", "en")
    page = text(post_codes(client, reports_of_each_kind["valid"].code))
    lines = list(csv.reader(io.StringIO(client.get(downloads(page)[0]).data.decode("utf-8-sig"))))
    assert lines[0][:3] == ["Code", "Result", "Full name"]
    assert lines[1][1] == "This report is valid." and lines[1][3] == "Diploma"


# --- the rate limit counts codes ---------------------------------------------------

def test_the_limit_counts_codes_not_requests(app_factory):
    client = app_factory(RATELIMIT_ENABLED=True, RATELIMIT_VERIFY="50 per minute").test_client()
    assert client.get("/verify/batch").status_code == 200  # the form is free
    assert post_codes(client, "\n".join(unknown_codes(40))).status_code == 200
    over = post_codes(client, "\n".join(unknown_codes(20)))
    assert over.status_code == 429 and "操作太频繁" in text(over) and "Retry-After" in over.headers
    # One budget with the single checks and the API.
    assert client.get("/verify/ABCDEFGHJKLMNPQR").status_code == 429


def test_the_limit_counts_api_codes(app_factory):
    client = app_factory(RATELIMIT_ENABLED=True, RATELIMIT_VERIFY="50 per minute").test_client()
    assert client.post("/api/v1/reports/batch", json={"codes": unknown_codes(40)}).status_code == 200
    for _ in range(10):
        assert client.get("/api/v1/reports/ABCDEFGHJKLMNPQR").status_code == 404
    over = client.post("/api/v1/reports/batch", json={"codes": unknown_codes(1)})
    assert over.status_code == 429
    assert over.json["status"] == "error" and over.json["message"] and over.json["message_en"]


def test_a_batch_within_the_limit_is_not_refused_by_the_default(app_factory):
    client = app_factory(RATELIMIT_ENABLED=True).test_client()
    assert post_codes(client, "\n".join(unknown_codes(100))).status_code == 200


# --- the API ---------------------------------------------------------------------------

def api(client, body, **options):
    return client.post("/api/v1/reports/batch", json=body, **options)


def test_api_mixed_outcomes(client, app, reports_of_each_kind):
    made = reports_of_each_kind
    typed = [made["valid"].code.lower(), made["expired"].code, made["closed"].code,
             made["withdrawn"].code, "ZZZZ ZZZZ ZZZZ ZZZZ", "12", made["valid"].code]
    response = api(client, {"codes": typed, "organisation": "某公司", "purpose": "入职"})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    results = response.json["results"]
    assert [(r["code"], r["status"]) for r in results] == [
        (typed[0], "valid"), (typed[1], "expired"), (typed[2], "closed"), (typed[3], "withdrawn"),
        (typed[4], "unknown"), ("12", "malformed")]
    # Each result is the single-code API's body (with the code as typed).
    single = client.get(f"/api/v1/reports/{made['valid'].code}").json
    assert results[0] == dict(single, code=typed[0])
    assert results[1] == {"code": typed[1], "status": "expired"}
    batch_checks = Verification.select().where(Verification.channel == Verification.BATCH)
    assert sorted((v.report_id, v.organisation, v.purpose, v.outcome) for v in batch_checks) == sorted(
        (made[key].id, "某公司", "入职", key) for key in ("valid", "expired", "closed", "withdrawn"))


def test_api_one_and_a_hundred(client, reports_of_each_kind):
    one = api(client, {"codes": [reports_of_each_kind["degree"].code]})
    assert one.status_code == 200 and one.json["results"][0]["kind"] == "degree"
    hundred = api(client, {"codes": unknown_codes(100)})
    assert hundred.status_code == 200 and len(hundred.json["results"]) == 100
    assert Verification.select().first().organisation == ""


@pytest.mark.parametrize("body", [
    {"codes": []}, {"codes": unknown_codes(101)}, {"codes": "ABCDEFGHJKLMNPQR"},
    {"codes": [1, 2]}, {"codes": ["ABCDEFGHJKLMNPQR", None]}, {}, [], ["ABCDEFGHJKLMNPQR"],
    "codes", {"codes": ["ABCDEFGHJKLMNPQR"], "organisation": 5},
])
def test_api_refuses_what_is_not_a_batch(client, body):
    response = api(client, body)
    assert response.status_code == 400
    assert set(response.json) == {"status", "message", "message_en"}
    assert response.json["status"] == "error"
    assert re.search(r"[\u4e00-\u9fff]", response.json["message"])
    assert not re.search(r"[\u4e00-\u9fff]", response.json["message_en"])
    assert Verification.select().count() == 0


@pytest.mark.parametrize("data", [b"{not json", b"", b"\xff\xfe", b"null"])
def test_api_malformed_json(client, data):
    response = client.post("/api/v1/reports/batch", data=data, content_type="application/json")
    assert response.status_code == 400 and response.json["status"] == "error"
    assert "JSON" in response.json["message_en"]


def test_api_works_without_a_json_content_type_and_with_csrf_on(app_factory):
    client = app_factory(WTF_CSRF_ENABLED=True).test_client()
    response = client.post("/api/v1/reports/batch", data='{"codes": ["12"]}',
                           content_type="text/plain")
    assert response.status_code == 200 and response.json["results"] == [{"code": "12", "status": "malformed"}]
    # The page keeps its CSRF protection.
    assert post_codes(client, "12").status_code == 400


@pytest.mark.parametrize("headers", [{}, HX])
def test_api_answers_json_whatever_the_headers(client, headers):
    response = api(client, {"codes": ["12"]}, headers=headers)
    assert response.status_code == 200 and response.is_json
