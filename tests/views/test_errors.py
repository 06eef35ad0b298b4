"""Every error status answers in the portal's own words, in the shape the caller reads:
a whole page, an htmx message for the flash area, or JSON under /api/."""
import pytest
from flask import abort

HX = {"HX-Request": "true"}
STATUSES = [400, 401, 403, 404, 405, 409, 410, 413, 415, 422, 429, 500, 503]
# The statuses with their own message; the rest share a generic one.
SPECIFIC = {404: "页面不存在", 405: "请求方式不对", 413: "文件太大", 429: "操作太频繁", 500: "出错了"}


def text(response):
    return response.get_data(as_text=True)


@pytest.fixture
def app(app_factory):
    # Not TESTING's propagation: an unexpected exception must reach the error page.
    app = app_factory(PROPAGATE_EXCEPTIONS=False)

    def fail(status):
        abort(status)

    def crash():
        raise RuntimeError("an unexpected bug")

    for prefix in ("", "/api"):
        app.add_url_rule(f"{prefix}/test-fail/<int:status>", f"fail{prefix}", fail)
        app.add_url_rule(f"{prefix}/test-crash", f"crash{prefix}", crash)
    return app


@pytest.mark.parametrize("status", STATUSES)
def test_every_status_gets_the_portals_page(client, status):
    response = client.get(f"/test-fail/{status}")
    body = text(response)
    assert response.status_code == status
    assert '<html lang="zh-CN">' in body and 'id="main"' in body
    assert SPECIFIC.get(status, "请求未能完成") in body
    if status not in SPECIFIC:
        assert f"错误代码 {status}" in body


@pytest.mark.parametrize("status", STATUSES)
def test_every_status_gets_a_flash_message_for_htmx(client, status):
    response = client.get(f"/test-fail/{status}", headers=HX)
    assert response.status_code == status
    assert response.headers["HX-Retarget"] == "#flash"
    assert response.headers["HX-Reswap"] == "innerHTML"
    assert "<html" not in text(response) and "flash-error" in text(response)


@pytest.mark.parametrize("status", STATUSES)
def test_every_status_gets_json_under_the_api(client, status):
    response = client.get(f"/api/test-fail/{status}")
    assert response.status_code == status
    assert response.json["status"] == "error" and response.json["http_status"] == status
    assert response.json["message"]


def test_english_with_the_cookie(client):
    client.set_cookie("lang", "en")
    generic = client.get("/test-fail/409")
    assert generic.status_code == 409
    assert "The request could not be completed (error 409)" in text(generic)
    assert "请求未能完成" not in text(generic)
    assert "does not exist" in text(client.get("/test-fail/404", headers=HX))
    assert "请求未能完成" not in client.get("/api/test-fail/503").json["message"]


@pytest.mark.parametrize("headers, prefix", [({}, ""), (HX, ""), ({}, "/api")])
def test_an_unexpected_exception_is_a_500_in_every_shape(client, headers, prefix):
    response = client.get(f"{prefix}/test-crash", headers=headers)
    assert response.status_code == 500
    body = response.json["message"] if prefix else text(response)
    assert "服务器出了点问题" in body and "RuntimeError" not in body and "Traceback" not in body


def test_real_routes(client):
    wrong_method = client.get("/logout")
    assert wrong_method.status_code == 405 and "请求方式不对" in text(wrong_method)
    assert "POST" in wrong_method.headers["Allow"]
    unknown = client.get("/api/v1/nothing")
    assert unknown.status_code == 404 and unknown.json["status"] == "error"


def test_an_expired_form_keeps_its_own_message(app_factory):
    client = app_factory(WTF_CSRF_ENABLED=True).test_client()
    response = client.post("/login", data={"login": "x", "password": "y"})
    assert response.status_code == 400 and "页面已过期" in text(response)
