"""Browser fixtures: the real app on a live port, driven by headless Chromium.

One Chromium for the whole session; every test gets its own app (fresh
instance folder and database), its own server thread and its own browser
context. CSRF is on, as in production; rate limits are off so tests may
repeat steps quickly.
"""
import threading
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect, sync_playwright
from werkzeug.serving import make_server

from tests.conftest import Outbox

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


def _context(browser, live_server, **options):
    """A context bound to the live server that records any request leaving it."""
    context = browser.new_context(base_url=live_server.url, locale="zh-CN", **options)
    context.set_default_timeout(10_000)
    context.foreign_requests = []
    origin = urlsplit(live_server.url).netloc

    def watch(request):
        if urlsplit(request.url).netloc != origin:
            context.foreign_requests.append(request.url)

    context.on("request", watch)
    return context


@pytest.fixture
def context(browser, live_server):
    context = _context(browser, live_server)
    yield context
    context.close()


@pytest.fixture
def nojs_context(browser, live_server):
    context = _context(browser, live_server, java_script_enabled=False)
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

class Person:
    """The student who registers in these tests (a public example ID number)."""
    username = "lihua@example.com"
    real_name = "李华"
    id_number = "11010519491231002X"
    phone = "13812345678"
    password = "secret-pass-1"


class Wizard:
    """Drives /register the way a person does: by headings, labels and button names."""

    def __init__(self, page, outbox, person=Person):
        self.page = page
        self.outbox = outbox
        self.person = person

    def open(self):
        self.page.goto("/register")
        self.expect_step("第 1 步：注册须知")

    def expect_step(self, heading):
        expect(self.page.get_by_role("heading", name=heading)).to_be_visible()

    def accept_notice(self):
        self.page.get_by_label("我已阅读并同意以上须知").check()
        self.page.get_by_role("button", name="同意并继续").click()
        self.expect_step("第 2 步：身份信息")

    def fill_identity(self, **overrides):
        """Fill and submit the identity step; keyword arguments replace the person's data."""
        p = self.person
        values = dict(username=p.username, real_name=p.real_name, id_number=p.id_number,
                      phone=p.phone, password=p.password)
        values.update(overrides)
        values.setdefault("password_confirm", values["password"])
        page = self.page
        page.get_by_label("用户名").fill(values["username"])
        page.get_by_label("姓名").fill(values["real_name"])
        page.get_by_label("证件号码").fill(values["id_number"])
        page.get_by_label("手机号码").fill(values["phone"])
        page.get_by_label("密码", exact=True).fill(values["password"])
        page.get_by_label("确认密码").fill(values["password_confirm"])
        page.get_by_role("button", name="下一步").click()

    def request_code(self):
        """Ask for a code by SMS; return the code the outbox received."""
        self.page.get_by_role("button", name="获取校验码").click()
        expect(self.page.get_by_role("status").filter(has_text="校验码已发送至")).to_be_visible()
        assert self.outbox.last()["to"] == self.person.phone
        return self.outbox.last_code()

    def enter_code(self, code):
        self.page.get_by_label("校验码", exact=True).fill(code)
        self.page.get_by_role("button", name="下一步").click()
        self.expect_step("第 4 步：核对注册信息")

    def confirm(self):
        facts = self.page.locator("dl.facts")
        for value in (self.person.username, self.person.real_name, self.person.id_number):
            expect(facts).to_contain_text(value)
        self.page.get_by_role("button", name="是，信息无误").click()
        expect(self.page.get_by_role("heading", name="注册成功")).to_be_visible()

    def register(self):
        """The whole wizard, from /register to the welcome page."""
        self.open()
        self.accept_notice()
        self.fill_identity()
        self.expect_step("第 3 步：获取校验码")
        self.enter_code(self.request_code())
        self.confirm()

    # With JavaScript, htmx swaps #wizard in place: a window property set before
    # a step survives it; a full page load would wipe it.
    def set_marker(self):
        self.page.evaluate("window.__marker = 'still-here'")

    def assert_no_reload(self):
        assert self.page.evaluate("window.__marker") == "still-here", "the page was reloaded"


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
        demo.seed(school_names=app.config["SCHOOL_NAMES"], upload_dir=app.config["UPLOAD_DIR"])
    return demo


def student_from(demo_person):
    """One of the demo package's three people, in the shape Wizard expects."""
    return type("DemoStudent", (Person,), dict(
        username=demo_person.username, real_name=demo_person.name,
        id_number=demo_person.id_number, phone=demo_person.phone))


@pytest.fixture
def verifier_page(browser, live_server):
    """A page in a second context: someone who is not logged in (an employer, say)."""
    context = _context(browser, live_server)
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
    """A registrar account (as `flask admin create` makes one)."""
    import models
    from services import accounts
    with live_server.app.app_context(), models.db.connection_context():
        accounts.create_or_reset_admin(Registrar.username, Registrar.password)
    return Registrar


class AppClient:
    """The live app's test client, posting forms the way a browser does: CSRF token
    taken from the form page first (CSRF stays on for the live server)."""

    def __init__(self, app):
        self.client = app.test_client()

    def post_form(self, url, data, form_url=None, status=303):
        import re
        page = self.client.get(form_url or url)
        assert page.status_code == 200, (form_url or url, page.status_code)
        tag = re.search(r'<input[^>]*name="csrf_token"[^>]*>', page.get_data(as_text=True))
        assert tag, f"no CSRF token on {form_url or url}"
        data = dict(data, csrf_token=re.search(r'value="([^"]+)"', tag.group(0)).group(1))
        response = self.client.post(url, data=data, content_type="multipart/form-data")
        assert response.status_code == status, (url, response.status_code,
                                             response.get_data(as_text=True)[:2000])
        return response


def file_correction(app, username, password, kind, record_id, field, proposed, reason,
                    evidence=None):
    """A student's correction request, filed through the app (log in, then the form)."""
    import io
    client = AppClient(app)
    client.post_form("/login", {"login": username, "password": password})
    data = {"field": field, "proposed_value": proposed, "reason": reason}
    if evidence is not None:
        data["evidence"] = (io.BytesIO(evidence[1]), evidence[0])
    client.post_form(f"/records/{kind}/{record_id}/correct", data)


def file_appeal(app, real_name, id_number, contact_email, photo_png: bytes):
    """An ID-number appeal with its photo, filed through the app's public form."""
    import io
    AppClient(app).post_form("/register/appeal", dict(
        real_name=real_name, id_type="居民身份证", id_number=id_number,
        contact_email=contact_email, photo=(io.BytesIO(photo_png), "me.png")), status=200)


def png_bytes(size=(64, 48), colour=(200, 200, 190)):
    import io
    from PIL import Image
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()
