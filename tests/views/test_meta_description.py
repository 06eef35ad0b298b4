"""Every HTML page has one non-empty <meta name="description"> (Lighthouse SEO), for a
visitor, a student and each staff role: the url_map is walked as in test_roles.py."""
import html
import re

import pytest
from werkzeug.routing import IntegerConverter

from models import Account
from tests.factories import signed_in_staff

DESCRIPTION = re.compile(r'<meta name="description" content="([^"]*)">')
PUBLIC_PAGES = ["/", "/login", "/register/", "/verify/", "/verify/pdf", "/help/",
                "/recover/username", "/recover/password"]


def _get_urls(app):
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        values = {arg: 1 if isinstance(rule._converters.get(arg), IntegerConverter) else "x"
                  for arg in rule.arguments}
        try:
            yield rule.endpoint, rule.build(values)[1]
        except Exception:   # a converter that takes no "x" (e.g. a fixed choice)
            continue


def _descriptions(response):
    return [html.unescape(found).strip() for found in DESCRIPTION.findall(response.get_data(as_text=True))]


def _walk(app, client):
    checked = 0
    for endpoint, url in _get_urls(app):
        response = client.get(url)
        if response.mimetype != "text/html" or response.status_code >= 500:
            assert response.status_code < 500, (endpoint, url, response.status_code)
            continue
        body = response.get_data(as_text=True)
        if 300 <= response.status_code < 400 or "<!doctype html>" not in body[:200].lower():
            continue   # a redirect, or not a page
        found = _descriptions(response)
        assert len(found) == 1 and found[0], (endpoint, url, found)
        checked += 1
    return checked


def test_every_page_of_a_visitor_has_a_description(app, db):
    assert _walk(app, app.test_client()) >= 8


def test_every_page_of_a_student_has_a_description(app, db, make_account, make_record, client,
                                                    login):
    student = make_account(username="zhang@example.edu.cn")
    make_record("diploma", account=student.id)
    login("zhang@example.edu.cn")
    assert _walk(app, client) >= 8


@pytest.mark.parametrize("role", Account.STAFF_ROLES)
def test_every_page_of_staff_has_a_description(app, db, role):
    assert _walk(app, signed_in_staff(app, f"{role}-desk", role)) >= 8


def test_public_pages_say_what_they_are_for(app, db):
    client = app.test_client()
    default = _descriptions(client.get("/account/x-no-such-page"))
    seen = set()
    for url in PUBLIC_PAGES:
        [description] = _descriptions(client.get(url))
        assert description not in default, url   # each says something of its own
        seen.add(description)
    assert len(seen) >= 7   # /recover/username and /recover/password may share one


def test_descriptions_follow_the_language(app, db):
    client = app.test_client()
    client.set_cookie("lang", "en")
    [description] = _descriptions(client.get("/verify/"))
    assert description.startswith("Online verification") and not re.search(r"[\u4e00-\u9fff]", description)
