"""The registrar's side in real Chromium (issue 10): a 学籍管理员 finds a student by
ID number, fixes 专业 in the edit form, and the student sees it; a 查询员 finds
the same record but has nothing to edit and is refused the edit page."""
import re

import pyotp
import pytest
from playwright.sync_api import expect

import models
from services import accounts
from tests.browser.drivers import enter_second_factor, new_context
from tests.factories import PASSWORD, resident_id

STAFF_PASSWORD = "Quiet-harbour-2026"  # nosec B105 # a test password


def staff_member(app, username, role):
    """A staff account of `role` with an authenticator already enrolled."""
    with app.app_context(), models.db.connection_context():
        account, _ = accounts.create_or_reset_admin(username, STAFF_PASSWORD)
        models.Account.update(role=role).where(models.Account.id == account.id).execute()
        models.StaffTotp.create(account=account, secret=pyotp.random_base32(),
                                enrolled_at=models.utcnow())
    return username


def log_in_on(page, username, password):
    page.goto("/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录", exact=True).click()


def find_by_id_number(page, id_number):
    expect(page).to_have_url(re.compile(r"/admin/$"))
    page.get_by_role("link", name="查询", exact=True).click()
    page.get_by_label("查询内容").fill(id_number)
    page.get_by_role("button", name="查询", exact=True).click()
    rows = page.locator("#search-table tbody tr")
    expect(rows.first).to_contain_text("张三")
    rows.filter(has_text="学历").get_by_role("link", name="张三").click()
    expect(page).to_have_url(re.compile(r"/admin/records/diploma/\d+$"))


@pytest.fixture
def student_page(browser, live_server):
    context = new_context(browser, live_server)
    page = context.new_page()
    yield page
    context.close()


def test_a_registrar_finds_a_student_by_id_fixes_the_major_and_the_student_sees_it(
        page, student_page, live_server, make_account, make_record):
    id_number = resident_id(birth="19990101", sequence=200)
    student = make_account(username="zhang@example.edu.cn", real_name="张三", id_number=id_number)
    # 1999-01-01 and an even 17th digit (女): the record agrees with its ID number.
    record = make_record("diploma", account=student.id, id_number=id_number,
                         birth_date="1999-01-01", major="汉语言文字")
    staff_member(live_server.app, "desk", models.Account.REGISTRAR)

    log_in_on(page, "desk", STAFF_PASSWORD)
    enter_second_factor(page, "desk")
    find_by_id_number(page, id_number)
    expect(page.locator("dl.facts")).to_contain_text("汉语言文字")
    page.get_by_role("link", name="编辑记录").click()
    expect(page).to_have_url(re.compile(rf"/admin/records/diploma/{record.id}/edit$"))
    page.get_by_label("专业", exact=True).fill("汉语言文学")
    page.get_by_role("button", name="保存改动").click()
    expect(page.get_by_role("status")).to_contain_text("已保存")
    assert "学历" in live_server.outbox.last()["body"]

    log_in_on(student_page, student.username, PASSWORD)
    expect(student_page.get_by_role("status")).to_have_text("欢迎回来，张三。")
    student_page.goto(f"/records/diploma/{record.id}")
    expect(student_page.locator("dl.facts")).to_contain_text("汉语言文学")
    expect(student_page.locator("dl.facts")).not_to_contain_text("汉语言文字")


def test_a_front_desk_viewer_finds_the_record_but_cannot_edit(page, live_server, make_account,
                                                               make_record):
    id_number = resident_id(birth="19990101", sequence=202)
    student = make_account(username="li@example.edu.cn", real_name="张三", id_number=id_number)
    record = make_record("diploma", account=student.id, id_number=id_number)
    staff_member(live_server.app, "frontdesk", models.Account.VIEWER)

    log_in_on(page, "frontdesk", STAFF_PASSWORD)
    enter_second_factor(page, "frontdesk")
    find_by_id_number(page, id_number)
    expect(page.get_by_role("link", name="编辑记录")).to_have_count(0)
    expect(page.locator("#record-actions")).to_have_count(0)
    response = page.goto(f"/admin/records/diploma/{record.id}/edit")
    assert response.status == 403
