"""Several app servers on one PostgreSQL database and one Redis (README "Running on
several machines"): real gunicorn processes, each with its own instance folder
holding copies of the same secret_key and keys/, walked through with plain HTTP.

Also: `init-db` and `seed-demo --if-empty` started by two processes at once
(PostgreSQL and SQLite) apply each migration / seed once, and a server refuses to
start with keys of its own on a database in use.
"""
import http.client
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import uuid
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from pathlib import Path

import psycopg2
import pytest

import models
from app import create_app
from services import startup
from tests.factories import EXAMPLE_ID, STAFF_PASSWORD, create_account, create_record, second_factor_code, \
    staff_account

# Real processes on a shared machine: starting each takes seconds.
pytestmark = pytest.mark.timeout(600)

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PASSWORD = "good-pass-42"
VERIFY_LIMIT = 6


# --- servers ---------------------------------------------------------------------------

def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _new_database(server_url: str, prefix: str) -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(server_url + "/postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    return f"{server_url}/{name}"


def _instance_copy(keys_from: Path, folder: Path) -> Path:
    """An instance folder with copies of the shared secret_key and keys/, nothing else."""
    folder.mkdir(mode=0o700)
    shutil.copy2(keys_from / "secret_key", folder / "secret_key")
    shutil.copytree(keys_from / "keys", folder / "keys")
    return folder


def _env(instance: Path, **more) -> dict:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("PORTAL_") and key != "DATABASE_URL"}
    env.update(PORTAL_INSTANCE_DIR=str(instance), PYTHONPATH=str(ROOT), **more)
    return env


