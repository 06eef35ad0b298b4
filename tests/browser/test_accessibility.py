"""axe-core finds no violations on the wizard steps, login, welcome and appeal pages.

axe-playwright-python ships axe.min.js inside the package and injects it with
page.evaluate, so no network is needed; the `page` fixture fails the test if
the browser requested anything from another origin.
"""
from pathlib import Path

import axe_playwright_python
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

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
