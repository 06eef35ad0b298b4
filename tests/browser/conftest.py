"""Browser fixtures: the real app on a live port, driven by headless Chromium.

One Chromium for the whole session; every test gets its own app (fresh
instance folder and database), its own server thread and its own browser
context. CSRF is on, as in production; rate limits are off so tests may
repeat steps quickly.
"""
import threading

import pytest
from playwright.sync_api import expect, sync_playwright
from werkzeug.serving import make_server

from tests.browser.drivers import Person, Wizard, new_context
from tests.factories import Outbox

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]

expect.set_options(timeout=10_000)


class LiveServer:
    def __init__(self, app):
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.outbox = Outbox(app.config["OUTBOX_PATH"])
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@pytest.fixture
def live_server(app_factory):
    app = app_factory(WTF_CSRF_ENABLED=True, RATELIMIT_ENABLED=False)
    with LiveServer(app) as server:
        yield server


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def context(browser, live_server):
    context = new_context(browser, live_server)
    yield context
    context.close()


@pytest.fixture
def nojs_context(browser, live_server):
    context = new_context(browser, live_server, java_script_enabled=False)
    yield context
    context.close()


@pytest.fixture
def page(context):
    page = context.new_page()
    yield page
    assert not context.foreign_requests, context.foreign_requests


@pytest.fixture
def nojs_page(nojs_context):
    page = nojs_context.new_page()
    yield page
    assert not nojs_context.foreign_requests, nojs_context.foreign_requests


# --- the registration wizard, step by step ---------------------------------------

@pytest.fixture
def wizard(page, live_server):
    return Wizard(page, live_server.outbox)


@pytest.fixture
def nojs_wizard(nojs_page, live_server):
    return Wizard(nojs_page, live_server.outbox)


@pytest.fixture
def log_in(page):
    """Submit the login form at /login (the result is for the test to check)."""
    def submit(username=Person.username, password=Person.password):
        page.goto("/login")
        page.get_by_label("用户名").fill(username)
        page.get_by_label("密码").fill(password)
        page.get_by_role("button", name="登录", exact=True).click()
    return submit


# --- the demo data set and a second, anonymous visitor ---------------------------

@pytest.fixture
def demo_data(live_server):
    """The demo package's records (and photos) in the live server's database."""
    import demo
    import models
    app = live_server.app
    with app.app_context(), models.db.connection_context():
        demo.seed(school_names=app.config["SCHOOL_NAMES"])
    return demo


@pytest.fixture
def verifier_page(browser, live_server):
    """A page in a second context: someone who is not logged in (an employer, say)."""
    context = new_context(browser, live_server)
    page = context.new_page()
    yield page
    context.close()
    assert not context.foreign_requests, context.foreign_requests


# --- the registrar and the work waiting for them --------------------------------

class Registrar:
    username = "office"
    password = "Desk-pass-2026"


@pytest.fixture
def registrar(live_server):
    """A registrar account (as `flask admin create` makes one) that has enrolled an
    authenticator app already: logging in asks for a 动态验证码
    (drivers.enter_second_factor computes it from the secret in the database)."""
    import pyotp

    import models
    from services import accounts
    with live_server.app.app_context(), models.db.connection_context():
        account, _ = accounts.create_or_reset_admin(Registrar.username, Registrar.password)
        models.StaffTotp.create(account=account, secret=pyotp.random_base32(),
                                enrolled_at=models.utcnow())
    return Registrar
