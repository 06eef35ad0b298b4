"""The factory's web-wide settings: security headers, inline CSS, static caching."""
import base64
import hashlib
import re


def test_inline_stylesheet_is_allowed_by_its_csp_hash(client):
    response = client.get("/register/")
    css = re.search(r"<style>(.*?)</style>", response.get_data(as_text=True), re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode()
    policy = response.headers["Content-Security-Policy"]
    assert f"'sha256-{digest}'" in policy and "script-src 'self';" in policy
    assert "'unsafe-inline'" not in policy
    assert response.headers["X-Frame-Options"] == "DENY"


def test_static_files_are_cached_for_a_year_without_cookies(client):
    page = client.get("/register/").get_data(as_text=True)
    script = re.search(r'src="(/static/htmx-[^"]+)"', page).group(1)
    assert "?v=" in script
    response = client.get(script, headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200 and "max-age=31536000" in response.headers["Cache-Control"]
    assert "Cookie" not in response.headers.get("Vary", "")
    assert "Set-Cookie" not in response.headers
    assert response.headers["Content-Encoding"] == "gzip"


def test_no_favicon_request(client):
    assert '<link rel="icon" href="data:,">' in client.get("/").get_data(as_text=True)


def test_proxy_hops_make_the_visitor_address_count(app_factory, make_account):
    from models import LoginEvent, db
    from tests.factories import PASSWORD
    make_account(username="p@example.edu.cn")
    client = app_factory(PROXY_HOPS=1).test_client()
    client.post("/login", data={"login": "p@example.edu.cn", "password": PASSWORD},
                headers={"X-Forwarded-For": "203.0.113.9"})
    with db.connection_context():
        assert LoginEvent.get().ip == "203.0.113.9"


def test_without_a_proxy_the_header_is_ignored(client, make_account):
    from models import LoginEvent, db
    from tests.factories import PASSWORD
    make_account(username="p@example.edu.cn")
    client.post("/login", data={"login": "p@example.edu.cn", "password": PASSWORD},
                headers={"X-Forwarded-For": "203.0.113.9"})
    with db.connection_context():
        assert LoginEvent.get().ip == "127.0.0.1"


def test_public_urls_answer_without_a_trailing_slash(client):
    """The URLs the README promises answer as written, with no redirect."""
    for url in ("/register", "/login", "/verify"):
        response = client.get(url)
        assert response.status_code == 200, url
    assert client.post("/verify", data={"code": "ABCDEFGHJKLMNPQR"}).status_code == 404
    assert client.get("/verify/ABCDEFGHJKLMNPQR").status_code == 404
    assert client.get("/api/v1/reports/ABCDEFGHJKLMNPQR").status_code == 404
