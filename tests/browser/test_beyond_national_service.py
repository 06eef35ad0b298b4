"""Issue 13 end to end, in real Chromium, as a new student and an employer would go:
李华 registers (the wizard, the code from the outbox), her records bind, she issues a
学位 report (ID number masked, 查验提醒 on) and a 学历 report; a verifier in another
browser context opens the code (the ID shown masked), 核对证件号码 (不一致, 一致),
批量查验 both codes and 学历公开查询 by 证书编号 + 姓名; 李华 sees every check in
查验记录 and on 公开查询, gets one 查验提醒, downloads 我的数据 after a code and
注销账号 (password + code); the verifier then reads "closed"; she registers again.

With JavaScript and without (both people's browsers), in Chinese; and the verifier's
part once more in English, where the result pages promise English only.
"""
import re
import zipfile

import pytest
from playwright.sync_api import expect

import models
from demo import LI_HUA
from tests.browser.drivers import Wizard, new_context, student_from

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
ORGANISATION = "示范科技有限公司"
PURPOSE = "入职背景核查"
OTHER_ID = "11010519491231002X"           # a valid ID number that is not 李华's
MASKED_ID = LI_HUA.id_number[:4] + "*" * 10 + LI_HUA.id_number[-4:]
STUDENT = student_from(LI_HUA)


@pytest.fixture
def open_page(browser, live_server):
    """open_page(js=…): a page in a browser context of its own (a person of their own)."""
    contexts = []

    def open_(js=True):
        context = new_context(browser, live_server, java_script_enabled=js)
        contexts.append(context)
        return context.new_page()

    yield open_
    for context in contexts:
        context.close()
        assert not context.foreign_requests, context.foreign_requests


# --- the student -----------------------------------------------------------------

def log_in(page):
    page.goto("/login")
    page.get_by_label("用户名").fill(STUDENT.username)
    page.get_by_label("密码").fill(STUDENT.password)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.get_by_role("status")).to_have_text(f"欢迎回来，{LI_HUA.name}。")


def open_record(page, kind):
    page.goto("/records/")
    page.locator(f"#section-{kind}").get_by_role("link").first.click()
    expect(page.get_by_role("link", name="申请在线验证报告")).to_be_visible()


def issue_report(page, kind, *, alerts=False):
    """From the record's page to a new report's page (ID masked: the default); the code."""
    open_record(page, kind)
    page.get_by_role("link", name="申请在线验证报告").click()
    page.get_by_label("3 个月", exact=True).check()
    if alerts:
        page.get_by_label("查验提醒").check()
    page.get_by_role("button", name="生成报告").click()
    expect(page).to_have_url(re.compile(r"/reports/\d+$"))
    expect(page.get_by_role("status")).to_contain_text("报告已生成")
    return page.locator("#report-code").text_content().replace(" ", "")


def certificate_number(page):
    """The 证书编号 on the student's 学历 page: what she tells a verifier."""
    open_record(page, "diploma")
    term = page.locator("dl.facts dt").filter(has_text=re.compile(r"^证书编号$"))
    return term.locator("xpath=following-sibling::dd[1]").text_content().strip()


def download_my_data(page, outbox):
    page.goto("/account/")
    page.get_by_role("link", name="下载我的数据").click()
    expect(page).to_have_url(re.compile(r"/account/data$"))
    page.get_by_role("button", name="获取校验码").click()
    expect(page.get_by_role("status").filter(has_text="校验码已发送至")).to_be_visible()
    assert outbox.last()["to"] == "+86" + STUDENT.phone
    page.get_by_label("校验码", exact=True).fill(outbox.last_code())
    page.get_by_role("button", name="下一步").click()
    expect(page.locator("#my-data-ready")).to_contain_text("每次校验只能下载一次")
    with page.expect_download() as download:
        page.get_by_role("button", name="下载我的数据").click()
    assert download.value.suggested_filename.endswith(".zip")
    return zipfile.ZipFile(download.value.path())


def close_account(page, outbox):
    page.goto("/account/")
    page.get_by_role("link", name="了解并注销账号").click()
    expect(page.locator("#close-consequences")).to_contain_text("该报告已被本人关闭")
    page.get_by_label("当前密码").fill("not-my-password-1")
    page.get_by_role("button", name="获取校验码").click()
    expect(page.locator("main p.error")).to_have_text("当前密码不正确。")
    page.get_by_label("当前密码").fill(STUDENT.password)
    page.get_by_role("button", name="获取校验码").click()
    expect(page.get_by_label("校验码", exact=True)).to_be_visible()
    page.get_by_label("校验码", exact=True).fill(outbox.last_code())
    page.get_by_role("button", name="注销账号").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("status")).to_contain_text("账号已注销")


