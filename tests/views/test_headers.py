"""Security headers (issue 9, C): no-store on everything private or showing a
report code, HSTS behind HTTPS, CSP with base-uri."""
import pytest
from werkzeug.routing import IntegerConverter

from models import Report
from services import accounts
from tests.factories import sign_in_staff


def text(response):
    return response.get_data(as_text=True)


def no_store(response):
    return "no-store" in response.headers.get("Cache-Control", "")


def _requests(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        values = {arg: 1 if isinstance(rule._converters.get(arg), IntegerConverter) else "x"
                  for arg in rule.arguments}
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, rule.build(values)[1]


def private_requests(app):
    """Every endpoint that sends a stranger to log in: found, not listed, so a new
    private page is checked without anyone remembering to add it."""
    stranger = app.test_client()
    found = []
    for endpoint, method, url in _requests(app):
        if endpoint == "auth.logout":  # public: it ends a session, then goes to /login
            continue
        response = stranger.open(url, method=method)
        if response.status_code in (302, 303, 401) and "/login" in response.headers.get("Location", "/login"):
            found.append((endpoint, method, url))
    return found


@pytest.fixture
def owner(make_account):
    return make_account(username="zhang@example.edu.cn", real_name="张三")


@pytest.fixture
def diploma(owner, make_record):
    return make_record("diploma", account=owner.id)


@pytest.fixture
def report(client, owner, login, diploma, db):
    login("zhang@example.edu.cn")
    response = client.post(f"/reports/new/diploma/{diploma.id}", data={"months": "3"})
    assert response.status_code == 303, text(response)
    return Report.get()


def test_every_private_endpoint_answers_no_store_to_its_owner(app, client, report, db):
    requests = private_requests(app)
    assert {"records.index", "reports.index", "account.profile", "admin.index"} <= {
        endpoint for endpoint, _, _ in requests}
    accounts.create_or_reset_admin("office", "Desk-pass-2026")
    registrar = app.test_client()
    sign_in_staff(registrar, "office", "Desk-pass-2026")
    for endpoint, method, url in requests:
        who = registrar if endpoint.startswith("admin.") else client
        response = who.open(url, method=method)
        assert no_store(response), (endpoint, method, url, response.status_code,
                                    response.headers.get("Cache-Control"))


def test_the_owners_real_pages_and_files_are_no_store(app, client, report, diploma):
    for url in ("/records/", f"/records/diploma/{diploma.id}", "/reports/",
                f"/reports/{report.id}", f"/reports/{report.id}/pdf", "/account/", "/"):
        response = client.get(url, follow_redirects=True)
        assert response.status_code == 200, url
        assert no_store(response), (url, response.headers.get("Cache-Control"))
        assert "public" not in response.headers.get("Cache-Control", ""), url
    fragment = client.get("/records/", headers={"HX-Request": "true"})
    assert no_store(fragment)


def test_public_pages_with_a_report_code_are_no_store(app, report):
    verifier = app.test_client()
    for url in (f"/verify/{report.code}", f"/verify/{report.code}/pdf",
                f"/api/v1/reports/{report.code}", "/api/v1/reports/AAAAAAAAAAAAAAAA"):
        response = verifier.get(url)
        assert response.status_code in (200, 404), url
        assert no_store(response), (url, response.headers.get("Cache-Control"))
    posted = verifier.post("/verify/", data={"code": report.code})
    assert no_store(posted)


def test_static_files_stay_cacheable(client):
    response = client.get("/static/portal.css")
    assert not no_store(response) and "max-age" in response.headers["Cache-Control"]


def test_csp_keeps_form_action_and_gains_base_uri(client):
    csp = client.get("/login").headers["Content-Security-Policy"]
    assert "base-uri 'none'" in csp and "form-action 'self'" in csp
    assert "frame-ancestors 'none'" in csp


def test_hsts_only_when_cookies_are_secure(app_factory, client):
    assert "Strict-Transport-Security" not in client.get("/login").headers
    secure = app_factory(SESSION_COOKIE_SECURE=True).test_client()
    assert (secure.get("/login").headers["Strict-Transport-Security"]
            == "max-age=31536000; includeSubDomains")
