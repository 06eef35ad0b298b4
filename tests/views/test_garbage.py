"""Bad input anywhere gets an answer, never a server error.

Every route is sent odd values (empty, very long, control characters, rare
characters, wrong types, a file where text is expected) as a stranger and as a
signed-in student, with and without htmx. Any status is acceptable but 5xx.
"""
import io

import pytest
from werkzeug.routing import IntegerConverter

from tests.factories import PASSWORD

ODD_VALUES = ["", " ", "x" * 5000, "\x00\x01\x1f", "𠮷" * 40, "<script>alert(1)</script>",
              "' OR 1=1 --", "-1", "99999999999999999999", "NO.", "２０２０"]
FIELDS = ["consent", "username", "real_name", "id_type", "id_number", "phone", "password",
          "password_confirm", "channel", "code", "yes", "no", "login", "remember",
          "contact_email", "reference", "new_username", "new_phone", "current_password",
          "new_password", "kind", "certificate_number", "year", "school", "field",
          "proposed_value", "reason", "months", "organisation", "purpose", "lang", "next"]


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        values = {arg: 1 if isinstance(rule._converters.get(arg), IntegerConverter) else "x"
                  for arg in rule.arguments}
        yield rule, rule.build(values)[1]


@pytest.fixture
def student_client(app, make_account, make_record):
    account = make_account(username="odd@example.edu.cn", real_name="张三")
    make_record("diploma", account=account.id)
    client = app.test_client()
    client.post("/login", data={"login": "odd@example.edu.cn", "password": PASSWORD})
    return client


@pytest.mark.parametrize("who", ["stranger", "student"])
def test_no_route_answers_5xx_to_odd_input(app, client, student_client, who):
    browser = client if who == "stranger" else student_client
    for rule, url in _routes(app):
        for value in ODD_VALUES:
            data = {name: value for name in FIELDS}
            for headers in ({}, {"HX-Request": "true"}):
                if "POST" in rule.methods:
                    response = browser.post(url, data=data, headers=headers)
                    assert response.status_code < 500, (url, value, response.status_code)
                response = browser.get(url, query_string={"field": value, "next": value},
                                       headers=headers)
                assert response.status_code < 500, (url, value, response.status_code)


def test_files_where_text_is_expected(student_client, app):
    for rule, url in _routes(app):
        if "POST" not in rule.methods:
            continue
        data = {name: (io.BytesIO(b"\x89PNG garbage"), "x.png") for name in FIELDS + ["photo", "evidence", "pdf"]}
        response = student_client.post(url, data=data, content_type="multipart/form-data")
        assert response.status_code < 500, (url, response.status_code)


@pytest.mark.parametrize("code", ["%00", "..%2F..%2Fetc%2Fpasswd", "A" * 300, "ＡＢＣＤ", "abcd efgh"])
def test_odd_codes_on_the_public_pages(client, code):
    for url in (f"/verify/{code}", f"/verify/{code}/pdf", f"/api/v1/reports/{code}"):
        assert client.get(url).status_code in (400, 404, 410, 422), url


def test_files_in_the_middle_of_a_flow(client, make_account, outbox):
    """A file posted as the 校验码 of a live recovery flow is just a wrong code."""
    make_account(username="odd@example.edu.cn", real_name="张三")
    client.post("/recover/password", data={"login": "odd@example.edu.cn"})
    client.post("/recover/password/send", data={"channel": "sms"})
    response = client.post("/recover/password/check", content_type="multipart/form-data",
                           data={"code": (io.BytesIO(b"123456"), "code.txt")})
    assert response.status_code == 422 and "请填写校验码" in response.get_data(as_text=True)
