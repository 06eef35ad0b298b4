"""axe-core finds no violations on the wizard, login, welcome, appeal, recovery and account pages.

axe-playwright-python ships axe.min.js inside the package and injects it with
page.evaluate, so no network is needed; the `page` fixture fails the test if
the browser requested anything from another origin.
"""
from pathlib import Path

import axe_playwright_python
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

import models
from models import Appeal
from tests.conftest import PASSWORD

AXE = Axe()


@pytest.fixture
def audit(page):
    """Run axe on the page as it is now; report every failing screen at the end."""
    failures = []

    def run(screen):
        results = AXE.run(page)
        if results.violations_count:
            failures.append(f"== {screen} ({page.url})\n{results.generate_report()}")

    yield run
    assert not failures, "\n\n".join(failures)


def test_axe_is_loaded_from_the_package():
    bundled = Path(axe_playwright_python.__file__).parent / "axe.min.js"
    assert AXE.axe_script == bundled.read_text()
    assert AXE.axe_script.startswith("/*! axe v4.")


def test_wizard_steps_have_no_violations(page, wizard, audit):
    wizard.open()
    audit("notice")
    wizard.accept_notice()
    audit("identity")

    wizard.fill_identity(id_number="110105194912310021", password_confirm="other-pass-2")
    expect(page.locator("#field-id-number .error")).to_be_visible()
    audit("identity with errors")

    wizard.fill_identity()
    wizard.expect_step("第 3 步：获取校验码")
    audit("code")
    code = wizard.request_code()
    audit("code sent, counting down")
    wizard.enter_code(code)
    audit("confirm")

    wizard.confirm()
    audit("welcome")


def test_login_pages_have_no_violations(page, log_in, audit):
    page.goto("/login")
    audit("login")
    log_in("nobody@example.com", "wrong-pass-1")
    expect(page.get_by_role("alert")).to_have_text("用户名或密码不正确。")
    audit("login, wrong password")
    log_in("", "")
    expect(page.locator("#field-login .error")).to_be_visible()
    audit("login, empty fields")


def test_appeal_page_has_no_violations(page, audit):
    page.goto("/register/appeal")
    expect(page.get_by_role("heading", name="证件号码申诉")).to_be_visible()
    audit("appeal")


# --- recovery, appeal status and the account pages -----------------------------

@pytest.fixture
def student(live_server, make_account):
    return make_account(username="zhao@example.edu.cn", real_name="赵六",
                        id_number="11010519491231002X", phone="13812345678")


def test_find_username_steps_have_no_violations(page, student, live_server, audit):
    page.goto("/recover/username")
    audit("find username: identify")
    page.get_by_role("button", name="下一步").click()
    expect(page.locator("#field-real-name .error")).to_be_visible()
    audit("find username: identify with errors")

    page.get_by_label("姓名").fill(student.real_name)
    page.get_by_label("证件号码").fill(student.id_number)
    page.get_by_role("button", name="下一步").click()
    expect(page.get_by_label("校验码", exact=True)).to_be_visible()
    audit("find username: code")
    page.get_by_role("button", name="获取校验码").click()
    expect(page.get_by_role("status")).to_contain_text("校验码已发送")
    audit("find username: code sent")
    page.get_by_label("校验码", exact=True).fill("000000")
    page.get_by_role("button", name="下一步").click()
    expect(page.locator("#field-code .error")).to_be_visible()
    audit("find username: wrong code")

    page.get_by_label("校验码", exact=True).fill(live_server.outbox.last_code())
    page.get_by_role("button", name="下一步").click()
    expect(page.get_by_role("heading", name="已找到你的用户名")).to_be_visible()
    audit("find username: result")


def test_reset_password_steps_have_no_violations(page, student, live_server, audit):
    page.goto("/recover/password")
    audit("reset password: identify")
    page.get_by_label("用户名").fill(student.username)
    page.get_by_role("button", name="下一步").click()
    expect(page.get_by_label("校验码", exact=True)).to_be_visible()
    audit("reset password: code")
    page.get_by_role("button", name="获取校验码").click()
    expect(page.get_by_role("status")).to_contain_text("校验码已发送")
    page.get_by_label("校验码", exact=True).fill("000000")
    page.get_by_role("button", name="下一步").click()
    expect(page.locator("#field-code .error")).to_be_visible()
    audit("reset password: wrong code")

    page.get_by_label("校验码", exact=True).fill(live_server.outbox.last_code())
    page.get_by_role("button", name="下一步").click()
    expect(page.get_by_role("heading", name="设置新密码")).to_be_visible()
    audit("reset password: new password")
    page.get_by_label("新密码", exact=True).fill("short")
    page.get_by_role("button", name="保存新密码").click()
    expect(page.locator("#field-password-confirm .error")).to_be_visible()
    audit("reset password: new password with errors")


def test_appeal_status_page_has_no_violations(page, audit):
    page.goto("/register/appeal/status")
    expect(page.get_by_role("heading", name="申诉进度查询")).to_be_visible()
    audit("appeal status")
    page.get_by_role("button", name="查询").click()
    expect(page.locator("#field-reference .error")).to_be_visible()
    audit("appeal status, empty fields")
    page.get_by_label("申诉编号").fill("SS20260101-AAAAAA")
    page.get_by_label("证件号码").fill("11010519491231002X")
    page.get_by_role("button", name="查询").click()
    expect(page.locator("#field-reference .error")).to_contain_text("没有找到")
    audit("appeal status, not found")


def test_account_pages_have_no_violations(page, student, live_server, log_in, audit):
    with live_server.app.app_context(), models.db.connection_context():
        Appeal.create(reference="SS20260101-ABC234", real_name="钱七", id_type="居民身份证",
                      id_number=student.id_number, contact_email="qian@example.com",
                      photo_path="x.jpg", status=Appeal.REJECTED, decision_reason="照片看不清证件号码")
    log_in(student.username, "wrong-pass-1")  # one failed attempt for the login history
    log_in(student.username, PASSWORD)
    expect(page.get_by_role("status")).to_have_text("欢迎回来，赵六。")

    page.goto("/account/")
    audit("account: profile")
    for url, heading in (("/account/username", "修改用户名"), ("/account/phone", "修改手机号码"),
                         ("/account/password", "修改密码"), ("/account/logins", "登录记录"),
                         ("/account/appeals", "我的申诉")):
        page.goto(url)
        expect(page.get_by_role("heading", name=heading, level=2)).to_be_visible()
        audit(f"account: {heading}")
    expect(page.locator("#appeal-list")).to_contain_text("SS20260101-ABC234")

    page.goto("/account/logins")
    expect(page.locator("#failed-logins")).to_be_visible()

    page.goto("/account/phone")
    page.get_by_role("button", name="获取校验码").click()
    expect(page.locator("#field-new-phone .error")).to_be_visible()
    audit("account: phone with errors")
    page.get_by_label("新手机号码").fill("13900001234")
    page.get_by_label("当前密码").fill(PASSWORD)
    page.get_by_role("button", name="获取校验码").click()
    expect(page.get_by_role("button", name="确认修改")).to_be_visible()
    audit("account: phone code")
    page.get_by_role("button", name="确认修改").click()
    expect(page.locator("#field-code .error")).to_be_visible()
    audit("account: phone code, empty code")