# --- the verifier ----------------------------------------------------------------

def check_id_number(page, typed):
    page.get_by_label("证件号码").fill(typed)
    page.get_by_role("button", name="核对号码").click()
    return page.locator("#verify-match-answer")


def batch_check(page, codes):
    page.goto("/verify/")
    page.get_by_role("link", name=re.compile("批量查验")).click()
    page.get_by_label(re.compile("^在线验证码")).fill("\n".join(codes))
    page.get_by_label(re.compile("^单位名称")).fill(ORGANISATION)
    page.get_by_label(re.compile("^用途")).fill(PURPOSE)
    page.get_by_role("button", name=re.compile("^查验")).click()
    return page.locator("#batch-results tbody tr")


def check_diploma(page, number, name):
    page.goto("/verify/")
    page.get_by_role("link", name=re.compile("^没有验证码？按证书编号查询学历")).click()
    page.get_by_label(re.compile("^证书编号")).fill(number)
    page.get_by_label(re.compile("^姓名")).fill(name)
    page.locator("#diploma-check").get_by_role("button").click()
    return page.locator("#diploma-outcome")


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_a_new_student_and_a_verifier_through_issue_13(js, open_page, live_server, demo_data):
    outbox = live_server.outbox
    student = open_page(js)
    Wizard(student, outbox, STUDENT).register()
    degree_code = issue_report(student, "degree", alerts=True)
    expect(student.locator("#report-alerts")).to_contain_text("已开启")
    report_page = student.url
    diploma_code = issue_report(student, "diploma")
    number = certificate_number(student)
    sent_before_checks = len(outbox.messages())

    # The employer: the code from the candidate, the ID number from the application.
    verifier = open_page(js)
    assert verifier.goto(f"/verify/{degree_code}").status == 200
    expect(verifier.locator("#verify-outcome")).to_contain_text("有效的在线验证报告")
    record = verifier.locator("#verify .record")
    expect(record).to_contain_text(MASKED_ID)
    expect(record).not_to_contain_text(LI_HUA.id_number)
    expect(check_id_number(verifier, OTHER_ID)).to_contain_text("不一致")
    expect(check_id_number(verifier, LI_HUA.id_number.lower())).to_contain_text(
        "一致：你输入的证件号码与报告主人的证件号码一致。")
    expect(verifier.locator("#verify .record")).not_to_contain_text(LI_HUA.id_number)

    rows = batch_check(verifier, [degree_code.lower(), diploma_code])
    expect(rows).to_have_count(2)
    for row in (rows.nth(0), rows.nth(1)):
        expect(row).to_contain_text("有效的在线验证报告")
        expect(row).to_contain_text(LI_HUA.name)
    expect(rows.nth(0)).to_contain_text("文学学士")
    expect(rows.nth(1)).to_contain_text(number)

    found = check_diploma(verifier, f"NO.{number}", LI_HUA.name)
    expect(found).to_contain_text("查到了与该证书编号和姓名相符的学历")
    expect(verifier.locator("#diploma-found")).to_contain_text("汉语言文学")
    expect(verifier.locator("#diploma-check")).not_to_contain_text(MASKED_ID)

    # 李华 sees every check of the degree report, and one 查验提醒 (one an hour at most).
    student.goto(report_page)
    log = student.locator("#verification-list tbody tr")
    expect(log).to_have_count(4)
    expect(log.filter(has_text="网页")).to_have_count(1)
    expect(log.filter(has_text="证件号码比对")).to_have_count(2)
    expect(log.filter(has_text="证件号码比对").filter(has_text="不一致")).to_have_count(1)
    expect(log.filter(has_text="批量查验").filter(has_text=ORGANISATION)).to_contain_text(PURPOSE)
    alerts = [m for m in outbox.messages()[sent_before_checks:] if "查验提醒" in m["subject"]]
    assert [m["to"] for m in alerts] == ["+86" + STUDENT.phone], alerts
    assert "《学位在线验证报告》" in alerts[0]["body"] and "网页" in alerts[0]["body"]
    student.goto("/account/public-checks")
    expect(student.locator("#public-check-list tbody tr")).to_contain_text(number)

    data = download_my_data(student, outbox)
    assert {"profile.json", "verifications.json", "README.txt"} <= set(data.namelist())
    assert f"reports/{degree_code}.pdf" in data.namelist()
    assert LI_HUA.id_number in data.read("profile.json").decode()   # the full number, hers

    close_account(student, outbox)
    response = verifier.goto(f"/verify/{degree_code}")
    assert response.status == 410
    expect(verifier.locator("#verify-outcome")).to_have_text("该报告已被本人关闭。 This report has been closed by its owner.")
    expect(verifier.locator("main")).not_to_contain_text(LI_HUA.name)
    student.goto("/login")
    student.get_by_label("用户名").fill(STUDENT.username)
    student.get_by_label("密码").fill(STUDENT.password)
    student.get_by_role("button", name="登录", exact=True).click()
    expect(student.get_by_role("alert")).to_have_text("用户名或密码不正确。")

    # The same person, the same username and ID number: a new account, her records again.
    Wizard(student, outbox, STUDENT).register()
    student.goto("/records/")
    expect(student.locator("#section-degree li")).to_have_count(1)
    student.goto("/reports/")
    expect(student.locator("main")).to_contain_text("你还没有申请过在线验证报告")
    assert verifier.goto(f"/verify/{degree_code}").status == 410


