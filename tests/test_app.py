"""The factory's web-wide settings: security headers, inline CSS, static caching,
and what it loads at start."""
import base64
import hashlib
import re
import shutil

import pytest

import models
from app import create_app
from cli import migration_router
from services import signing


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


def test_a_new_instance_gets_its_signing_pair_at_start(tmp_path):
    app = create_app(dict(TESTING=True, INSTANCE_DIR=str(tmp_path)))
    keys = app.extensions["school_keys"]
    assert (tmp_path / "keys" / signing.CERT_FILE).read_bytes() == keys.cert_pem
    with app.app_context(), models.db.connection_context():
        migration_router().run()
        from views import school_keys
        # Until a 管理员 rotates it in the portal, the pair from the instance folder signs.
        assert school_keys() is keys


@pytest.mark.parametrize("name, problem", [
    (signing.KEY_FILE, "is not an unencrypted PEM private key: "
                       "put the key that belongs to school-signing.crt there"),
    (signing.CERT_FILE, "is not a PEM certificate: put the school's signing certificate there"),
])
def test_a_corrupt_signing_file_stops_the_start(tmp_path, signing_keys_dir, name, problem):
    shutil.copytree(signing_keys_dir, tmp_path / "keys")
    (tmp_path / "keys" / name).write_text("not PEM at all")
    with pytest.raises(RuntimeError) as error:
        create_app(dict(TESTING=True, INSTANCE_DIR=str(tmp_path)))
    assert str(error.value) == f"{tmp_path / 'keys' / name} {problem}"


def test_an_unreadable_signing_file_stops_the_start(tmp_path, signing_keys_dir):
    shutil.copytree(signing_keys_dir, tmp_path / "keys")
    cert = tmp_path / "keys" / signing.CERT_FILE
    cert.unlink()
    cert.mkdir()  # unreadable as a file even for root, who may read anything else
    with pytest.raises(RuntimeError) as error:
        create_app(dict(TESTING=True, INSTANCE_DIR=str(tmp_path)))
    assert str(error.value).startswith(f"cannot read {cert} (")
    assert "make it readable by the user the portal runs as" in str(error.value)


def test_links_use_the_address_make_run_serves_on_unless_the_school_set_one(
        tmp_path, monkeypatch, signing_keys_dir):
    shutil.copytree(signing_keys_dir, tmp_path / "instance" / "keys")
    settings = dict(TESTING=True, INSTANCE_DIR=str(tmp_path / "instance"))
    monkeypatch.delenv("PORTAL_BASE_URL", raising=False)
    assert create_app(dict(settings)).config["PORTAL_BASE_URL"] == "http://127.0.0.1:8000"
    monkeypatch.setenv("PORTAL_SERVED_AT", "http://127.0.0.1:8010")
    assert create_app(dict(settings)).config["PORTAL_BASE_URL"] == "http://127.0.0.1:8010"
    (tmp_path / "instance" / "config.py").write_text('PORTAL_BASE_URL = "https://xueji.example.edu.cn"\n')
    assert create_app(dict(settings)).config["PORTAL_BASE_URL"] == "https://xueji.example.edu.cn"
    monkeypatch.setenv("PORTAL_BASE_URL", "https://portal.example.edu.cn")
    assert create_app(dict(settings)).config["PORTAL_BASE_URL"] == "https://portal.example.edu.cn"