def _flask(env: dict, *args: str) -> subprocess.Popen:
    return subprocess.Popen([str(BIN / "flask"), "--app", "app", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _both(first: subprocess.Popen, second: subprocess.Popen) -> list[tuple[int, str, str]]:
    results = []
    for process in (first, second):
        out, err = process.communicate(timeout=180)
        results.append((process.returncode, out, err))
    return results


def _start(env: dict) -> tuple[subprocess.Popen, int, Path]:
    port = _free_port()
    log = Path(env["PORTAL_INSTANCE_DIR"]).parent / f"gunicorn-{port}.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "4",
             "app:create_app()"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    return process, port, log


def _wait_until_serving(process: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"gunicorn exited: {log.read_text()}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/login")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"gunicorn did not answer: {log.read_text()}")


@pytest.fixture(scope="module")
def cluster(postgres_server, redis_server, signing_keys_dir, tmp_path_factory):
    """Two app servers, A and B: same DATABASE_URL and Redis, separate instance folders
    with copies of one secret_key and keys/, each its own outbox; behind one proxy hop."""
    folder = tmp_path_factory.mktemp("cluster")
    database_url = _new_database(postgres_server, "t_cluster")
    # The first server's keys, made once (as `flask init-db` would on the first machine).
    origin = folder / "origin"
    shutil.copytree(signing_keys_dir, origin / "keys")
    create_app(dict(INSTANCE_DIR=str(origin), DATABASE_URL=database_url))
    shared = dict(DATABASE_URL=database_url, PORTAL_RATELIMIT_STORAGE_URI=redis_server,
                  PORTAL_RATELIMIT_VERIFY=f"{VERIFY_LIMIT} per minute", PORTAL_PROXY_HOPS="1",
                  MESSAGE_BACKEND="outbox")
    envs = {name: _env(_instance_copy(origin, folder / name), **shared) for name in ("a", "b")}
    # Both servers run init-db as they start: one migrates, the other waits and finds nothing.
    results = _both(_flask(envs["a"], "init-db"), _flask(envs["b"], "init-db"))
    assert [code for code, _out, _err in results] == [0, 0], results
    started = {name: _start(env) for name, env in envs.items()}  # both at once: they start slowly
    processes, ports = [process for process, _port, _log in started.values()], {}
    try:
        for name, (process, port, log) in started.items():
            _wait_until_serving(process, port, log)
            ports[name] = port
        # The test's own view of the same database (same keys): records, staff, look-ups.
        local = create_app(dict(INSTANCE_DIR=str(_instance_copy(origin, folder / "local")),
                                DATABASE_URL=database_url, TESTING=True))
        yield dict(a=ports["a"], b=ports["b"], app=local, database_url=database_url,
                   outbox={name: Path(env["PORTAL_INSTANCE_DIR"]) / "outbox.jsonl"
                           for name, env in envs.items()})
    finally:
        for process in processes:
            process.terminate()
            process.wait(20)
        _close_pools()


def _close_pools():
    """The pooled connections this process opened (the fixtures' own apps)."""
    database = models.db.obj
    if hasattr(database, "close_all"):
        database.close_all()


# --- a browser that keeps cookies across servers (same host, other port) -----------------

class _Forms(HTMLParser):
    """Every <form>'s action and fields as a browser would submit them unchanged."""

    def __init__(self):
        super().__init__()
        self.forms, self._select, self._textarea = [], None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append(dict(id=attrs.get("id"), action=attrs.get("action"), fields={}))
        elif not self.forms:
            return
        fields = self.forms[-1]["fields"]
        if tag == "input" and attrs.get("name") and attrs.get("type") not in ("submit", "file", "button"):
            if attrs.get("type") in ("checkbox", "radio") and "checked" not in attrs:
                return
            fields[attrs["name"]] = attrs.get("value") or ("y" if attrs.get("type") == "checkbox" else "")
        elif tag == "select":
            self._select = attrs.get("name")
        elif tag == "option" and self._select and ("selected" in attrs or self._select not in fields):
            fields[self._select] = attrs.get("value", "")
        elif tag == "textarea":
            self._textarea = attrs.get("name")
            fields[self._textarea] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea and self.forms:
            self.forms[-1]["fields"][self._textarea] += data.lstrip("\n") if not \
                self.forms[-1]["fields"][self._textarea] else data


class Browser:
    """One person's browser: a cookie jar shared by every server (the cookie is the
    host's, whatever the port, as a browser behind one domain would send it), and the
    client address the proxy in front of the servers reports (X-Forwarded-For)."""

    def __init__(self, ip: str):
        self.ip, self.cookies = ip, {}

    def request(self, port, method, path, body=b"", content_type=None):
        headers = {"X-Forwarded-For": self.ip}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if content_type:
            headers["Content-Type"] = content_type
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request(method, path, body=body or None, headers=headers)
        response = conn.getresponse()
        data = response.read()
        for header in response.msg.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                if morsel.value and not morsel["expires"].startswith("Thu, 01 Jan 1970"):
                    self.cookies[name] = morsel.value
                else:
                    self.cookies.pop(name, None)
        conn.close()
        return response.status, response.msg, data

    def get(self, port, path):
        return self.request(port, "GET", path)

    def page(self, port, path) -> str:
        status, _headers, data = self.get(port, path)
        assert status == 200, (path, status, data[:500])
        return data.decode("utf-8")

    def token(self, port, path="/login") -> str:
        return re.search(r'name="csrf_token" value="([^"]+)"', self.page(port, path)).group(1)

    def post(self, port, path, fields: dict, *, token_from: str | None = None):
        from urllib.parse import urlencode
        fields = {"csrf_token": self.token(port, token_from or "/login"), **fields}
        return self.request(port, "POST", path, urlencode(fields).encode(),
                            "application/x-www-form-urlencoded")

    def upload(self, port, path, name: str, filename: str, data: bytes, *, token_from: str):
        boundary = secrets.token_hex(12)
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
                 f'{self.token(port, token_from)}\r\n'.encode(),
                 f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                 f'Content-Type: application/pdf\r\n\r\n'.encode(), data, f"\r\n--{boundary}--\r\n".encode()]
        return self.request(port, "POST", path, b"".join(parts), f"multipart/form-data; boundary={boundary}")


def _forms(html: str) -> list[dict]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


def _last_code(outbox: Path) -> str:
    body = json.loads(outbox.read_text("utf-8").splitlines()[-1])["body"]
    return re.search(r"\b(\d{6})\b", body).group(1)


