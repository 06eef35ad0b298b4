"""学籍管理: the registrar's pages."""
import io

import pytest
from PIL import Image

from models import Account, Appeal, CorrectionRequest, Diploma, Enrollment, ImportBatch
from services import accounts
from tests.factories import (PASSWORD, csv_bytes, enrollment, minimal_pdf, sign_in_staff,
                             signed_in_staff)

HX = {"HX-Request": "true"}


def text(response):
    return response.get_data(as_text=True)


@pytest.fixture
def registrar(app, client, db):
    accounts.create_or_reset_admin("office", "Desk-pass-2026")
    sign_in_staff(client, "office", "Desk-pass-2026")
    assert client.get("/admin/").status_code == 200
    return client


@pytest.fixture
def student(make_account):
    return make_account(username="zhang@example.edu.cn", real_name="张三")


def test_students_are_told_the_pages_do_not_exist(app, student, login, client):
    login("zhang@example.edu.cn")
    for url in ("/admin/", "/admin/corrections", "/admin/appeals", "/admin/import"):
        assert client.get(url).status_code == 404, url


def test_dashboard_counts_and_audit(registrar):
    page = text(registrar.get("/admin/"))
    assert "待处理的更正申请：0" in page
    assert "admin.created" in text(registrar.get("/admin/audit"))


@pytest.fixture
def pending_correction(app, student, make_record, login):
    record = make_record("diploma", account=student.id)
    client = app.test_client()
    client.post("/login", data={"login": "zhang@example.edu.cn", "password": PASSWORD})
    client.post(f"/records/diploma/{record.id}/correct", content_type="multipart/form-data",
                data={"field": "major", "proposed_value": "汉语言文学（师范）", "reason": "证书原件",
                      "evidence": (io.BytesIO(minimal_pdf()), "x.pdf")})
    return CorrectionRequest.get()


def test_adopt_a_correction(registrar, pending_correction, outbox):
    listing = text(registrar.get("/admin/corrections"))
    assert "汉语言文学（师范）" in listing
    detail = registrar.get(f"/admin/corrections/{pending_correction.id}")
    assert "证书原件" in text(detail) and ">决定</legend>" in text(detail)
    evidence = registrar.get(f"/admin/corrections/{pending_correction.id}/evidence")
    assert evidence.data.startswith(b"%PDF")
    done = registrar.post(f"/admin/corrections/{pending_correction.id}", data={"decision": "approve"})
    assert done.status_code == 303
    assert Diploma.get_by_id(pending_correction.record_id).major == "汉语言文学（师范）"
    assert "已采纳" in outbox.last()["body"]


def test_declining_without_a_reason_is_422(registrar, pending_correction):
    response = registrar.post(f"/admin/corrections/{pending_correction.id}",
                              data={"decision": "reject", "reply": ""}, headers=HX)
    assert response.status_code == 422 and "必须写明理由" in text(response)
    nothing = registrar.post(f"/admin/corrections/{pending_correction.id}", data={})
    assert nothing.status_code == 422 and "请选择" in text(nothing)
    assert CorrectionRequest.get().status == "pending"


def test_unknown_ids_are_404(registrar):
    for url in ("/admin/corrections/999", "/admin/appeals/999", "/admin/appeals/999/photo",
                "/admin/corrections/999/evidence"):
        assert registrar.get(url).status_code == 404, url


def test_approve_an_appeal(registrar, student, app, outbox):
    buffer = io.BytesIO()
    Image.new("RGB", (30, 40)).save(buffer, "PNG")
    app.test_client().post("/register/appeal", content_type="multipart/form-data", data=dict(
        real_name="张三", id_type="居民身份证", id_number="11010519491231002X",
        contact_email="real@example.com", photo=(io.BytesIO(buffer.getvalue()), "me.png")))
    appeal = Appeal.get()
    detail = text(registrar.get(f"/admin/appeals/{appeal.id}"))
    assert "zhang@example.edu.cn" in detail and "11010519491231002X" in detail
    assert registrar.get(f"/admin/appeals/{appeal.id}/photo").data == buffer.getvalue()
    done = registrar.post(f"/admin/appeals/{appeal.id}", data={"decision": "approve"})
    assert done.status_code == 303
    assert Account.get_by_id(student.id).id_number is None
    assert outbox.last()["to"] == "real@example.com"


