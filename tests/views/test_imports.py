"""导入记录 through the pages: upload -> preview (nothing written) -> 导入 or 取消; the
import history; templates per kind. With and without htmx."""
import datetime
import io
import re

import pytest
from openpyxl import load_workbook

from models import AuditEntry, Enrollment, ImportBatch
from services import importer
from services.columns import KINDS
from tests.factories import csv_bytes, enrollment, resident_id, signed_in_staff

HX = {"HX-Request": "true"}


def text(response):
    return response.get_data(as_text=True)


@pytest.fixture
def registrar(app, db):
    return signed_in_staff(app, "office", "registrar")


def upload(client, data, name="e.csv", kind="enrollment", headers=None):
    return client.post("/admin/import", content_type="multipart/form-data", headers=headers or {},
                       data={"kind": kind, "table": (io.BytesIO(data), name)})


def commit_url(response):
    return re.search(r'action="(/admin/imports/[^"]+/commit)"', text(response)).group(1)


@pytest.mark.parametrize("headers", [{}, HX], ids=["plain", "htmx"])
def test_the_preview_shows_every_kind_of_row_and_writes_nothing(registrar, headers):
    upload(registrar, csv_bytes([enrollment(), enrollment(学号="2019002", 证件号码=resident_id(sequence=135))]))
    registrar.post(f"/admin/imports/{ImportBatch.get().token}/commit")
    rows = [enrollment(), enrollment(学号="2019002", 证件号码=resident_id(sequence=135), 专业="软件工程"),
            enrollment(学号="2019003", 姓名="王五", 证件号码=resident_id(sequence=357))]

    response = upload(registrar, csv_bytes(rows), headers=headers)

    page = text(response)
    assert response.status_code == 200
    assert ("<html" in page) == (not headers)
    assert "将新增 1 条，更新 1 条，未变 1 条" in page
    assert "王五（学号 2019003）" in page
    assert "专业：计算机科学与技术 → 软件工程" in page
    assert 'id="import-unchanged">第 2 行' in page
    assert re.search(r'<form[^>]*action="/admin/imports/[^"]+/commit"', page)
    assert re.search(r'<form[^>]*action="/admin/imports/[^"]+/cancel"', page)
    assert Enrollment.get(Enrollment.student_number == "2019002").major == "计算机科学与技术"
    assert Enrollment.select().count() == 2
    assert ImportBatch.select().where(ImportBatch.status == "pending").count() == 1


@pytest.mark.parametrize("headers", [{}, HX], ids=["plain", "htmx"])
def test_problems_are_listed_by_row_and_column_and_nothing_is_kept(registrar, headers):
    response = upload(registrar, csv_bytes([enrollment(入学日期="2019-02-30")]), headers=headers)
    assert response.status_code == 422
    assert "第 2 行「入学日期」" in text(response) and "/commit" not in text(response)
    assert 'id="table"' in text(response)  # the form again, to upload the corrected file
    assert not ImportBatch.select().exists() and not Enrollment.select().exists()


def test_commit_writes_all_and_shows_the_result(registrar):
    response = upload(registrar, csv_bytes([enrollment()]))
    done = registrar.post(commit_url(response))
    assert done.status_code == 303
    page = text(registrar.get(done.headers["Location"]))
    assert "导入完成：共 1 行，新增 1 条" in page and "已导入" in page
    assert Enrollment.select().count() == 1
    assert AuditEntry.get(AuditEntry.action == "records.imported").actor == "office"
    again = registrar.post(commit_url(response))
    assert again.status_code == 409 and "已经导入过了" in text(again)
    assert Enrollment.select().count() == 1


def test_commit_through_htmx_redirects_the_page(registrar):
    response = upload(registrar, csv_bytes([enrollment()]), headers=HX)
    done = registrar.post(commit_url(response), headers=HX)
    assert done.status_code == 200 and done.headers["HX-Redirect"].startswith("/admin/imports/")
    assert Enrollment.select().count() == 1
    again = registrar.post(commit_url(response), headers=HX)
    assert again.status_code == 409 and "<html" not in text(again)


