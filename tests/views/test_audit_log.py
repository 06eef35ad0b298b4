"""审计日志 (/admin/audit): the 管理员's read-only viewer, its filters, pages and exports."""
import csv
import datetime
import io
import re

import pytest
from openpyxl import load_workbook

from models import Account, AuditEntry
from services import audit
from tests.factories import create_account, signed_in_staff

HX = {"HX-Request": "true"}


def text(response):
    return response.get_data(as_text=True)


def rows(page):
    return re.findall(r'<tr id="audit-entry-(\d+)"', page)


@pytest.fixture
def root(app, db):
    return signed_in_staff(app, "root", Account.ADMIN)


@pytest.fixture
def student(app, db):
    return create_account(app, 1, username="zhang@example.edu.cn")


def entry(action, at=None, **fields):
    made = audit.log(action, **fields)
    if at is not None:
        AuditEntry.update(at=at).where(AuditEntry.id == made.id).execute()
    return made


def test_entries_are_readable_in_chinese_and_english(app, root, student):
    entry("settings.changed", actor="root", ip="10.0.0.9",
          changes={"settings": {"REPORT_MAX_MONTHS": ["6", "3"]}})
    entry("record.corrected", actor="office", account=student, detail="request 4",
          changes=audit.field_changes("enrollment", 12, {"major": "数学"}, {"major": "应用数学"}))
    entry("brand.new_thing", actor="someone")
    page = text(root.get("/admin/audit"))
    assert "修改系统设置" in page and "报告最长有效期（月）" in page
    assert "<del>6</del> → <ins>3</ins>" in page and "10.0.0.9" in page
    assert "采纳更正，修改记录" in page and "学籍 #12" in page and "专业" in page
    assert "<del>数学</del> → <ins>应用数学</ins>" in page and "request 4" in page
    assert f'<a href="/admin/people/{student.id}">zhang@example.edu.cn</a>' in page
    assert "brand.new_thing" in page  # no label yet: the raw code
    root.set_cookie("lang", "en")
    english = text(root.get("/admin/audit"))
    assert "Changed settings" in english and "Longest report validity (months)" in english
    assert "Enrollment #12" in english and "Major" in english and "Adopted a correction" in english
    assert "修改系统设置" not in english


def test_times_are_shown_in_the_school_time_zone(root):
    entry("settings.changed", at=datetime.datetime(2026, 3, 1, 17, 30), actor="tz")
    page = text(root.get("/admin/audit", query_string={"actor": "tz"}))
    assert "2026-03-02 01:30:00" in page


def test_each_filter(root, student):
    other = create_account(root.application, 2, username="li@example.edu.cn", id_number=None)
    entry("report.issued", at=datetime.datetime(2026, 3, 1, 15, 0), account=student)   # 03-01 23:00 local
    entry("report.issued", at=datetime.datetime(2026, 3, 1, 17, 0), account=other)     # 03-02 01:00 local
    entry("records.imported", at=datetime.datetime(2026, 3, 5, 1, 0), actor="office")
    by_actor = text(root.get("/admin/audit", query_string={"actor": "office"}))
    assert len(rows(by_actor)) == 1 and "导入记录" in by_actor
    by_action = text(root.get("/admin/audit", query_string={"action": "report.issued"}))
    assert len(rows(by_action)) == 2
    assert '<option selected value="report.issued">' in by_action
    by_person = text(root.get("/admin/audit", query_string={"person": "li@example.edu.cn"}))
    # Registering wrote one entry, the report the other.
    assert len(rows(by_person)) == 2 and "实名注册" in by_person
    assert "zhang@example.edu.cn" not in by_person
    one_day = text(root.get("/admin/audit", query_string={"date_from": "2026-03-02",
                                                           "date_to": "2026-03-02"}))
    assert len(rows(one_day)) == 1 and "li@example.edu.cn" in one_day
    day_before = text(root.get("/admin/audit", query_string={"date_from": "2026-03-01",
                                                              "date_to": "2026-03-01"}))
    assert len(rows(day_before)) == 1 and "zhang@example.edu.cn" in day_before
    since = text(root.get("/admin/audit", query_string={"date_from": "2026-03-02",
                                                         "action": "report.issued"}))
    assert len(rows(since)) == 1
    nothing = text(root.get("/admin/audit", query_string={"actor": "nobody"}))
    assert not rows(nothing) and "没有符合条件的记录。" in nothing


def test_wrong_filters_are_422_with_the_message_beside_the_field(root):
    bad_date = root.get("/admin/audit", query_string={"date_from": "2026-02-30"})
    assert bad_date.status_code == 422
    assert re.search(r'id="date-from-error">请按 年-月-日 填写日期', text(bad_date))
    backwards = root.get("/admin/audit", query_string={"date_from": "2026-03-02",
                                                        "date_to": "2026-03-01"})
    assert backwards.status_code == 422 and "截止日期不能早于起始日期。" in text(backwards)
    action = root.get("/admin/audit", query_string={"action": "made.up"})
    assert action.status_code == 422 and "请从列表中选择操作。" in text(action)
    # htmx: the results, with the form out of band so its messages show.
    swapped = root.get("/admin/audit", query_string={"date_to": "x"},
                       headers={**HX, "HX-Trigger": "audit-filters"})
    assert swapped.status_code == 422
    assert text(swapped).startswith('<section id="audit-results"')
    assert 'hx-swap-oob="true"' in text(swapped) and 'id="date-to-error"' in text(swapped)


