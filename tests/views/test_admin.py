"""学籍管理: the registrar's pages."""
import io

import pytest
from PIL import Image

from models import Account, Appeal, CorrectionRequest, Diploma, Enrollment, ImportBatch
from services import accounts
from tests.factories import PASSWORD, csv_bytes, enrollment, minimal_pdf, sign_in_staff

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