def test_import_through_the_page(registrar, db):
    good = registrar.post("/admin/import", content_type="multipart/form-data", data={
        "kind": "enrollment", "table": (io.BytesIO(csv_bytes([enrollment()])), "e.csv")})
    assert good.status_code == 200 and "将新增 1 条" in text(good)
    assert Enrollment.select().count() == 0  # a preview first
    token = ImportBatch.get().token
    done = registrar.post(f"/admin/imports/{token}/commit")
    assert done.status_code == 303
    assert "新增 1 条" in text(registrar.get(done.headers["Location"]))
    assert Enrollment.select().count() == 1
    bad = registrar.post("/admin/import", content_type="multipart/form-data", data={
        "kind": "enrollment", "table": (io.BytesIO(csv_bytes([enrollment(**{"入学日期": "2019-02-30"})])), "e.csv")})
    assert bad.status_code == 422 and "第 2 行「入学日期」" in text(bad)
    missing = registrar.post("/admin/import", content_type="multipart/form-data", data={"kind": "enrollment"})
    assert missing.status_code == 422 and "请选择数据文件" in text(missing)
    wrong_kind = registrar.post("/admin/import", content_type="multipart/form-data", data={"kind": "x"})
    assert wrong_kind.status_code == 422


@pytest.mark.parametrize("url", ["/admin/corrections", "/admin/appeals"])
def test_status_filters(registrar, url):
    for status in ("pending", "approved", "rejected", "nonsense"):
        response = registrar.get(url, query_string={"status": status})
        assert response.status_code == 200
        expected = status if status != "nonsense" else "pending"
        assert f'href="{url}?status={expected}" aria-current="page"' in text(response)


# --- queues: amended values, counts, pages (issue 10) -------------------------------

def legacy_request(student, record, field, proposed):
    """A pending request as filed before proposed values were checked at filing."""
    return CorrectionRequest.create(
        account=student, kind="diploma", record_id=record.id, field=field,
        current_value=str(getattr(record, field) or ""), proposed_value=proposed, reason="证书原件",
        pending_key=f"diploma:{record.id}:{field}")


@pytest.fixture
def completion_request(student, make_record, db):
    record = make_record("diploma", account=student.id, completion="结业")
    return legacy_request(student, record, "completion", "毕业了")


@pytest.mark.parametrize("headers", [{}, HX])
def test_the_decision_offers_the_columns_own_input(registrar, completion_request, make_record,
                                                   student, headers):
    page = text(registrar.get(f"/admin/corrections/{completion_request.id}", headers=headers))
    assert ('<html' in page) is not bool(headers)
    value = page.split('id="field-value"')[1].split("</div>")[0]
    assert '<select aria-describedby="value-hint" id="value" name="value">' in value
    assert '<label for="value">采纳的内容</label>' in value
    assert '<option selected value="">' in value          # 毕业了 is no choice: pick one
    assert '<option value="毕业">毕业</option>' in value
    dated = legacy_request(student, make_record("diploma", account=student.id),
                           "graduation_date", "2019/6/30")
    page = text(registrar.get(f"/admin/corrections/{dated.id}", headers=headers))
    assert 'type="date"' in page and 'value="2019-06-30"' in page


@pytest.mark.parametrize("headers", [{}, HX])
def test_adopt_an_amended_choice(registrar, completion_request, outbox, headers):
    response = registrar.post(f"/admin/corrections/{completion_request.id}", headers=headers,
                              data={"decision": "approve", "value": "毕业"})
    if headers:
        assert response.status_code == 200 and response.headers["HX-Redirect"] == "/admin/corrections"
    else:
        assert response.status_code == 303
    assert Diploma.get_by_id(completion_request.record_id).completion == "毕业"
    assert CorrectionRequest.get_by_id(completion_request.id).status == "approved"
    assert "记录已更新为「毕业」" in outbox.last()["body"]
    assert CorrectionRequest.get_by_id(completion_request.id).adopted_value == "毕业"