# --- the journey --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def issued(cluster):
    """Registered on A, logged in on B, a report issued on B; its PDF as B serves it."""
    a, b, app = cluster["a"], cluster["b"], cluster["app"]
    with app.app_context():
        record = create_record("diploma", 1, name="王𠮷", id_number=EXAMPLE_ID)

    # Register on A: the code goes to A's own outbox.
    on_a = Browser("198.51.100.10")
    assert on_a.post(a, "/register/notice", {"consent": "y"}, token_from="/register/")[0] == 303
    status, _h, body = on_a.post(a, "/register/identity", dict(
        username="wang@example.edu.cn", real_name="王𠮷", id_type="居民身份证",
        id_number=EXAMPLE_ID.lower(), phone="+86 138 1234 5678", password=PASSWORD,
        password_confirm=PASSWORD), token_from="/register/identity")
    assert status == 303, body[:2000]
    assert on_a.post(a, "/register/code/send", {"channel": "sms"}, token_from="/register/code")[0] == 200
    status, headers, _b = on_a.post(a, "/register/code", {"channel": "sms",
                                                          "code": _last_code(cluster["outbox"]["a"])},
                                    token_from="/register/code")
    assert status == 303 and headers["Location"].endswith("/register/confirm")
    status, headers, _b = on_a.post(a, "/register/confirm", {"yes": "1"}, token_from="/register/confirm")
    assert status == 303 and headers["Location"].endswith("/register/done")
    assert not cluster["outbox"]["b"].exists()  # A sent the code, from A's own outbox

    # Log in on B (another browser), see the record bound at registration, issue a report.
    on_b = Browser("198.51.100.11")
    status, headers, _b = on_b.post(b, "/login", {"login": "wang@example.edu.cn", "password": PASSWORD})
    assert status == 303, _b[:2000]
    assert f"/records/diploma/{record.id}" in on_b.page(b, "/records/")
    new = f"/reports/new/diploma/{record.id}"
    status, headers, body = on_b.post(b, new, {"months": "3"}, token_from=new)
    assert status == 303, body[:2000]
    report_path = headers["Location"]
    report_id = int(report_path.rstrip("/").rsplit("/", 1)[-1])
    with app.app_context(), models.db.connection_context():
        code = models.Report.get_by_id(report_id).code
    status, headers, pdf_from_b = on_b.get(b, f"{report_path}/pdf")
    assert status == 200 and pdf_from_b.startswith(b"%PDF"), status
    return dict(code=code, report_path=report_path, pdf=pdf_from_b, student=on_b, record=record)


def test_a_journey_across_two_servers(cluster, issued):
    a, b = cluster["a"], cluster["b"]
    # An employer checks on A: the code's page, then the PDF B signed.
    employer = Browser("203.0.113.20")
    status, _h, body = employer.get(a, f"/verify/{issued['code']}")
    assert status == 200 and "王" in body.decode("utf-8"), body[:1000]
    status, _h, body = employer.upload(a, "/verify/pdf", "pdf", "report.pdf", issued["pdf"],
                                       token_from="/verify/pdf")
    assert status == 200, body[:2000]
    # Both checks are in 查验记录, seen on B by the student.
    page = issued["student"].page(b, issued["report_path"])
    checks = page.split('id="verification-list"', 1)[1].split("</table>", 1)[0]
    assert checks.count("203.0.113.20") == 2, checks
    assert "<td>PDF</td>" in checks


def test_the_pdf_issued_on_b_is_served_by_a(cluster, issued):
    """STEP THAT NEEDS THE "state" BRANCH (migration 019, signed PDFs in the database):
    on this branch alone B wrote the PDF into its own instance folder, so A answers 404
    here. Once both are merged this must pass: the same bytes from either server."""
    a = cluster["a"]
    status, _h, from_a = issued["student"].get(a, f"{issued['report_path']}/pdf")
    assert status == 200, f"A answered {status} for a PDF B issued: signed PDFs still live in files"
    assert from_a == issued["pdf"]


