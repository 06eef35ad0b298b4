"""axe-core finds no violations on the wizard, login, welcome, appeal, recovery, account,
records, reports, verification and registrar (学籍管理) pages.

axe-playwright-python ships axe.min.js inside the package and injects it with
page.evaluate, so no network is needed; the `page` fixture fails the test if
the browser requested anything from another origin.
"""
import datetime
import re
from pathlib import Path

import axe_playwright_python
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

import models
from models import Appeal, Report
from tests.browser.drivers import enter_second_factor
from tests.factories import (PASSWORD, csv_bytes, enrollment, file_appeal, file_correction,
                             png_bytes)

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
    # The ID holder sees a notice, not the appellant's reference (issue 9, item 14).
    expect(page.locator("#appeal-list")).to_contain_text("有人提交过关于你的证件号码的申诉")
    expect(page.locator("#appeal-list")).not_to_contain_text("SS20260101-ABC234")

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


# --- records, corrections, binding ------------------------------------------------

def log_in_as(log_in, page, make_account, person):
    make_account(username=person.username, real_name=person.name, id_number=person.id_number,
                 phone=person.phone)
    log_in(person.username, PASSWORD)
    expect(page.get_by_role("status")).to_have_text(f"欢迎回来，{person.name}。")


def test_records_pages_have_no_violations(page, live_server, demo_data, make_account,
                                          make_record, log_in, audit, tmp_path):
    person = demo_data.ZHANG_WEI
    # A diploma without a photo, next to his demo records that have one.
    make_record("diploma", name=person.name, id_number=person.id_number, photo=None)
    log_in_as(log_in, page, make_account, person)

    page.goto("/records/")
    expect(page.locator("#section-degree")).to_contain_text("暂无学位记录。")
    expect(page.locator("#section-diploma li")).to_have_count(2)
    audit("records: some sections filled, some empty")

    page.locator("#section-diploma").get_by_role("link", name=re.compile("示范大学 .* 2005-")).click()
    expect(page.get_by_role("img", name="学历照片")).to_have_js_property("naturalWidth", 120)
    audit("record detail with photo")
    page.goto("/records/")
    page.locator("#section-diploma").get_by_role("link", name=re.compile("汉语言文学")).click()
    expect(page.get_by_role("img", name="暂无照片")).to_be_visible()
    audit("record detail without photo")

    page.get_by_role("link", name="信息有误").click()
    expect(page.get_by_role("heading", name="信息有误")).to_be_visible()
    correct = page.url
    audit("correction form")
    page.get_by_role("button", name="提交更正申请").click()
    expect(page.locator("#field-proposed-value .error")).to_be_visible()
    audit("correction form with errors")
    not_an_image = tmp_path / "scan.png"
    not_an_image.write_text("not a picture")
    page.get_by_label("正确的内容").fill("汉语言")
    page.get_by_label("理由").fill("与毕业证书不一致。")
    page.get_by_label("证明材料（可选）").set_input_files(not_an_image)
    page.get_by_role("button", name="提交更正申请").click()
    expect(page.locator("#field-evidence .error")).to_be_visible()
    audit("correction form, evidence refused")

    page.goto("/records/corrections")
    expect(page.get_by_role("heading", name="我的更正申请")).to_be_visible()
    audit("corrections, none yet")
    page.goto(correct)
    page.get_by_label("正确的内容").fill("汉语言")
    page.get_by_label("理由").fill("与毕业证书不一致。")
    page.get_by_role("button", name="提交更正申请").click()
    expect(page.locator("#correction-list")).to_contain_text("待处理")
    audit("corrections, one pending")

    page.goto("/records/bind")
    audit("bind")
    page.get_by_role("button", name="绑定").click()
    expect(page.locator("#field-certificate-number .error")).to_be_visible()
    expect(page.locator("#field-year .error")).to_be_visible()
    audit("bind with errors")
    page.get_by_label("证书编号").fill("NO.00298958")
    page.get_by_label("毕业年份").fill("1994")
    page.get_by_role("button", name="绑定").click()
    expect(page.locator("#field-certificate-number .error")).to_contain_text("没有找到")
    audit("bind, nothing found")


def test_records_page_with_no_records_has_no_violations(page, live_server, make_account, log_in,
                                                        audit):
    make_account(username="nobody@example.edu.cn", real_name="孙八")
    log_in("nobody@example.edu.cn", PASSWORD)
    expect(page.locator("#section-enrollment")).to_contain_text("暂无学籍记录。")
    audit("records: every section empty")


# --- reports and the public verification pages --------------------------------------

