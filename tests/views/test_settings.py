"""系统设置 (管理员): each setting checked beside its field, saved with one audit
entry, and in effect on the next request everywhere (header, help, times, messages)."""
import datetime
import hashlib
import io

import pytest

from models import Account, AuditEntry, SchoolLogo, Setting
from services import settings
from tests.factories import png_bytes, signed_in_staff

HX = {"HX-Request": "true"}

VALID = dict(
    school_name="示范理工大学", school_name_en="Demonstration Institute of Technology",
    school_names="示范理工大学, 2024\n示范大学, 2003, 2023\n示范学院，1985，2002",
    school_code="10998", school_contact="office@demo.edu.cn", school_office="教务处学籍科",
    school_phone="010-6275 1234", school_address="北京市海淀区示范路 1 号 行政楼 201",
    school_hours="工作日 8:30–11:30", eligible_since_year="1995", report_max_months="12",
    timezone="Asia/Shanghai", message_signature="", bind_mode="auto", international_sms="y",
    closed_account_retention_days="90")


def text(response):
    return response.get_data(as_text=True)


def form(**changes):
    return {**VALID, **changes}


def post(client, data, headers=None):
    return client.post("/admin/settings", data=data, headers=headers or {},
                       content_type="multipart/form-data")


@pytest.fixture
def admin(app, db):
    return signed_in_staff(app, "root", Account.ADMIN)


def test_the_page_shows_the_current_values_in_fieldsets(admin):
    page = text(admin.get("/admin/settings"))
    assert page.startswith("<!doctype html>") and page.count("<fieldset") == 4
    assert 'value="示范大学"' in page and "示范学院, 1985, 2002" in page
    assert '<label for="school-code">学校代码</label>' in page
    assert '<option selected value="Asia/Shanghai">' in page
    fragment = text(admin.get("/admin/settings", headers=HX))
    assert "<html" not in fragment and 'id="admin-settings"' in fragment


def test_saving_is_audited_and_in_effect_at_once(app, admin):
    response = post(admin, form())
    assert response.status_code == 303 and response.headers["Location"] == "/admin/settings"
    entry = AuditEntry.get(AuditEntry.action == "settings.changed")
    changed = entry.changes["settings"]
    assert entry.actor == "root"
    assert changed["SCHOOL_NAME"] == ["示范大学", "示范理工大学"]
    assert changed["REPORT_MAX_MONTHS"] == ["6", "12"]
    assert changed["CLOSED_ACCOUNT_RETENTION_DAYS"] == ["30", "90"]
    assert set(changed) >= {"SCHOOL_NAME_EN", "SCHOOL_NAMES", "SCHOOL_CODE", "SCHOOL_CONTACT",
                            "SCHOOL_PHONE", "ELIGIBLE_SINCE_YEAR"}
    assert "TIMEZONE" not in changed  # unchanged values are not written
    # Header and footer of any page, without a restart.
    home = text(app.test_client().get("/"))
    assert "示范理工大学 · 学信档案" in home and "office@demo.edu.cn" in home
    helped = text(app.test_client().get("/help/binding"))
    assert '<span lang="zh-CN">示范大学</span>（2003–2023 年）' in helped and "010-6275 1234" in helped
    assert "北京市海淀区示范路 1 号" in helped and "工作日 8:30–11:30" in helped
    assert "教务处学籍科" in helped and "10998" in helped
    assert "1995 年" in text(app.test_client().get("/help/register"))
    assert "1 至 12 个月" in text(app.test_client().get("/help/reports"))
    # Saving the same values again changes nothing and writes no second entry.
    assert post(admin, form()).status_code == 303
    assert AuditEntry.select().where(AuditEntry.action == "settings.changed").count() == 1


def test_with_htmx_a_save_redirects_and_a_mistake_swaps_the_form(admin):
    saved = post(admin, form(), headers=HX)
    assert saved.status_code == 200 and saved.headers["HX-Redirect"] == "/admin/settings"
    wrong = post(admin, form(school_code="12"), headers=HX)
    assert wrong.status_code == 422 and "<html" not in text(wrong)
    assert 'id="school-code-error"' in text(wrong)


