"""Fixtures: a fresh app on a temporary SQLite file per test, clients, and the
factories of tests/factories.py bound to that app."""
import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

import models
from app import create_app
from cli import migration_router
from services import signing
from tests.factories import PASSWORD, Outbox, create_account, create_record, sign_in

TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"


@pytest.fixture(scope="session", autouse=True)
def compiled_catalogs():
    """Compile each .po whose .mo is missing or older, so pytest works without `make`
    and English pages are checked against the catalogue as it is now."""
    for po in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with open(po, "rb") as fh:
            catalog = read_po(fh, locale=po.parent.parent.name, abort_invalid=True)
        # Written aside and renamed, so a parallel run never reads half a file.
        fd, tmp = tempfile.mkstemp(dir=po.parent, suffix=".mo.tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                write_mo(fh, catalog)
            os.replace(tmp, mo)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


@pytest.fixture(scope="session")
def signing_keys_dir(tmp_path_factory):
    """One school signing pair for the session: making an RSA 3072 key for each
    app would add minutes to the suite."""
    key_dir = tmp_path_factory.mktemp("signing")
    signing.load_or_create(key_dir, "示范大学", "Demonstration University")
    return key_dir


@pytest.fixture
def app_factory(tmp_path, signing_keys_dir):
    """Build an app on its own instance folder; migrations create the schema."""
    made = []
    shutil.copytree(signing_keys_dir, tmp_path / "instance" / "keys")

    def build(**config):
        settings = dict(TESTING=True, WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False,
                        INSTANCE_DIR=str(tmp_path / "instance"),
                        PORTAL_BASE_URL="http://portal.test")
        settings.update(config)
        app = create_app(settings)
        with app.app_context(), models.db.connection_context():
            migration_router().run()
        made.append(app)
        return app

    yield build
    if not models.db.is_closed():
        models.db.close()
    for app in made:  # the pool's connections to this test's database (app._init_database)
        database = app.extensions.get("database")
        if hasattr(database, "close_all"):
            database.close_all()


@pytest.fixture
def app(app_factory):
    return app_factory()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def db(app):
    """An open connection for tests that use models directly.

    No Flask context is pushed: requests made by the test client must each get
    their own, as in production.
    """
    with models.db.connection_context():
        yield models.db


@pytest.fixture
def outbox(app):
    return Outbox(app.config["OUTBOX_PATH"])


@pytest.fixture
def postman(app):
    """The app's Postman, for calling services that send messages."""
    return app.extensions["postman"]


@pytest.fixture
def fixed_code(monkeypatch):
    """Every 校验码 issued is 000042, so a test can type the right one without an outbox."""
    monkeypatch.setattr("services.codes.secrets.randbelow", lambda n: 42)
    return "000042"


@pytest.fixture
def make_account(app):
    counter = itertools.count(1)

    def make(**fields):
        return create_account(app, next(counter), **fields)

    return make


@pytest.fixture
def login(client):
    def do(username, password=PASSWORD):
        return sign_in(client, username, password)

    return do


@pytest.fixture
def make_record(app):
    """Records with the defaults of factories.create_record, each with its own numbers."""
    counter = itertools.count(1)

    def make(kind_key, **fields):
        return create_record(kind_key, next(counter), **fields)

    return make


def pytest_collection_modifyitems(items):
    """Browser tests last: Playwright's sync API keeps an event loop running in the
    main thread while its browser is open, and pyHanko (PDF signing) calls
    asyncio.run(), which refuses to start inside a running loop."""
    items.sort(key=lambda item: "tests/browser/" in item.nodeid.replace("\\", "/"))


# --- PostgreSQL (tests/test_postgres.py, tests/test_backup.py) -----------------------
# A throwaway server from Debian's `postgresql` package (installed by `make test`) in a
# temporary folder, on a free loopback port; one per session.

def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_postgres(args):
    """The server refuses to run as root; root runs it as the `postgres` user."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return args


@pytest.fixture(scope="session")
def postgres_server():
    binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not binaries:
        pytest.fail("PostgreSQL is not installed: `make test` installs Debian's postgresql")
    bindir = os.path.dirname(binaries[-1])
    folder = tempfile.mkdtemp(prefix="portal-pg-")
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    data = os.path.join(folder, "data")
    port = _free_port()
    subprocess.run(_as_postgres([f"{bindir}/initdb", "-D", data, "-A", "trust", "-U", "portal",
                                 "-E", "UTF8", "--locale=C.UTF-8"]),
                   check=True, capture_output=True)
    subprocess.run(_as_postgres([
        f"{bindir}/pg_ctl", "-D", data, "-w", "-l", os.path.join(folder, "log"), "start",
        "-o", f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"]),
        check=True, capture_output=True)
    try:
        yield f"postgresql://portal@127.0.0.1:{port}"
    finally:
        subprocess.run(_as_postgres([f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "stop"]),
                       capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


# --- Redis (shared rate-limit storage for several app servers) -------------------------
# A throwaway server from Debian's `redis-server` package (installed by `make test`) on a
# free loopback port, nothing written to disk; one per session.

@pytest.fixture(scope="session")
def redis_server():
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not os.path.exists(binary):
        pytest.fail("Redis is not installed: `make test` installs Debian's redis-server")
    folder = tempfile.mkdtemp(prefix="portal-redis-")
    port = _free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", folder, "--unixsocket", "", "--protected-mode", "yes"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if process.poll() is not None:
                pytest.fail("redis-server exited at start")
            time.sleep(0.05)
        else:
            pytest.fail("redis-server did not answer")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)
