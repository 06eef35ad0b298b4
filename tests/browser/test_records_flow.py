"""我的学信档案 in real Chromium: auto-bound records, binding an old diploma by its
certificate number, and a correction request with evidence.

The people are the demo package's: 张伟's 2002 enrollment and 2005 diploma carry his
ID number and bind by themselves; his 1994 diploma has no ID number, so he binds
it by hand with the serial printed on it.
"""
import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from services.binding import NEUTRAL
from demo import ZHANG_WEI, ZHANG_WEI_OLD_DIPLOMA
from tests.browser.drivers import Wizard, student_from
from tests.factories import PASSWORD

OLD = ZHANG_WEI_OLD_DIPLOMA


def fill_bind_form(page, number, year=OLD["year"], school=OLD["school"]):
    page.get_by_label("学历", exact=True).check()
    page.get_by_label("证书编号").fill(number)
    page.get_by_label("毕业年份").fill(str(year))
    page.get_by_label("毕业学校").select_option(school)
    page.get_by_role("button", name="绑定").click()


@pytest.fixture
def evidence_png(tmp_path):
    path = tmp_path / "diploma-scan.png"
    Image.new("RGB", (64, 48), (200, 200, 190)).save(path, "PNG")
    return path


def test_register_bind_old_diploma_and_request_a_correction(page, live_server, demo_data,
                                                            evidence_png):
    wizard = Wizard(page, live_server.outbox, student_from(ZHANG_WEI))
    wizard.register()
    page.get_by_role("link", name="查看我的学信档案").click()
    expect(page).to_have_url(live_server.url + "/records/")

    # What bound by itself at registration: one 学籍 and the 2005 学历, nothing else.
    enrollments = page.locator("#section-enrollment li")
    diplomas = page.locator("#section-diploma li")
    expect(enrollments).to_have_count(1)
    expect(enrollments).to_contain_text("机械设计制造及其自动化")
    expect(diplomas).to_have_count(1)
    expect(diplomas).to_contain_text("毕业 · 2005-")
    expect(page.locator("#section-degree")).to_contain_text("暂无学位记录。")

    page.get_by_role("link", name="我还有学历没显示出来").click()
    expect(page).to_have_url(re.compile(r"/records/bind$"))
    expect(page.get_by_role("heading", name="我还有学历没显示出来")).to_be_visible()
    fill_bind_form(page, OLD["printed"])

    expect(page).to_have_url(re.compile(r"/records/diploma/\d+$"))
    expect(page.get_by_role("status")).to_have_text("绑定成功，这条学历记录已加入你的档案。")
    title = page.get_by_role("heading", level=1)
    expect(title).to_contain_text("示范学院")
    expect(title).to_contain_text("机械设计与制造")
    expect(page.locator("dl.facts")).to_contain_text(OLD["certificate_number"])
    photo = page.get_by_role("img", name="学历照片")
    expect(photo).to_have_js_property("naturalWidth", 120)  # the JPEG really loaded

    page.get_by_role("link", name="信息有误").click()
    expect(page.get_by_role("heading", name="信息有误")).to_be_visible()
    page.get_by_label("有误的项目").select_option(label="专业")
    # The field's own input comes in (htmx) before anything is typed into it.
    expect(page.locator('#proposed-input input[name="shown_for"]')).to_have_value("major")
    page.get_by_label("正确的内容").fill("机械制造工艺与设备")
    page.get_by_label("理由").fill("与毕业证书原件上的专业名称不一致。")
    page.get_by_label("证明材料（可选）").set_input_files(evidence_png)
    page.get_by_role("button", name="提交更正申请").click()

    expect(page).to_have_url(re.compile(r"/records/corrections$"))
    expect(page.get_by_role("heading", name="我的更正申请")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("更正申请已提交")
    row = page.locator("#correction-list tbody tr")
    expect(row).to_have_count(1)
    for text in ("学历", "专业", "机械设计与制造", "机械制造工艺与设备", "待处理"):
        expect(row).to_contain_text(text)
    evidence = page.request.get(row.get_by_role("link", name="证明材料").get_attribute("href"))
    assert evidence.status == 200 and evidence.body() == evidence_png.read_bytes()

    # The record itself is unchanged until the registrar decides.
    page.get_by_role("link", name="返回我的学信档案").click()
    expect(diplomas).to_have_count(2)
    page.get_by_role("link", name=re.compile("示范学院")).click()
    expect(page.locator("dl.facts")).to_contain_text("机械设计与制造 更正处理中")


def test_bind_without_javascript(nojs_page, live_server, demo_data, make_account):
    page = nojs_page
    make_account(username=ZHANG_WEI.username, real_name=ZHANG_WEI.name,
                 id_number=ZHANG_WEI.id_number, phone=ZHANG_WEI.phone)
    page.goto("/login")
    page.get_by_label("用户名").fill(ZHANG_WEI.username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page).to_have_url(live_server.url + "/records/")
    expect(page.locator("#section-diploma li")).to_have_count(1)  # bound at login

    page.get_by_role("link", name="我还有学历没显示出来").click()
    with page.expect_response(lambda r: r.request.method == "POST") as wrong:
        fill_bind_form(page, "NO.00298958")  # one digit off
    assert wrong.value.status == 422
    error = page.locator("#certificate-number-error")
    expect(error).to_have_text(str(NEUTRAL))
    expect(page.get_by_label("证书编号")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("毕业年份")).to_have_value("1994")

    with page.expect_response(lambda r: r.request.method == "POST") as right:
        fill_bind_form(page, OLD["printed"])
    assert right.value.status == 303
    expect(page).to_have_url(re.compile(r"/records/diploma/\d+$"))
    expect(page.get_by_role("status")).to_have_text("绑定成功，这条学历记录已加入你的档案。")
    expect(page.get_by_role("heading", level=1)).to_contain_text("示范学院")