@pytest.mark.parametrize("field, value, words", [
    ("school_name", "  ", "请填写学校名称"),
    ("school_name", "校" * 65, "最多 64 个字"),
    ("school_name_en", "", "请填写学校英文名称"),
    ("school_names", "", "至少填写一行"),
    ("school_names", "示范理工大学", "第 1 行应为"),
    ("school_names", "示范理工大学, 2024\n示范大学, 2003", "第 2 行缺少结束年份"),
    ("school_names", "示范理工大学, 2024\n示范大学, 2003, 1990", "第 2 行的结束年份"),
    ("school_names", "示范理工大学, 24", "第 1 行的起始年份"),
    ("school_names", "示范大学, 2003", "第 1 行应是现在的校名“示范理工大学”"),
    ("school_code", "1099", "5 位数字"),
    ("school_code", "１０９９８x", "5 位数字"),
    ("school_contact", "office", "有效的邮箱地址"),
    ("school_phone", "call us", "电话号码只能有数字"),
    ("school_address", "路" * 129, "最多 128 个字"),
    ("eligible_since_year", "1900", "1949 到"),
    ("eligible_since_year", "二〇〇一", "1949 到"),
    ("report_max_months", "13", "1 到 12"),
    ("report_max_months", "0", "1 到 12"),
    ("closed_account_retention_days", "0", "1 到 3650"),
    ("closed_account_retention_days", "3651", "1 到 3650"),
    ("closed_account_retention_days", "三十", "1 到 3650"),
    ("timezone", "Mars/Olympus", "请从列表中选择时区"),
    ("bind_mode", "anything", "请从列表中选择绑定方式"),
    ("message_signature", "【示范大学】", "不用填写【】"),
    ("message_signature", "签" * 17, "最多 16 个字"),
])
def test_each_mistake_is_shown_beside_its_field(admin, field, value, words):
    response = post(admin, form(**{field: value}))
    page = text(response)
    assert response.status_code == 422
    error_id = field.replace("_", "-") + "-error"
    assert f'id="{error_id}"' in page, page
    error = page.split(f'id="{error_id}">', 1)[1].split("</p>", 1)[0]
    assert words in error
    assert Setting.select().count() == 0 and not AuditEntry.select().where(
        AuditEntry.action == "settings.changed").exists()


def test_an_empty_post_is_refused(admin):
    assert admin.post("/admin/settings").status_code == 422
    assert Setting.select().count() == 0


def test_only_the_admin_may_change_settings(app, db):
    registrar = signed_in_staff(app, "office", Account.REGISTRAR)
    assert registrar.get("/admin/settings").status_code == 403
    assert post(registrar, form()).status_code == 403


def test_the_time_zone_changes_every_time_shown(app, admin):
    AuditEntry.create(actor="someone", action="test.moment",
                      at=datetime.datetime(2026, 1, 1, 0, 30))
    assert "2026-01-01 08:30" in text(admin.get("/admin/audit"))
    assert post(admin, form(timezone="America/New_York")).status_code == 303
    page = text(admin.get("/admin/audit"))
    assert "2025-12-31 19:30" in page and "2026-01-01 08:30" not in page


def test_the_message_signature_is_in_the_next_message(app, admin, outbox):
    def send():
        with app.app_context():
            app.extensions["postman"].send("password_changed.txt", channel="sms",
                                           to="13800138000")
        return outbox.last()

    assert send()["body"].startswith("【示范大学】")
    assert post(admin, form()).status_code == 303
    message = send()
    assert message["body"].startswith("【示范理工大学】") and message["subject"].startswith("示范理工大学")
    assert post(admin, form(message_signature="示范理工学籍科")).status_code == 303
    assert send()["body"].startswith("【示范理工学籍科】你的学信档案密码已修改")


# --- the logo ---------------------------------------------------------------------

CLEAN_SVG = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">'
             '<defs><linearGradient id="g"><stop offset="0" stop-color="#7a1f1f"/></linearGradient></defs>'
             '<circle cx="5" cy="5" r="4" fill="url(#g)"/><text x="1" y="6">校</text></svg>').encode()