def test_the_per_ip_verify_limit_counts_both_servers_together(cluster, issued):
    a, b = cluster["a"], cluster["b"]
    checker = Browser("203.0.113.66")  # a client address of its own: its own count
    statuses = [checker.get((a, b)[n % 2], f"/verify/{issued['code']}")[0]
                for n in range(VERIFY_LIMIT)]
    assert statuses == [200] * VERIFY_LIMIT
    assert checker.get(a, f"/verify/{issued['code']}")[0] == 429
    assert checker.get(b, f"/verify/{issued['code']}")[0] == 429
    # Another client address is not affected.
    assert Browser("203.0.113.67").get(b, f"/verify/{issued['code']}")[0] == 200


def test_a_setting_changed_on_a_is_in_force_on_b_at_once(cluster):
    a, b, app = cluster["a"], cluster["b"], cluster["app"]
    with app.app_context(), models.db.connection_context():
        staff_account("head@example.edu.cn")
    desk = Browser("198.51.100.30")
    status, headers, _b = desk.post(a, "/login", {"login": "head@example.edu.cn", "password": STAFF_PASSWORD})
    assert status == 303 and headers["Location"] == "/login/enrol"
    desk.page(a, "/login/enrol")  # the enrolment page makes the secret the app shows as a QR code
    with app.app_context():
        code = second_factor_code("head@example.edu.cn")
    status, _h, body = desk.post(a, "/login/enrol", {"code": code}, token_from="/login/enrol")
    assert status == 200, body[:2000]
    # Logged in on A, the same session cookie is good on B (one secret_key).
    assert 'name="school_name"' in desk.page(b, "/admin/settings")
    assert "示范大学（新校名）" not in Browser("198.51.100.31").page(b, "/login")

    form = next(f for f in _forms(desk.page(a, "/admin/settings")) if "school_name" in f["fields"])
    fields = {**form["fields"], "school_name": "示范大学（新校名）",
              # The former names' first line is the current name.
              "school_names": form["fields"]["school_names"].replace("示范大学", "示范大学（新校名）", 1)}
    fields.pop("csrf_token", None)
    status, headers, body = desk.post(a, "/admin/settings", fields, token_from="/admin/settings")
    assert status == 303, re.findall(r'<p class="error"[^>]*>(.*?)</p>', body.decode("utf-8"))
    # B's next request, by anyone: the new name.
    assert "示范大学（新校名）" in Browser("198.51.100.31").page(b, "/login")


# --- migrations and seeding started twice at once ----------------------------------------------

def _applied(database_url: str) -> list[str]:
    if database_url.startswith("sqlite"):
        import sqlite3
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as conn:
            return [row[0] for row in conn.execute("SELECT name FROM migratehistory ORDER BY id")]
    with psycopg2.connect(database_url) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT name FROM migratehistory ORDER BY id")
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.parametrize("engine", ["postgresql", "sqlite"])
def test_two_servers_starting_at_once_migrate_once_and_seed_once(engine, postgres_server, signing_keys_dir,
                                                                 tmp_path):
    origin = tmp_path / "origin"
    origin.mkdir(mode=0o700)
    (origin / "secret_key").write_text(secrets.token_hex(32))
    shutil.copytree(signing_keys_dir, origin / "keys")
    for name in ("data.key", "index.key"):
        (origin / "keys" / name).write_bytes(secrets.token_bytes(32))
    database_url = (_new_database(postgres_server, "t_twice") if engine == "postgresql"
                    else f"sqlite:///{tmp_path / 'shared.sqlite3'}")
    envs = [_env(_instance_copy(origin, tmp_path / name), DATABASE_URL=database_url) for name in "ab"]

    results = _both(_flask(envs[0], "init-db"), _flask(envs[1], "init-db"))
    assert [code for code, _o, _e in results] == [0, 0], results
    outputs = sorted(out for _c, out, _e in results)
    expected = len(list((ROOT / "migrations").glob("[0-9]*.py")))
    assert outputs[0].startswith("database ready (0 migration(s) applied)"), outputs
    assert outputs[1].startswith(f"database ready ({expected} migration(s) applied)"), outputs
    applied = _applied(database_url)
    assert len(applied) == len(set(applied)) == expected

    if engine == "sqlite":
        return  # seeding twice at once: PostgreSQL below (SQLite takes the same lock file)
    results = _both(_flask(envs[0], "seed-demo", "--if-empty"), _flask(envs[1], "seed-demo", "--if-empty"))
    assert [code for code, _o, _e in results] == [0, 0], results
    app = create_app(dict(INSTANCE_DIR=str(_instance_copy(origin, tmp_path / "check")),
                          DATABASE_URL=database_url))
    with app.app_context(), models.db.connection_context():
        usernames = [a.username for a in models.Account.select(models.Account.username)]
    _close_pools()
    assert usernames and len(usernames) == len(set(usernames))
    outputs = [out for _c, out, _e in results]
    assert sum(out == outputs[0] for out in outputs) == 1, outputs  # one seeded, one found data


