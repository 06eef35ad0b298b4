"""POST /api/v1/reports/<code>/match: an HR system matches an ID number against a report."""
import pytest

from models import Report, Verification, utcnow
from services import id_match
from tests.factories import EXAMPLE_ID

OTHER_ID = "440524188001010014"


@pytest.fixture
def owner(make_account):
    return make_account(username="zhang@example.edu.cn", real_name="张三")


@pytest.fixture
def report(client, owner, login, make_record, db):
    login("zhang@example.edu.cn")
    record = make_record("enrollment", account=owner.id, id_type="居民身份证")
    assert client.post(f"/reports/new/enrollment/{record.id}", data={"months": "3"}).status_code == 303
    return Report.get()


@pytest.fixture
def hr(app_factory):
    """An HR system: CSRF on, as in production; it sends JSON and no cookies."""
    return app_factory(WTF_CSRF_ENABLED=True).test_client()


def _match(client, report, body):
    return client.post(f"/api/v1/reports/{report.code}/match", json=body)


@pytest.mark.parametrize("typed, matched", [
    (EXAMPLE_ID, True), ("110105491231002", True), ("11010519491231002x", True),
    ("１１０１０５ １９４９１２３１ ００２Ｘ", True), (OTHER_ID, False)])
def test_match_true_or_false_without_csrf(hr, report, typed, matched):
    response = _match(hr, report, {"id_number": typed})
    assert response.status_code == 200 and response.json == {"match": matched}
    assert response.headers["Cache-Control"] == "no-store"
    assert [(v.channel, v.outcome) for v in Verification.select()] == [
        ("match", "match" if matched else "mismatch")]


def test_the_page_form_still_needs_its_csrf_token(hr, report):
    response = hr.post(f"/verify/{report.code}/match", data={"id_number": EXAMPLE_ID})
    assert response.status_code == 400 and Verification.select().count() == 0


@pytest.mark.parametrize("body", [None, [], {"id": EXAMPLE_ID}, {"id_number": 110105},
                                  {"id_number": "garbage"}, {"id_number": ""}])
def test_bad_body_or_invalid_number_is_400_and_no_try(client, report, body):
    response = (_match(client, report, body) if body is not None else
                client.post(f"/api/v1/reports/{report.code}/match", data="not json",
                            content_type="application/json"))
    assert response.status_code == 400
    assert set(response.json) == {"status", "message", "message_en"}
    assert response.json["status"] == "error"
    assert response.json["message"] and response.json["message_en"].isascii()
    assert Verification.select().count() == 0


def test_the_message_is_chinese_and_english_whatever_the_language(client, report):
    client.set_cookie("lang", "en")
    response = _match(client, report, {"id_number": "garbage"})
    assert response.json["message"] == "居民身份证号码应为 18 位（或旧版 15 位）。"
    assert "18" in response.json["message_en"] and response.json["message_en"].isascii()


def test_the_sixth_try_is_429(client, report):
    for _ in range(id_match.TRIES_PER_DAY):
        assert _match(client, report, {"id_number": OTHER_ID}).json == {"match": False}
    refused = _match(client, report, {"id_number": EXAMPLE_ID})
    assert refused.status_code == 429
    assert refused.json["status"] == "error" and "5" in refused.json["message"]
    assert "24 hours" in refused.json["message_en"]


@pytest.mark.parametrize("change, status, body", [
    ({"closed_at": utcnow()}, 410, {"status": "closed"}),
    ({"expires_at": utcnow()}, 410, {"status": "expired"}),
    ({"withdrawn_at": utcnow()}, 410, {"status": "withdrawn"})])
def test_a_report_that_is_not_valid_answers_as_the_get(client, report, change, status, body):
    Report.update(**change).execute()
    response = _match(client, report, {"id_number": EXAMPLE_ID})
    assert (response.status_code, response.json) == (status, body)
    assert client.get(f"/api/v1/reports/{report.code}").json == body


@pytest.mark.parametrize("code, status, outcome", [
    ("ABCDEFGHJKLMNPQR", 404, "unknown"), ("abc", 400, "malformed")])
def test_unknown_and_malformed_codes(client, code, status, outcome):
    response = client.post(f"/api/v1/reports/{code}/match", json={"id_number": EXAMPLE_ID})
    assert response.status_code == status and response.json == {"status": outcome}


def test_the_api_shows_the_number_masked(client, report):
    fields = {item["key"]: item for item in client.get(f"/api/v1/reports/{report.code}").json["fields"]}
    assert fields["id_number"]["value"] == fields["id_number"]["value_en"] == "1101**********002X"


def test_match_counts_against_the_per_ip_verify_limit(app_factory):
    client = app_factory(RATELIMIT_ENABLED=True, RATELIMIT_VERIFY="2 per minute").test_client()
    assert client.get("/api/v1/reports/ABCDEFGHJKLMNPQR").status_code == 404
    assert client.post("/api/v1/reports/ABCDEFGHJKLMNPQR/match",
                       json={"id_number": EXAMPLE_ID}).status_code == 404
    limited = client.post("/api/v1/reports/ABCDEFGHJKLMNPQR/match", json={"id_number": EXAMPLE_ID})
    assert limited.status_code == 429
    assert client.post("/verify/ABCDEFGHJKLMNPQR/match", data={"id_number": EXAMPLE_ID}).status_code == 429
