"""Driving the browser: contexts bound to the live server, and the registration
wizard as a person goes through it (by headings, labels and button names).

Fixtures live in conftest.py; test modules import these helpers from here.
"""
from urllib.parse import urlsplit

from playwright.sync_api import expect


def new_context(browser, live_server, **options):
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
        assert self.outbox.last()["to"] == "+86" + self.person.phone  # E.164
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


def student_from(demo_person):
    """One of services.demo's three people, in the shape Wizard expects."""
    return type("DemoStudent", (Person,), dict(
        username=demo_person.username, real_name=demo_person.name,
        id_number=demo_person.id_number, phone=demo_person.phone))


def enter_second_factor(page, username):
    """The registrar's second step at login: the code their authenticator app would
    show, computed from the secret in the database."""
    import re

    from playwright.sync_api import expect

    from tests.factories import second_factor_code
    expect(page).to_have_url(re.compile(r"/login/code$"))
    page.get_by_label("动态验证码").fill(second_factor_code(username))
    page.get_by_role("button", name="登录", exact=True).click()
