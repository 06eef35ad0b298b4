"""The registration wizard and login in real Chromium, with and without JavaScript."""
import re

from playwright.sync_api import expect



def test_wizard_with_javascript_swaps_steps_then_login(page, wizard, log_in, live_server):
    wizard.open()
    wizard.set_marker()  # after the one full page load; each step below is an htmx swap
    wizard.accept_notice()
    expect(page).to_have_url(re.compile(r"/register/identity$"))
    wizard.assert_no_reload()

    wizard.fill_identity()
    wizard.expect_step("第 3 步：获取校验码")
    expect(page).to_have_url(re.compile(r"/register/code$"))
    wizard.assert_no_reload()

    code = wizard.request_code()
    wizard.assert_no_reload()
    wizard.enter_code(code)
    expect(page).to_have_url(re.compile(r"/register/confirm$"))
    wizard.assert_no_reload()

    wizard.confirm()  # HX-Redirect: a real navigation to the welcome page, by design
    expect(page).to_have_url(re.compile(r"/register/done$"))
    expect(page.locator("#register-done")).to_contain_text(wizard.person.username)

    page.get_by_role("button", name="退出").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("status")).to_have_text("你已安全退出。")

    log_in()
    expect(page).to_have_url(live_server.url + "/records/")
    expect(page.get_by_role("status")).to_have_text(f"欢迎回来，{wizard.person.real_name}。")


def test_wizard_without_javascript_posts_and_redirects(nojs_page, nojs_wizard):
    page, wizard = nojs_page, nojs_wizard
    posts = {}
    page.on("response", lambda r: posts.__setitem__(r.url.split("/", 3)[3], r.status)
            if r.request.method == "POST" else None)

    wizard.open()
    wizard.accept_notice()
    expect(page).to_have_url(re.compile(r"/register/identity$"))
    wizard.fill_identity()
    expect(page).to_have_url(re.compile(r"/register/code$"))
    wizard.enter_code(wizard.request_code())
    expect(page).to_have_url(re.compile(r"/register/confirm$"))
    wizard.confirm()
    expect(page).to_have_url(re.compile(r"/register/done$"))

    assert posts == {"register/notice": 303, "register/identity": 303,
                     "register/code/send": 200, "register/code": 303,
                     "register/confirm": 303}


def test_htmx_swaps_422_with_field_messages(page, wizard):
    wizard.open()
    wizard.accept_notice()
    wizard.set_marker()
    responses = []
    page.on("response", lambda r: responses.append(r.status) if r.request.method == "POST" else None)
    wizard.fill_identity(id_number="110105194912310021", password_confirm="other-pass-2")

    expect(page.locator("#id-number-error")).to_have_text("身份证号码校验位不正确，请核对后重新输入。")
    expect(page.locator("#password-confirm-error")).to_have_text("两次输入的密码不一致。")
    id_number = page.get_by_label("证件号码")
    expect(id_number).to_have_attribute("aria-invalid", "true")
    expect(id_number).to_have_attribute("aria-describedby", "id-number-hint id-number-error")
    assert responses == [422]

    # What the person typed is kept, except the passwords.
    expect(page.get_by_label("用户名")).to_have_value(wizard.person.username)
    expect(page.get_by_label("姓名")).to_have_value(wizard.person.real_name)
    expect(id_number).to_have_value("110105194912310021")
    expect(page.get_by_label("手机号码")).to_have_value(wizard.person.phone)
    expect(page.get_by_label("密码", exact=True)).to_have_value("")
    expect(page.get_by_label("确认密码")).to_have_value("")
    wizard.assert_no_reload()


def test_send_button_counts_down(page, wizard):
    wizard.open()
    wizard.accept_notice()
    wizard.fill_identity()
    wizard.request_code()

    send = page.get_by_role("button", name=re.compile("^获取校验码"))
    expect(send).to_be_disabled()
    expect(send).to_have_text(re.compile(r"^获取校验码 \((60|59|58)\)$"))
    shown = send.text_content()
    expect(send).not_to_have_text(shown)  # one second later, one less
    expect(send).to_have_text(re.compile(r"^获取校验码 \(5\d\)$"))
    expect(send).to_be_disabled()
