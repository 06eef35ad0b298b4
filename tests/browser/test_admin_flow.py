"""学籍管理 in real Chromium: a registrar adopts a student's correction request and the
student sees it; a registrar imports a CSV with JavaScript off.

The correction request is filed through the app (login, then the correction form, CSRF
and all) by tests.factories.file_correction; the student looks at the outcome in
a second browser context of their own.
"""
import re

import pytest
from playwright.sync_api import expect

import models
from models import Enrollment
from tests.browser.drivers import enter_second_factor, new_context
from tests.factories import PASSWORD, csv_bytes, enrollment, file_correction, png_bytes, resident_id


@pytest.fixture
def student_page(browser, live_server):
    """A second context: the student, in a browser of their own."""
    context = new_context(browser, live_server)
    page = context.new_page()
    yield page
    context.close()
    assert not context.foreign_requests, context.foreign_requests


def log_in_on(page, username, password):
    page.goto("/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录", exact=True).click()


def staff_log_in_on(page, username, password):
    """A registrar: password, then the 动态验证码 (issue 9, item 16)."""
    log_in_on(page, username, password)
    enter_second_factor(page, username)


def test_registrar_adopts_a_correction_and_the_student_sees_it(page, student_page, live_server,
                                                                registrar, make_account,
                                                                make_record):
    student = make_account(username="zhang@example.edu.cn", real_name="张三")
    record = make_record("diploma", account=student.id)
    file_correction(live_server.app, student.username, PASSWORD, "diploma", record.id, "major",
                    "汉语言文学（师范）", "与毕业证书原件不一致。",
                    evidence=("scan.png", png_bytes()))

    staff_log_in_on(page, registrar.username, registrar.password)
    expect(page).to_have_url(live_server.url + "/admin/")
    expect(page.locator("#stats-corrections")).to_contain_text("待处理的更正申请：1")
    page.locator("#nav-corrections").click()
    expect(page).to_have_url(re.compile(r"/admin/corrections$"))
    row = page.locator("#admin-correction-list tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("张三")
    expect(row).to_contain_text("汉语言文学（师范）")
    row.get_by_role("link").click()

    expect(page).to_have_url(re.compile(r"/admin/corrections/\d+$"))
    expect(page.locator("#proposed-value")).to_have_text("汉语言文学（师范）")
    evidence = page.request.get(page.get_by_role("link", name="查看").get_attribute("href"))
    assert evidence.status == 200 and evidence.body() == png_bytes()
    page.get_by_label("采纳 / 通过", exact=True).check()
    page.get_by_role("button", name="提交决定").click()

    expect(page).to_have_url(re.compile(r"/admin/corrections$"))
    expect(page.get_by_role("status")).to_have_text(re.compile(r"已处理更正申请 #\d+。"))
    expect(page.locator("#admin-corrections")).to_contain_text("没有这类更正申请。")
    assert "已采纳" in live_server.outbox.last()["body"]

    log_in_on(student_page, student.username, PASSWORD)
    expect(student_page.get_by_role("status")).to_have_text("欢迎回来，张三。")
    student_page.goto("/records/corrections")
    mine = student_page.locator("#correction-list tbody tr")
    expect(mine).to_have_count(1)
    expect(mine).to_contain_text("已采纳")
    student_page.goto(f"/records/diploma/{record.id}")
    facts = student_page.locator("dl.facts")
    expect(facts).to_contain_text("汉语言文学（师范）")
    expect(facts).not_to_contain_text("更正处理中")


def test_status_filter_answers_200_and_marks_the_current_tab(page, live_server, registrar):
    staff_log_in_on(page, registrar.username, registrar.password)
    expect(page).to_have_url(live_server.url + "/admin/")
    for url in ("/admin/corrections?status=approved", "/admin/appeals?status=approved"):
        response = page.goto(url)
        assert response.status == 200, (url, response.status)
        current = page.locator("#main p.tabs a[aria-current=page]")
        expect(current).to_have_text("已采纳 / 已通过", timeout=1_000)


def test_import_without_javascript(nojs_page, live_server, registrar, tmp_path):
    page = nojs_page
    table = tmp_path / "enrollment.csv"
    table.write_bytes(csv_bytes([
        enrollment(),
        enrollment(**{"姓名": "王五", "学号": "2019002", "证件号码": resident_id(sequence=125)}),
    ]))
    staff_log_in_on(page, registrar.username, registrar.password)
    expect(page).to_have_url(live_server.url + "/admin/")

    page.get_by_role("link", name="导入记录").first.click()
    expect(page.get_by_role("heading", name="导入记录")).to_be_visible()
    page.get_by_label("记录类别").select_option("enrollment")
    page.get_by_label("数据文件").set_input_files(table)
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="上传并预览").click()
    assert posted.value.status == 200
    expect(page.locator("#import-counts")).to_contain_text("共 2 行：将新增 2 条，更新 0 条，未变 0 条")
    with live_server.app.app_context(), models.db.connection_context():
        assert Enrollment.select().count() == 0
    page.get_by_role("button", name="导入", exact=True).click()
    expect(page.locator("#flash")).to_contain_text(
        "导入完成：共 2 行，新增 2 条，更新 0 条，未变 0 条，照片 0 张。")
    expect(page.locator("#import-status")).to_have_text("已导入")
    with live_server.app.app_context(), models.db.connection_context():
        assert Enrollment.select().count() == 2