def test_the_student_sees_the_value_the_school_adopted(app, registrar, completion_request):
    registrar.post(f"/admin/corrections/{completion_request.id}",
                   data={"decision": "approve", "value": "毕业"})
    client = app.test_client()
    client.post("/login", data={"login": "zhang@example.edu.cn", "password": PASSWORD})
    page = text(client.get("/records/corrections"))
    assert "毕业了" in page and "学校采纳为：毕业" in page


@pytest.mark.parametrize("headers", [{}, HX])
def test_an_invalid_value_is_422_beside_the_value_field(registrar, completion_request, headers):
    as_typed = registrar.post(f"/admin/corrections/{completion_request.id}", headers=headers,
                              data={"decision": "approve", "value": ""})
    assert as_typed.status_code == 422
    beside = text(as_typed).split('id="field-value"')[1].split("</div>")[0]
    assert "「毕业了」不是可选的值" in beside and 'id="value-error"' in beside
    assert ('<html' in text(as_typed)) is not bool(headers)
    wrong = registrar.post(f"/admin/corrections/{completion_request.id}", headers=headers,
                           data={"decision": "approve", "value": "毕业了吗"})
    assert wrong.status_code == 422 and 'id="value-error"' in text(wrong)
    assert Diploma.get_by_id(completion_request.record_id).completion == "结业"
    assert CorrectionRequest.get_by_id(completion_request.id).status == "pending"


@pytest.mark.parametrize("headers", [{}, HX])
def test_an_amended_date(registrar, student, make_record, headers):
    request = legacy_request(student, make_record("diploma", account=student.id),
                             "graduation_date", "2019-07-02")
    bad = registrar.post(f"/admin/corrections/{request.id}", headers=headers,
                         data={"decision": "approve", "value": "2019-06-31"})
    assert bad.status_code == 422 and "不存在" in text(bad).split('id="field-value"')[1]
    good = registrar.post(f"/admin/corrections/{request.id}", headers=headers,
                          data={"decision": "approve", "value": "2019-06-30"})
    assert good.status_code in (200, 303)
    assert str(Diploma.get_by_id(request.record_id).graduation_date) == "2019-06-30"


def test_queue_counts_in_the_header(registrar, app, completion_request, student, make_record):
    page = text(registrar.get("/admin/corrections"))
    nav = page.split('<nav class="tabs"')[1].split("</nav>")[0]
    assert "1 条待处理" in nav.split('id="nav-corrections"')[1].split("</a>")[0]
    assert "待处理" not in nav.split('id="nav-appeals"')[1].split("</a>")[0]   # no appeals
    fragment = text(registrar.get("/admin/corrections", headers=HX))
    assert 'id="nav-corrections"' not in fragment           # a fragment has no header
    registrar.post(f"/admin/corrections/{completion_request.id}",
                   data={"decision": "reject", "reply": "原件即为结业"})
    assert "条待处理" not in text(registrar.get("/admin/")).split("</nav>")[0]
    # A 查询员 has no queues: no counts in the header.
    viewer = signed_in_staff(app, "look", Account.VIEWER)
    legacy_request(student, make_record("diploma", account=student.id), "major", "x")
    assert "条待处理" not in text(viewer.get("/admin/"))


@pytest.mark.parametrize("headers", [{}, HX])
def test_the_queue_is_paginated_oldest_first(registrar, student, make_record, headers):
    records = [make_record("diploma", account=student.id) for _ in range(26)]
    made = [legacy_request(student, record, field, "x") for record in records
            for field in ("major", "president")]
    made[-1].delete_instance()                         # 52 made, 51 kept
    first = text(registrar.get("/admin/corrections", headers=headers))
    assert first.count('href="/admin/corrections/') == 50
    assert f'href="/admin/corrections/{made[0].id}"' in first
    assert "第 1 / 2 页，共 51 条" in first and 'href="/admin/corrections?status=pending&amp;page=2"' in first
    second = text(registrar.get("/admin/corrections?page=2", headers=headers))
    assert second.count('href="/admin/corrections/') == 1 and f'/admin/corrections/{made[50].id}"' in second
    assert "上一页" in second and "下一页" not in second
    for page in ("x", "-3", "99"):
        assert registrar.get(f"/admin/corrections?page={page}").status_code == 200
