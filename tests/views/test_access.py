"""Rule 8: every endpoint that is not public refuses strangers."""
import pytest
from werkzeug.routing import IntegerConverter

# Endpoints anyone may use without an account. Adding one here is a decision.
PUBLIC = {
    "static", "home.index", "home.language", "auth.login", "auth.logout",
    "register.start", "register.step", "register.notice",
    "register.identity", "register.code_send", "register.code_check",
    "register.confirm", "register.appeal", "register.appeal_status",
    "recover.show", "recover.identify", "recover.code_send",
    "recover.code_check", "recover.new_password", "recover.restart",
    "verify.index", "verify.code", "verify.code_pdf", "verify.certificate",
    "verify.pdf", "api.report", "help.index", "help.topic",
    "verify.batch", "verify.batch_download", "api.reports_batch",
    # 核对证件号码 on a valid report: the page and the JSON API.
    "verify.code_match", "api.report_match",
    # The school's logo and its signing certificates, current and retired.
    "home.logo", "verify.certificates", "verify.certificate_by_fingerprint",
    # 公开查询: a diploma by certificate number + name.
    "verify.diploma",
}


def _urls(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC:
            continue
        values = {arg: 1 if isinstance(rule._converters.get(arg), IntegerConverter) else "x"
                  for arg in rule.arguments}
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, rule.build(values)[1]


def test_every_private_endpoint_sends_strangers_to_login(app, client):
    checked = 0
    for endpoint, method, url in _urls(app):
        response = client.open(url, method=method)
        assert response.status_code in (302, 303, 401), (endpoint, method, url, response.status_code)
        if response.status_code != 401:
            assert "/login" in response.headers["Location"], (endpoint, url)
        checked += 1
    assert checked >= 1


@pytest.mark.parametrize("endpoint", sorted(PUBLIC - {"static"}))
def test_public_endpoints_exist(app, endpoint):
    assert endpoint in {rule.endpoint for rule in app.url_map.iter_rules()}