def with_logo(data, name="logo.png", **changes):
    return form(logo=(io.BytesIO(data), name), **changes)


def test_a_png_logo_is_kept_in_the_database_and_served_cached(app, admin):
    png = png_bytes((120, 60))
    assert post(admin, with_logo(png)).status_code == 303
    digest = hashlib.sha256(png).hexdigest()
    assert SchoolLogo.get().sha256 == digest
    url = f"/logo/{digest}.png"
    home = app.test_client().get("/")
    assert f'<img src="{url}" alt="" id="school-logo">' in text(home)
    served = app.test_client().get(url)
    assert served.status_code == 200 and served.data == png
    assert served.headers["Content-Type"] == "image/png"
    assert "immutable" in served.headers["Cache-Control"] and "public" in served.headers["Cache-Control"]
    assert "Set-Cookie" not in served.headers
    # A signed-in person gets the same cacheable file.
    assert "no-store" not in admin.get(url).headers["Cache-Control"]
    assert app.test_client().get(f"/logo/{digest}.svg").status_code == 404
    assert app.test_client().get(f"/logo/{'0' * 64}.png").status_code == 404
    # Saving again without a file keeps it; ticking 不再显示标志 removes it.
    assert post(admin, form(school_office="学籍科")).status_code == 303
    assert url in text(app.test_client().get("/"))
    assert post(admin, form(remove_logo="y")).status_code == 303
    assert 'id="school-logo"' not in text(app.test_client().get("/"))


def test_a_clean_svg_logo_is_accepted_and_served_sandboxed(app, admin):
    assert post(admin, with_logo(CLEAN_SVG, "logo.svg")).status_code == 303
    served = app.test_client().get(f"/logo/{hashlib.sha256(CLEAN_SVG).hexdigest()}.svg")
    assert served.status_code == 200 and served.headers["Content-Type"].startswith("image/svg+xml")
    assert "sandbox" in served.headers["Content-Security-Policy"]


@pytest.mark.parametrize("data, name, words", [
    (png_bytes((200, 150)) + b"\0" * 110_000, "big.png", "100 KB"),
    (b"GIF89a not a logo", "logo.gif", "PNG 或 SVG"),
    (b"\x89PNG\r\n\x1a\n broken", "broken.png", "已损坏"),
    (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "x.svg", "&lt;script&gt;"),
    (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "x.svg", "onload"),
    (b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
     b'<use xlink:href="https://evil.example/x.svg#a"/></svg>', "x.svg", "外部内容"),
    (b'<svg xmlns="http://www.w3.org/2000/svg"><rect style="fill:url(https://evil.example/a)"/></svg>',
     "x.svg", "外部内容"),
    (b'<svg xmlns="http://www.w3.org/2000/svg"><image href="https://evil.example/a.png"/></svg>',
     "x.svg", "&lt;image&gt;"),
    (b'<!DOCTYPE svg [<!ENTITY x "y">]><svg xmlns="http://www.w3.org/2000/svg">&x;</svg>',
     "x.svg", "DOCTYPE"),
])
def test_bad_logos_are_refused_beside_the_field(admin, data, name, words):
    response = post(admin, with_logo(data, name))
    page = text(response)
    assert response.status_code == 422
    error = page.split('id="logo-error">', 1)[1].split("</p>", 1)[0]
    assert words in error, error
    assert SchoolLogo.select().count() == 0 and Setting.select().count() == 0


def test_a_date_in_a_message_is_in_the_school_time_zone(app, admin, outbox):
    def send():
        with app.app_context():
            app.extensions["postman"].send(
                "report_expiring.txt", channel="sms", to="13800138000", title="学历证书",
                code="ABCD", expires_at=datetime.datetime(2027, 2, 28, 20, 0))
        return outbox.last()["body"]

    assert "将于 2027-03-01 到期" in send()  # 04:00 on 1 March in Shanghai
    assert post(admin, form(timezone="Europe/London")).status_code == 303
    assert "将于 2027-02-28 到期" in send()


def test_the_binding_rule_is_a_setting(admin):
    assert post(admin, form(bind_mode="approval")).status_code == 303
    assert settings.current({})["BIND_MODE"] == "approval"
