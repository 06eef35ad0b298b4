"""在线验证报告 in real Chromium: a student issues one, a verifier (another browser
context, not logged in) checks it twice, the student sees both checks and then
closes the report.
"""
import re

import pytest
from playwright.sync_api import expect

import models
from demo import LI_HUA
from models import Report, utcnow
from tests.factories import PASSWORD

ORGANISATION = "示范科技有限公司"
PURPOSE = "入职背景核查"


@pytest.fixture
def li_hua(live_server, demo_data, make_account, log_in, page):
    """李华 has an account; her records bind when she logs in."""
    make_account(username=LI_HUA.username, real_name=LI_HUA.name, id_number=LI_HUA.id_number,
                 phone=LI_HUA.phone)
    log_in(LI_HUA.username, PASSWORD)
    expect(page.get_by_role("status")).to_have_text(f"欢迎回来，{LI_HUA.name}。")
    return LI_HUA


def issue_diploma_report(page, months="3 个月"):
    """From 我的学信档案 to a new report's page; returns the code without spaces."""
    page.goto("/records/")
    page.locator("#section-diploma").get_by_role("link").click()
    page.get_by_role("link", name="申请在线验证报告").click()
    expect(page.get_by_role("heading", name="申请在线验证报告")).to_be_visible()
    page.get_by_label(months, exact=True).check()
    page.get_by_role("button", name="生成报告").click()
    expect(page).to_have_url(re.compile(r"/reports/\d+$"))
    code = page.locator("#report-code")
    expect(code).to_have_text(re.compile(r"^[A-HJ-NP-Z2-9]{4}( [A-HJ-NP-Z2-9]{4}){3}$"))
    return code.text_content().replace(" ", "")


def test_issue_verify_and_close_a_report(page, verifier_page, li_hua, live_server):
    code = issue_diploma_report(page)
    expect(page.get_by_role("status")).to_contain_text("报告已生成")
    expect(page.locator("dl.facts .state")).to_have_text("有效")
    expect(page.get_by_role("link", name=f"/verify/{code}")).to_be_visible()
    expect(page.locator("#verification-list")).to_have_count(0)

    # The QR code's link, opened by someone who is not logged in.
    verifier = verifier_page
    response = verifier.goto(f"/verify/{code}")
    assert response.status == 200
    expect(verifier.locator("#verify-outcome")).to_contain_text("有效的在线验证报告")
    facts = verifier.locator("dl.facts")
    expect(facts).to_contain_text(li_hua.name)
    expect(facts).to_contain_text("汉语言文学")
    expect(facts).not_to_contain_text(li_hua.id_number)  # diplomas hide the ID number

    # The same report through the form, with who is asking and why.
    verifier.goto("/verify/")
    verifier.get_by_label("在线验证码").fill(f"{code[:4]} {code[4:8]}-{code[8:12]} {code[12:]}".lower())
    verifier.get_by_label("单位名称（可选）").fill(ORGANISATION)
    verifier.get_by_label("用途（可选）").fill(PURPOSE)
    verifier.get_by_role("button", name="查验").click()
    expect(verifier.locator("#verify-outcome")).to_contain_text("有效的在线验证报告")
    expect(verifier.locator("dl.facts")).to_contain_text(li_hua.name)

    # The student sees both checks, newest first.
    page.reload()
    rows = page.locator("#verification-list tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text(ORGANISATION)
    expect(rows.nth(0)).to_contain_text(PURPOSE)
    expect(rows.nth(1)).to_contain_text("网页")
    expect(rows.filter(has_text=ORGANISATION)).to_have_count(1)

    with page.expect_download() as download:
        page.get_by_role("link", name="下载 PDF").click()
    assert download.value.suggested_filename == f"report-{code}.pdf"
    with open(download.value.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"

    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="立即关闭报告").click()
    # The confirmation appears in the page (no window.confirm); 返回 would keep the report.
    confirmation = page.locator("#report-close")
    expect(confirmation).to_contain_text("关闭不能撤销。")
    confirmation.get_by_role("button", name="确认关闭").click()
    expect(page.get_by_role("status")).to_have_text("报告已关闭，验证码立即失效。")
    assert dialogs == []
    expect(page.locator("dl.facts .state")).to_have_text("已关闭")
    expect(page.get_by_role("button", name="立即关闭报告")).to_have_count(0)

    response = verifier.goto(f"/verify/{code}")
    assert response.status == 410
    expect(verifier.get_by_role("alert")).to_contain_text("该报告已被本人关闭。")
    expect(verifier.locator("main")).not_to_contain_text(li_hua.name)


def test_dismissing_the_confirm_dialog_keeps_the_report(page, li_hua):
    issue_diploma_report(page, months="1 个月")
    posts = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.on("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="立即关闭报告").click()
    page.reload()
    assert posts == []
    expect(page.locator("dl.facts .state")).to_have_text("有效")
    expect(page.get_by_role("button", name="立即关闭报告")).to_be_visible()


def test_extending_from_the_new_report_page_after_the_report_was_closed(page, li_hua,
                                                                        live_server):
    """The extend form on 申请在线验证报告 used to swap #main for nothing on a 422."""
    code = issue_diploma_report(page)
    page.go_back()  # 申请在线验证报告, now offering to extend the report instead
    page.reload()
    expect(page.get_by_role("button", name="延长有效期")).to_be_visible()
    with live_server.app.app_context(), models.db.connection_context():
        Report.update(closed_at=utcnow()).where(Report.code.matches(code)).execute()

    with page.expect_response(lambda r: r.request.method == "POST") as response:
        page.get_by_role("button", name="延长有效期").click()
    assert response.value.status == 422
    expect(page.get_by_role("alert")).to_have_text(
        "只能延长仍然有效的报告；已过期或已关闭的报告请重新申请。")
    expect(page.locator("#report-detail .state")).to_have_text("已关闭")
    expect(page.get_by_role("heading", name="查验记录")).to_be_visible()
