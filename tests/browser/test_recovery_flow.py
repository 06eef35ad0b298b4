"""忘记密码, 找回用户名 and 修改手机号码 in real Chromium, driven by labels and button names."""
import re

import pytest
from playwright.sync_api import expect

from tests.factories import PASSWORD

NEW_PASSWORD = "fresh-pass-42"


@pytest.fixture
def student(live_server, make_account):
    return make_account(username="zhao@example.edu.cn", real_name="赵六",
                        id_number="11010519491231002X", phone="13812345678")


def test_reset_password_with_javascript(page, student, log_in, live_server):
    outbox = live_server.outbox
    page.goto("/login")
    page.get_by_role("link", name="忘记密码").click()
    expect(page).to_have_url(re.compile(r"/recover/password$"))
    expect(page.get_by_role("heading", name="忘记密码", level=1)).to_be_visible()
    page.evaluate("window.__marker = 'still-here'")  # htmx swaps the steps; a reload would drop it

    page.get_by_label("用户名").fill(student.username)
    page.get_by_role("button", name="下一步").click()
    page.get_by_role("button", name="获取校验码").click()
    expect(page.get_by_role("status")).to_contain_text("校验码已发送到该账号绑定的手机或邮箱")
    assert outbox.last()["to"] == student.phone

    page.get_by_label("校验码", exact=True).fill(outbox.last_code())
    page.get_by_role("button", name="下一步").click()
    expect(page.get_by_role("heading", name="设置新密码")).to_be_visible()
    page.get_by_label("新密码", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("确认新密码").fill(NEW_PASSWORD)
    assert page.evaluate("window.__marker") == "still-here", "a step reloaded the page"
    page.get_by_role("button", name="保存新密码").click()

    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("status")).to_have_text(
        "密码已重设，请用新密码登录。其他设备上的登录已全部退出。")
    assert "重设" in outbox.last()["body"] and outbox.last()["to"] == student.phone

    log_in(student.username, PASSWORD)
    expect(page.get_by_role("alert")).to_have_text("用户名或密码不正确。")
    log_in(student.username, NEW_PASSWORD)
    expect(page).to_have_url(live_server.url + "/records/")
    expect(page.get_by_role("status")).to_have_text("欢迎回来，赵六。")


def test_find_username_without_javascript(nojs_page, student, live_server):
    page, outbox = nojs_page, live_server.outbox
    page.goto("/login")
    page.get_by_role("link", name="找回用户名").click()
    expect(page.get_by_role("heading", name="找回用户名", level=1)).to_be_visible()

    page.get_by_label("姓名").fill("赵六")
    page.get_by_label("证件号码").fill("11010519491231002X")
    page.get_by_role("button", name="下一步").click()
    expect(page).to_have_url(re.compile(r"/recover/username$"))
    page.get_by_role("button", name="获取校验码").click()
    expect(page.get_by_role("status")).to_contain_text("校验码已发送")
    assert outbox.last()["to"] == student.phone

    page.get_by_label("校验码", exact=True).fill(outbox.last_code())
    page.get_by_role("button", name="下一步").click()
    expect(page.get_by_role("heading", name="已找到你的用户名")).to_be_visible()
    expect(page.locator("#masked-username")).to_have_text("z***@example.edu.cn")
    expect(page.locator("main")).not_to_contain_text(student.username)
    assert outbox.last()["to"] == student.phone
    assert student.username in outbox.last()["body"]


def test_change_phone_from_the_account_page(page, student, log_in, live_server):
    outbox = live_server.outbox
    log_in(student.username, PASSWORD)
    expect(page.get_by_role("status")).to_have_text("欢迎回来，赵六。")
    page.get_by_role("link", name="赵六").click()
    expect(page).to_have_url(re.compile(r"/account/$"))
    expect(page.locator("#profile-phone")).to_have_text("+86 138****5678")

    page.get_by_role("link", name="修改手机号码").click()
    page.get_by_label("新手机号码").fill("13900001234")
    page.get_by_label("当前密码").fill(PASSWORD)
    page.get_by_role("button", name="获取校验码").click()
    expect(page.get_by_role("status")).to_have_text("校验码已发送至新号码 +86 139****1234。")
    assert outbox.last()["to"] == "+8613900001234"  # the NEW number, not the bound one

    page.get_by_label("校验码", exact=True).fill(outbox.last_code())
    page.get_by_role("button", name="确认修改").click()
    expect(page).to_have_url(re.compile(r"/account/$"))
    expect(page.get_by_role("status")).to_have_text("手机号码已改为 +86 139****1234。")
    expect(page.locator("#profile-phone")).to_have_text("+86 139****1234")
    # Both the old and the new number are told about the change.
    assert {m["to"] for m in outbox.messages()[-2:]} == {"+8613812345678", "+8613900001234"}


# Enter in a text field clicks the form's first submit button. In the code forms
# that used to be 获取校验码: the typed code was never checked (without JS a new
# code was requested; with JS the button was counting down, so nothing happened).

def test_enter_in_the_code_field_checks_the_code_without_javascript(nojs_page, student, live_server):
    page = nojs_page
    page.goto("/recover/username")
    page.get_by_label("姓名").fill("赵六")
    page.get_by_label("证件号码").fill("11010519491231002X")
    page.get_by_label("证件号码").press("Enter")
    page.get_by_role("button", name="获取校验码").click()
    expect(page.get_by_role("status")).to_contain_text("校验码已发送")

    page.get_by_label("校验码", exact=True).fill(live_server.outbox.last_code())
    page.get_by_label("校验码", exact=True).press("Enter")
    expect(page.get_by_role("heading", name="已找到你的用户名")).to_be_visible()
    assert len(live_server.outbox.messages()) == 2  # the code, then the username


def test_enter_in_the_code_field_checks_the_code_with_javascript(page, student, log_in, live_server):
    log_in(student.username, PASSWORD)
    expect(page.get_by_role("status")).to_have_text("欢迎回来，赵六。")
    page.goto("/account/phone")
    page.get_by_label("新手机号码").fill("13900001234")
    page.get_by_label("当前密码").fill(PASSWORD)
    page.get_by_label("当前密码").press("Enter")
    expect(page.get_by_role("button", name=re.compile("^重新获取校验码"))).to_be_disabled()

    page.get_by_label("校验码", exact=True).fill(live_server.outbox.last_code())
    page.get_by_label("校验码", exact=True).press("Enter")
    expect(page.locator("#profile-phone")).to_have_text("+86 139****1234")