def test_the_verifier_in_english(open_page, live_server, demo_data):
    """Everything a verifier reads on the result pages is English once they choose it
    (the major's English name is the registrar's, as `init-db` seeds it)."""
    with live_server.app.app_context(), models.db.connection_context():
        models.MajorName.get_or_create(major="汉语言文学", defaults={
            "english": "Chinese Language and Literature", "updated_by": "office"})
    outbox = live_server.outbox
    student = open_page()
    Wizard(student, outbox, STUDENT).register()
    degree_code = issue_report(student, "degree", alerts=True)
    number = certificate_number(student)

    verifier = open_page()
    verifier.goto("/verify/")
    verifier.get_by_role("button", name="English").click()
    expect(verifier.locator("html")).to_have_attribute("lang", "en")
    verifier.get_by_label(re.compile("^Online verification code")).fill(degree_code)
    verifier.get_by_role("button", name="Verify", exact=True).click()
    result = verifier.locator("#verify")
    expect(result.locator("#verify-outcome")).to_have_text("This report is valid.")
    for text in ("LI Hua", "Bachelor of Arts", "Chinese Language and Literature",
                 "ID number", MASKED_ID, "Check an ID number"):
        expect(result).to_contain_text(text)
    assert not CJK.findall(result.inner_text()), result.inner_text()

    verifier.get_by_label("ID number").fill(OTHER_ID)
    verifier.get_by_role("button", name="Check the number").click()
    expect(verifier.locator("#verify-match-answer")).to_have_text(
        "Does not match: the ID number you typed is not the report owner's ID number.")
    verifier.get_by_label("ID number").fill(LI_HUA.id_number)
    verifier.get_by_role("button", name="Check the number").click()
    expect(verifier.locator("#verify-match-answer")).to_have_text(
        "Matches: the ID number you typed is the report owner's ID number.")
    assert not CJK.findall(result.inner_text()), result.inner_text()

    verifier.goto("/verify/batch")
    verifier.get_by_label(re.compile("^Online verification codes")).fill(
        f"{degree_code}\nZZZZ-ZZZZ-ZZZZ-ZZZZ")
    verifier.get_by_label(re.compile("^Organi[sz]ation")).fill("Example GmbH")
    verifier.get_by_label(re.compile("^Purpose")).fill("Hiring")
    verifier.get_by_role("button", name="Verify", exact=True).click()
    rows = verifier.locator("#batch-results tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("This report is valid.")
    expect(rows.nth(0)).to_contain_text("Degree")
    expect(rows.nth(1)).to_contain_text("There is no report with this online verification code.")
    table = verifier.locator("#batch-results")
    assert not CJK.findall(table.inner_text()), table.inner_text()

    verifier.goto("/verify/diploma")
    verifier.get_by_label("Certificate number").fill(number)
    verifier.get_by_label("Full name").fill(LI_HUA.name)
    verifier.get_by_role("button", name="Check the diploma").click()
    expect(verifier.locator("#diploma-outcome")).to_have_text(
        "A diploma with this certificate number and name was found.")
    expect(verifier.locator("#diploma-found")).to_contain_text("Undergraduate (Bachelor's level)")
    check = verifier.locator("#diploma-check")
    assert not CJK.findall(check.inner_text()), check.inner_text()
    verifier.get_by_label("Full name").fill("")
    verifier.get_by_role("button", name="Check the diploma").click()
    expect(verifier.locator("#name-error")).to_have_text("Please enter the holder's name.")

    close_account(student, outbox)
    assert verifier.goto(f"/verify/{degree_code}").status == 410
    expect(result.locator("#verify-outcome")).to_have_text("This report has been closed by its owner.")
    assert not CJK.findall(result.inner_text()), result.inner_text()