@pytest.mark.parametrize("headers", [{}, HX], ids=["plain", "htmx"])
def test_cancel_writes_nothing(registrar, headers):
    upload(registrar, csv_bytes([enrollment()]))
    token = ImportBatch.get().token
    done = registrar.post(f"/admin/imports/{token}/cancel", headers=headers)
    if headers:
        assert done.status_code == 200 and done.headers["HX-Redirect"] == "/admin/import"
    else:
        assert done.status_code == 303 and done.headers["Location"] == "/admin/import"
    assert ImportBatch.get().status == "cancelled" and not Enrollment.select().exists()
    assert AuditEntry.select().where(AuditEntry.action == "import.cancelled").count() == 1
    assert registrar.post(f"/admin/imports/{token}/commit").status_code == 409
    assert not Enrollment.select().exists()


def test_the_batch_page_previews_a_pending_batch_again(registrar):
    upload(registrar, csv_bytes([enrollment()]))
    token = ImportBatch.get().token
    page = registrar.get(f"/admin/imports/{token}")
    assert page.status_code == 200 and "待确认" in text(page) and "将新增 1 条" in text(page)
    fragment = registrar.get(f"/admin/imports/{token}", headers=HX)
    assert "<html" not in text(fragment) and 'id="import-batch"' in text(fragment)
    assert registrar.get("/admin/imports/nonsense").status_code == 404
    assert registrar.post("/admin/imports/nonsense/commit").status_code == 404


def test_history_lists_imports_in_the_schools_time_and_pages(registrar):
    upload(registrar, csv_bytes([enrollment()]), name="学籍2024.csv")
    ImportBatch.update(uploaded_at=datetime.datetime(2025, 3, 1, 1, 30)).execute()
    page = text(registrar.get("/admin/imports"))
    # Stored in UTC, shown in the school's time zone (Asia/Shanghai).
    assert "2025-03-01 09:30" in page and "学籍2024.csv" in page and "office" in page
    assert "待确认" in page and "下一页" not in page
    fragment = registrar.get("/admin/imports", headers=HX)
    assert "<html" not in text(fragment) and "学籍2024.csv" in text(fragment)
    for n in range(importer.HISTORY_PAGE):
        ImportBatch.create(kind="aid", filename=f"aid{n}.csv", uploaded_by="office", status="cancelled")
    first = text(registrar.get("/admin/imports"))
    assert "下一页" in first and "学籍2024.csv" not in first
    second = text(registrar.get("/admin/imports?page=2"))
    assert "学籍2024.csv" in second and "上一页" in second
    assert registrar.get("/admin/imports?page=x").status_code == 200
    assert registrar.get("/admin/imports?page=-3").status_code == 200


@pytest.mark.parametrize("kind", list(KINDS))
def test_templates_download_and_import_cleanly(registrar, kind):
    csv_file = registrar.get(f"/admin/imports/template/{kind}.csv")
    assert csv_file.status_code == 200 and "attachment" in csv_file.headers["Content-Disposition"]
    assert csv_file.data.decode("utf-8-sig").splitlines()[0] == ",".join(KINDS[kind].headers)
    xlsx_file = registrar.get(f"/admin/imports/template/{kind}.xlsx")
    sheet = load_workbook(io.BytesIO(xlsx_file.data)).worksheets[0]
    assert [cell.value for cell in sheet[1]] == KINDS[kind].headers
    preview = upload(registrar, xlsx_file.data, name="t.xlsx", kind=kind)
    assert preview.status_code == 200 and "将新增 1 条" in text(preview), text(preview)
    assert registrar.post(commit_url(preview)).status_code == 303
    assert KINDS[kind].model.select().count() == 1


def test_the_import_page_links_the_templates_and_the_history(registrar):
    page = text(registrar.get("/admin/import"))
    assert 'href="/admin/imports/template/enrollment.csv"' in page
    assert 'href="/admin/imports/template/aid.xlsx"' in page
    assert 'href="/admin/imports"' in page
    assert registrar.get("/admin/imports/template/alumni.csv").status_code == 404