# --- keys of its own: refused on a database in use --------------------------------------------

def test_a_server_with_empty_keys_refuses_a_database_in_use(app_factory, tmp_path):
    first = app_factory()
    create_account(first, 1)
    url = first.config["DATABASE_URL"]
    fresh = tmp_path / "second"
    with pytest.raises(startup.KeysRefused, match="lacks secret_key, keys/data.key, keys/index.key, "
                                                  "keys/school-signing.key"):
        create_app(dict(INSTANCE_DIR=str(fresh), DATABASE_URL=url))
    # Nothing was made that a second try would then take for the shared keys.
    assert not (fresh / "secret_key").exists()
    assert not (fresh / "keys" / "data.key").exists()


def test_a_server_with_other_keys_refuses_a_database_in_use(app_factory, tmp_path):
    first = app_factory()
    create_account(first, 1)
    other = tmp_path / "other"
    _instance_copy(Path(first.instance_path), other)
    (other / "keys" / "data.key").write_bytes(secrets.token_bytes(32))
    with pytest.raises(startup.KeysRefused, match="data.key does not open"):
        create_app(dict(INSTANCE_DIR=str(other), DATABASE_URL=first.config["DATABASE_URL"]))
    (other / "keys" / "data.key").write_bytes((Path(first.instance_path) / "keys" / "data.key").read_bytes())
    (other / "keys" / "index.key").write_bytes(secrets.token_bytes(32))
    with pytest.raises(startup.KeysRefused, match="index.key is not the one"):
        create_app(dict(INSTANCE_DIR=str(other), DATABASE_URL=first.config["DATABASE_URL"]))
    # The right copies: it starts.
    shutil.copy2(Path(first.instance_path) / "keys" / "index.key", other / "keys" / "index.key")
    create_app(dict(INSTANCE_DIR=str(other), DATABASE_URL=first.config["DATABASE_URL"]))


REDIS_DOWN = """
import sys
import models
from app import create_app
from cli import migration_router

instance, uri, fallback = sys.argv[1], sys.argv[2], sys.argv[3]
config = dict(INSTANCE_DIR=instance, RATELIMIT_ENABLED=True, WTF_CSRF_ENABLED=False,
              RATELIMIT_STORAGE_URI=uri, RATELIMIT_VERIFY="3 per minute")
if fallback == "off":
    config["RATELIMIT_IN_MEMORY_FALLBACK_ENABLED"] = False
app = create_app(config)
with app.app_context(), models.db.connection_context():
    migration_router().run()
client = app.test_client()
print(*[client.get("/verify/ABCDEFGHJKLMNPQR").status_code for _ in range(5)])
"""


@pytest.mark.parametrize("fallback, expected", [("on", "404 404 404 429 429"),
                                                ("off", "500 500 500 500 500")])
def test_with_redis_down_each_server_counts_in_memory(tmp_path, signing_keys_dir, fallback, expected):
    """Nothing listens at the Redis address. By default each process then counts the
    limits itself (and goes back to Redis once it answers); without the fallback every
    limited page would fail. A process of its own: the limiter keeps its storage."""
    shutil.copytree(signing_keys_dir, tmp_path / "instance" / "keys")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    done = subprocess.run(  # nosec B603 # this interpreter, fixed arguments
        [sys.executable, "-c", REDIS_DOWN, str(tmp_path / "instance"),
         f"redis://127.0.0.1:{port}/0", fallback],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[-2] == expected, done.stderr[-2000:]
