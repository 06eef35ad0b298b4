"""批量查验 in real Chromium with JavaScript: a verifier uploads an XLSX of codes and sees
the table swapped in by htmx, after a refused (422) send shows its message beside the
field; the CSV download is the same result."""
import re

from playwright.sync_api import expect

import models
from tests.factories import issue_report, xlsx_bytes

ORGANISATION = "示范科技有限公司"
PURPOSE = "入职背景核查"


def test_upload_an_xlsx_and_see_the_table(verifier_page, live_server, make_account, make_record,
                                          tmp_path):
    app = live_server.app
    owner = make_account(username="zhang@example.edu.cn", real_name="张三")
    record = make_record("diploma", account=owner.id, major="汉语言文学")
    with models.db.connection_context():
        report = issue_report(app, owner, record, render=lambda snapshot: b"%PDF-1.4 test")
    sheet = tmp_path / "新员工.xlsx"
    sheet.write_bytes(xlsx_bytes([["姓名", "在线验证码"], ["张三", report.code.lower()],
                                  ["某人", "ZZZZ-ZZZZ-ZZZZ-ZZZZ"], ["张三", report.code]]))

    page = verifier_page
    page.goto("/verify/")
    page.get_by_role("link", name=re.compile("批量查验")).click()
    expect(page.get_by_role("heading", name=re.compile("批量查验"))).to_be_visible()

    # Nothing to check: 422, the message beside the codes, the page not reloaded.
    page.evaluate("window.notReloaded = true")
    page.get_by_label(re.compile("^单位名称")).fill(ORGANISATION)
    page.get_by_label(re.compile("^用途")).fill(PURPOSE)
    page.get_by_role("button", name=re.compile("^查验")).click()
    expect(page.locator("#codes-error")).to_contain_text("请填写或上传至少一个在线验证码")

    page.get_by_label(re.compile("^或上传 CSV / XLSX 文件")).set_input_files(sheet)
    page.get_by_role("button", name=re.compile("^查验")).click()
    rows = page.locator("#batch-results tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("有效的在线验证报告")
    expect(rows.nth(0)).to_contain_text("张三")
    expect(rows.nth(0)).to_contain_text("汉语言文学")
    expect(rows.nth(1)).to_contain_text("没有这个在线验证码对应的报告")
    expect(page.locator("#batch-outcome")).to_contain_text("已查验 2 个验证码")
    assert page.evaluate("window.notReloaded") is True  # swapped by htmx

    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("下载 CSV")).click()
    data = open(download.value.path(), encoding="utf-8-sig").read()
    assert report.code.lower() in data and "张三" in data

    with models.db.connection_context():
        checks = list(models.Verification.select())
    assert [(c.report_id, c.channel, c.organisation, c.purpose) for c in checks] == [
        (report.id, "batch", ORGANISATION, PURPOSE)]