def test_report_pages_have_no_violations(page, live_server, demo_data, make_account, log_in,
                                         audit):
    log_in_as(log_in, page, make_account, demo_data.LI_HUA)
    page.goto("/reports/")
    expect(page.locator("#reports")).to_contain_text("你还没有申请过在线验证报告。")
    audit("reports, none yet")

    page.goto("/records/")
    page.locator("#section-diploma").get_by_role("link").click()
    page.get_by_role("link", name="申请在线验证报告").click()
    expect(page.get_by_role("heading", name="申请在线验证报告")).to_be_visible()
    new_report = page.url
    audit("new report")
    page.get_by_role("button", name="生成报告").click()
    expect(page).to_have_url(re.compile(r"/reports/\d+$"))
    audit("report, not checked yet")
    code = page.locator("#report-code").text_content().replace(" ", "")
    detail = page.url

    page.goto(f"/verify/{code}")
    expect(page.locator("#verify-outcome")).to_contain_text("有效的在线验证报告")
    audit("verify: valid")
    page.goto("/verify/")
    page.get_by_label("在线验证码").fill(code)
    page.get_by_label("单位名称（可选）").fill("示范科技有限公司")
    page.get_by_label("用途（可选）").fill("入职审核")
    page.get_by_role("button", name="查验").click()
    expect(page.locator("#verify-outcome")).to_contain_text("有效的在线验证报告")

    page.goto(detail)
    expect(page.locator("#verification-list tbody tr")).to_have_count(2)
    audit("report with verifications")
    page.goto("/reports/")
    expect(page.locator("#report-list tbody tr")).to_have_count(1)
    audit("reports, one")
    page.goto(new_report)
    expect(page.get_by_role("button", name="延长有效期")).to_be_visible()
    audit("new report, one already valid")

    page.goto(detail)
    page.get_by_role("button", name="立即关闭报告").click()
    expect(page.locator("#report-close")).to_contain_text("关闭不能撤销。")
    audit("report, close confirmation")
    page.get_by_role("button", name="确认关闭").click()
    expect(page.locator("dl.facts .state")).to_have_text("已关闭")
    audit("report, closed")
    page.goto(f"/verify/{code}")
    expect(page.get_by_role("alert")).to_contain_text("已被本人关闭")
    audit("verify: closed")

    page.goto("/records/")
    page.locator("#section-degree").get_by_role("link").click()
    page.get_by_role("link", name="申请在线验证报告").click()
    page.get_by_role("button", name="生成报告").click()
    expired = page.locator("#report-code").text_content().replace(" ", "")
    with live_server.app.app_context(), models.db.connection_context():
        Report.update(expires_at=datetime.datetime(2020, 1, 1)).where(
            Report.code.matches(expired)).execute()
    page.goto(f"/verify/{expired}")
    expect(page.get_by_role("alert")).to_contain_text("该报告已过期")
    audit("verify: expired")
    page.goto("/verify/ABCDEFGHJKLMNPQR")
    expect(page.get_by_role("alert")).to_contain_text("没有这个在线验证码对应的报告")
    audit("verify: unknown")
    page.goto("/verify/not-a-code")
    expect(page.get_by_role("alert")).to_contain_text("这不是有效的在线验证码格式")
    audit("verify: malformed")


def test_verify_forms_have_no_violations(page, live_server, audit, tmp_path):
    page.goto("/verify/")
    audit("verify form")
    page.get_by_role("button", name="查验").click()
    expect(page.locator("#field-code .error")).to_contain_text("请填写在线验证码。")
    audit("verify form, empty code")
    page.get_by_label("在线验证码").fill("12345")
    page.get_by_role("button", name="查验").click()
    expect(page.locator("#field-code .error")).to_contain_text("这不是有效的在线验证码格式")
    audit("verify form, malformed code")

    page.goto("/verify/pdf")
    audit("verify pdf")
    page.get_by_role("button", name="查验").click()
    expect(page.locator("#field-pdf .error")).to_contain_text("请选择要查验的 PDF 文件。")
    audit("verify pdf, no file")
    not_a_pdf = tmp_path / "report.pdf"
    not_a_pdf.write_text("this is not a PDF")
    page.get_by_label("报告 PDF 文件").set_input_files(not_a_pdf)
    page.get_by_role("button", name="查验").click()
    expect(page.locator("#pdf-outcome")).to_be_visible()
    audit("verify pdf, not a PDF")


# --- the registrar's pages ---------------------------------------------------------