def test_pages_of_fifty_newest_first_and_links_keep_the_filters(root):
    start = datetime.datetime(2026, 1, 1)
    made = [entry("report.extended", at=start + datetime.timedelta(minutes=n), actor="bulk").id
            for n in range(120)]
    first = text(root.get("/admin/audit", query_string={"actor": "bulk"}))
    assert rows(first) == [str(i) for i in reversed(made)][:50]
    assert "共 120 条，第 1 / 3 页" in first
    assert 'href="/admin/audit?actor=bulk&amp;page=2"' in first
    assert 'hx-get="/admin/audit?actor=bulk&amp;page=2"' in first
    third = text(root.get("/admin/audit", query_string={"actor": "bulk", "page": 3}))
    assert rows(third) == [str(i) for i in reversed(made)][100:]
    assert 'href="/admin/audit?actor=bulk&amp;page=2"' in third and "下一页" not in third
    for page in ("99", "0", "x"):
        assert root.get("/admin/audit", query_string={"actor": "bulk", "page": page}).status_code == 200


def test_htmx_swaps_the_results_only(root):
    entry("report.closed", actor="hx")
    whole = text(root.get("/admin/audit", query_string={"actor": "hx"}))
    assert "<html" in whole and 'id="audit-filters"' in whole and 'id="audit-results"' in whole
    fragment = root.get("/admin/audit", query_string={"actor": "hx"}, headers=HX)
    assert fragment.status_code == 200 and "HX-Request" in fragment.headers["Vary"]
    body = text(fragment)
    assert body.startswith('<section id="audit-results"') and "<html" not in body
    assert 'id="audit-filters"' not in body and len(rows(body)) == 1


def test_export_csv_of_the_filtered_log_is_audited(root, student):
    entry("record.corrected", actor="office", account=student, ip="10.1.1.1",
          changes=audit.field_changes("diploma", 3, {"major": "数学"}, {"major": "=1+1"}))
    entry("report.issued", actor="zhang", account=student)
    page = text(root.get("/admin/audit", query_string={"actor": "office"}))
    assert 'href="/admin/audit/export.csv?actor=office"' in page
    response = root.get("/admin/audit/export.csv", query_string={"actor": "office"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.data.startswith("\ufeff".encode())
    table = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert table[0] == ["时间（Asia/Shanghai）", "操作人", "IP 地址", "当事人", "操作", "操作代码", "内容"]
    assert len(table) == 2
    assert table[1][1:6] == ["office", "10.1.1.1", "zhang@example.edu.cn", "采纳更正，修改记录",
                             "record.corrected"]
    assert table[1][6] == "学历 #3: 专业: 数学 → =1+1"
    exported = AuditEntry.get(AuditEntry.action == "audit.exported")
    assert exported.actor == "root" and "csv rows=1" in exported.detail and "actor=office" in exported.detail


def test_export_xlsx_in_english_neutralises_formulas(root, student):
    entry("settings.changed", actor="=cmd", changes={"settings": {"SCHOOL_NAME": ["示范大学", "新名"]}})
    root.set_cookie("lang", "en")
    response = root.get("/admin/audit/export.xlsx", query_string={"action": "settings.changed"})
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(response.data)).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[0][:3] == ["Time (Asia/Shanghai)", "By", "IP address"]
    assert [row[1] for row in values[1:]] == ["'=cmd"]
    assert values[1][4] == "Changed settings" and "示范大学 → 新名" in values[1][6]
    assert AuditEntry.select().where(AuditEntry.action == "audit.exported").count() == 1


def test_export_refuses_wrong_filters_and_formats(root):
    assert root.get("/admin/audit/export.csv", query_string={"date_from": "x"}).status_code == 422
    assert root.get("/admin/audit/export.pdf").status_code == 404
    assert not AuditEntry.select().where(AuditEntry.action == "audit.exported").count()


def test_nothing_edits_or_deletes_audit_entries(app):
    writing = {"POST", "PUT", "PATCH", "DELETE"}
    audit_rules = [rule for rule in app.url_map.iter_rules() if "audit" in rule.rule]
    assert {rule.endpoint for rule in audit_rules} >= {"management.audit_log", "management.audit_export"}
    for rule in audit_rules:
        assert not rule.methods & writing, (rule.rule, rule.methods)
    for rule in app.url_map.iter_rules():
        if rule.endpoint.partition(".")[0] in ("admin", "registry", "management"):
            assert not ("audit" in rule.endpoint and rule.methods & writing), rule.endpoint


@pytest.mark.parametrize("role", [Account.REGISTRAR, Account.VIEWER])
def test_other_staff_roles_are_refused(app, db, role):
    client = signed_in_staff(app, f"{role}-desk", role)
    assert client.get("/admin/audit").status_code == 403
    assert client.get("/admin/audit/export.csv").status_code == 403
    assert 'href="/admin/audit"' not in text(client.get("/admin/"))
