"""The staff roles: one access rule per staff blueprint, proven over the url_map.

admin (every staff role: look up), registry (学籍管理员 and 管理员: change
records, queues, imports, student accounts), management (管理员 only: staff,
settings, audit log). Students are told these pages do not exist; strangers
are sent to log in (tests/views/test_access.py).
"""
import pytest
from werkzeug.routing import IntegerConverter

from models import Account
from tests.factories import PASSWORD, signed_in_staff

STAFF_BLUEPRINTS = {
    "admin": set(Account.STAFF_ROLES),
    "registry": {Account.ADMIN, Account.REGISTRAR},
    "management": {Account.ADMIN},
}


def _staff_urls(app):
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.partition(".")[0]
        if blueprint not in STAFF_BLUEPRINTS:
            continue
        values = {arg: 1 if isinstance(rule._converters.get(arg), IntegerConverter) else "x"
                  for arg in rule.arguments}
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield blueprint, rule.endpoint, method, rule.build(values)[1]


def test_every_staff_blueprint_declares_its_roles(app):
    declared = {name: set(getattr(bp, "staff_roles", ())) for name, bp in app.blueprints.items()
                if getattr(bp, "staff_roles", None)}
    assert declared == STAFF_BLUEPRINTS


def test_students_are_told_staff_pages_do_not_exist(app, db, make_account):
    make_account(username="zhang@example.edu.cn")
    client = app.test_client()
    assert client.post("/login", data={"login": "zhang@example.edu.cn",
                                       "password": PASSWORD}).status_code == 303
    checked = 0
    for _blueprint, endpoint, method, url in _staff_urls(app):
        response = client.open(url, method=method)
        assert response.status_code == 404, (endpoint, method, url, response.status_code)
        checked += 1
    assert checked >= 3


@pytest.mark.parametrize("role", Account.STAFF_ROLES)
def test_each_role_reaches_exactly_its_blueprints(app, db, role):
    client = signed_in_staff(app, f"{role}-desk", role)
    reached = refused = 0
    for blueprint, endpoint, method, url in _staff_urls(app):
        response = client.open(url, method=method)
        if role in STAFF_BLUEPRINTS[blueprint]:
            # Past the rule: the page itself answers (a missing id is 404, a bad
            # form 422, a redirect after a POST), never the rule's 403.
            assert response.status_code != 403, (role, endpoint, method, url)
            assert response.status_code < 500, (role, endpoint, method, url, response.status_code)
            reached += 1
        else:
            assert response.status_code == 403, (role, endpoint, method, url, response.status_code)
            refused += 1
    assert reached >= 1
    if role != Account.ADMIN:
        assert refused >= 1


def test_no_two_endpoints_answer_the_same_url(app):
    """Three blueprints share /admin: a route added twice would leave one of them
    unreachable (and its access rule untested)."""
    seen = {}
    for rule in app.url_map.iter_rules():
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            key = (rule.rule, method)
            assert key not in seen, (rule.endpoint, seen.get(key), key)
            seen[key] = rule.endpoint