def test_admin_pages_have_no_violations(page, live_server, registrar, make_account, make_record,
                                        log_in, audit, tmp_path):
    app = live_server.app
    student = make_account(username="zhang@example.edu.cn", real_name="张三")
    record = make_record("diploma", account=student.id)
    file_correction(app, student.username, PASSWORD, "diploma", record.id, "major",
                    "汉语言文学（师范）", "与毕业证书原件不一致。",
                    evidence=("scan.png", png_bytes()))
    file_appeal(app, "张三", student.id_number, "real@example.com", png_bytes((30, 40)))

    log_in(registrar.username, registrar.password)
    expect(page).to_have_url(re.compile(r"/login/code$"))
    audit("admin: 动态验证码")
    enter_second_factor(page, registrar.username)
    expect(page).to_have_url(live_server.url + "/admin/")
    expect(page.locator("#stats-corrections")).to_contain_text("待处理的更正申请：1")
    audit("admin: dashboard")

    page.goto("/admin/corrections")
    expect(page.locator("#admin-correction-list tbody tr")).to_have_count(1)
    audit("admin: corrections, one pending")
    page.goto("/admin/corrections?status=approved")
    expect(page.locator("#admin-corrections")).to_contain_text("没有这类更正申请。")
    audit("admin: corrections, none adopted")
    page.goto("/admin/corrections")
    page.locator("#admin-correction-list").get_by_role("link").click()
    expect(page.get_by_role("heading", name=re.compile("更正申请 #"))).to_be_visible()
    expect(page.get_by_role("link", name="查看")).to_be_visible()
    audit("admin: correction")
    page.get_by_role("button", name="提交决定").click()
    expect(page.locator("#field-decision .error")).to_be_visible()
    audit("admin: correction, no decision")
    page.get_by_label("不采纳 / 不通过").check()
    page.get_by_role("button", name="提交决定").click()
    expect(page.locator("#field-reply .error")).to_contain_text("必须写明理由")
    audit("admin: correction, declined without a reason")

    page.goto("/admin/appeals")
    expect(page.locator("#admin-appeal-list tbody tr")).to_have_count(1)
    audit("admin: appeals, one pending")
    page.goto("/admin/appeals?status=rejected")
    expect(page.locator("#admin-appeals")).to_contain_text("没有这类申诉。")
    audit("admin: appeals, none rejected")
    page.goto("/admin/appeals")
    page.locator("#admin-appeal-list").get_by_role("link").click()
    expect(page.get_by_role("img", name="手持证件照片")).to_have_js_property("naturalWidth", 30)
    expect(page.locator("#appeal-holder")).to_contain_text(student.username)
    audit("admin: appeal with photo")
    page.get_by_label("不采纳 / 不通过").check()
    page.get_by_role("button", name="提交决定").click()
    expect(page.locator("#field-reply .error")).to_contain_text("必须写明理由")
    expect(page.get_by_role("img", name="手持证件照片")).to_have_js_property("naturalWidth", 30)
    audit("admin: appeal, declined without a reason")

    page.goto("/admin/import")
    expect(page.get_by_role("heading", name="导入记录")).to_be_visible()
    audit("admin: import")
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes([enrollment(**{"入学日期": "2019-02-30"})]))
    page.get_by_label("记录类别").select_option("enrollment")
    page.get_by_label("数据文件").set_input_files(bad)
    page.get_by_role("button", name="上传并预览").click()
    expect(page.locator("#import-errors")).to_contain_text("第 2 行「入学日期」")
    audit("admin: import, file refused")
    good = tmp_path / "good.csv"
    good.write_bytes(csv_bytes([enrollment()]))
    page.get_by_label("记录类别").select_option("enrollment")
    page.get_by_label("数据文件").set_input_files(good)
    page.get_by_role("button", name="上传并预览").click()
    expect(page.locator("#import-counts")).to_contain_text("将新增 1 条")
    audit("admin: import, preview")
    page.get_by_role("button", name="导入", exact=True).click()
    expect(page.locator("#flash")).to_contain_text("新增 1 条")
    expect(page.locator("#import-status")).to_have_text("已导入")
    audit("admin: import, done")
    page.goto("/admin/imports")
    expect(page.locator("#import-list")).to_contain_text("good.csv")
    audit("admin: import history")

    # The registrar's pages of issue 10: search, person, record, forms, staff,
    # settings, certificates, the audit log, the binding queue.
    page.goto("/admin/search?q=" + student.username)
    expect(page.locator("#search-table tbody tr")).not_to_have_count(0)
    audit("admin: search")
    page.goto(f"/admin/people/{student.id}")
    expect(page.locator("#account-actions, #person-records").first).to_be_visible()
    audit("admin: person")
    page.goto(f"/admin/records/diploma/{record.id}")
    expect(page.locator("#record-actions")).to_be_visible()
    audit("admin: record")
    page.goto(f"/admin/records/diploma/{record.id}/edit")
    page.get_by_label("专业", exact=True).fill("")
    page.get_by_role("button", name="保存改动").click()
    expect(page.locator("#field-major .error")).to_be_visible()
    audit("admin: record edit, a required field left empty")
    page.goto("/admin/records/new")
    audit("admin: new record, choose the kind")
    for url, name in (("/admin/staff", "staff"), ("/admin/settings", "settings"),
                      ("/admin/settings/certificate", "certificate"),
                      ("/admin/audit", "audit log"), ("/admin/bindings", "binding queue"),
                      (f"/admin/accounts/{student.id}/actions", "student account actions")):
        assert page.goto(url).status == 200, url
        audit(f"admin: {name}")
