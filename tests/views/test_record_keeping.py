"""学籍管理员 keeping one record by hand: the forms per kind, 撤销 / 恢复, binding by
hand, and what students and verifiers see afterwards (with and without htmx)."""
import html
import io
import json
import re

import pytest
from PIL import Image

import models
from models import Account, AuditEntry, Diploma, Enrollment, Record, Report
from services import files
from services.columns import KINDS as COLUMNS
from tests.factories import (EXAMPLE_ID, PASSWORD, RECORD_DEFAULTS, create_record, image_bytes,
                             signed_in_staff, staff_account)

HX = {"HX-Request": "true"}
KINDS = ("enrollment", "diploma", "degree", "admission", "aid")


def text(response):
    return response.get_data(as_text=True)


def form_data(kind_key, **changes):
    data = {key: str(value) for key, value in RECORD_DEFAULTS[kind_key].items()}
    data.update(id_type="居民身份证", id_number=EXAMPLE_ID)
    data.update(changes)
    return data


@pytest.fixture
def keeper(app, db):
    return signed_in_staff(app, "keeper", Account.REGISTRAR)


@pytest.fixture
def student(make_account):
    return make_account(username="zhang@example.edu.cn", real_name="张三")


@pytest.fixture
def student_client(app, student):
    client = app.test_client()
    client.post("/login", data={"login": "zhang@example.edu.cn", "password": PASSWORD})
    return client


def edit_page_values(client, url):
    """What the edit form shows, as a browser would post it back (with `original`)."""
    page = text(client.get(url))
    original = re.search(r'name="original"[^>]*value="([^"]*)"|value="([^"]*)"[^>]*name="original"', page)
    raw = html.unescape(original.group(1) or original.group(2))
    values = json.loads(raw)
    return dict(values, original=raw)


# --- create -----------------------------------------------------------------------

def test_chooser_links_every_kind(keeper):
    page = text(keeper.get("/admin/records/new"))
    for kind in KINDS:
        assert f'href="/admin/records/{kind}/new"' in page
    assert "新建学籍记录" in page


@pytest.mark.parametrize("kind_key", KINDS)
def test_create_each_kind(keeper, kind_key, db):
    page = text(keeper.get(f"/admin/records/{kind_key}/new"))
    assert '<select id="level"' in page or '<select id="id-type"' in page
    assert '<label for="name">姓名</label>' in page
    if kind_key != "admission":
        assert 'type="date"' in page
    response = keeper.post(f"/admin/records/{kind_key}/new", data=form_data(kind_key))
    assert response.status_code == 303, text(response)
    model = COLUMNS[kind_key].model
    record = model.get()
    assert response.headers["Location"] == f"/admin/records/{kind_key}/{record.id}/edit"
    assert record.account_id is None and record.id_number == EXAMPLE_ID
    entry = AuditEntry.get(AuditEntry.action == "record.created")
    assert entry.changes["fields"]["name"] == ["", "张三"] and entry.actor == "keeper"
    edit = text(keeper.get(response.headers["Location"]))
    assert "未绑定" in edit and 'id="record-actions"' in edit


def test_create_with_a_choice_select_and_a_date_htmx(keeper, db):
    response = keeper.post("/admin/records/enrollment/new", headers=HX,
                           data=form_data("enrollment", status="休学", admission_date="2019-09-01"))
    assert response.status_code == 200 and response.headers["HX-Redirect"].endswith("/edit")
    record = Enrollment.get()
    assert record.status == "休学" and str(record.admission_date) == "2019-09-01"
    page = text(keeper.get(response.headers["HX-Redirect"]))
    assert '<option selected value="休学">' in page or 'value="休学" selected' in page


@pytest.mark.parametrize("headers", [{}, HX])
def test_bad_values_are_422_beside_their_fields(keeper, headers, db):
    response = keeper.post("/admin/records/enrollment/new", headers=headers,
                           data=form_data("enrollment", admission_date="2019-02-30", level="硕士",
                                          major=""))
    page = text(response)
    assert response.status_code == 422
    assert re.search(r'id="admission-date-error">日期「2019-02-30」不存在', page)
    assert re.search(r'id="level-error">「硕士」不是可选的值', page)
    assert 'id="major-error">不能为空。' in page
    assert ("<html" in page) is (not headers)
    assert Enrollment.select().count() == 0


def test_a_taken_number_is_said_beside_it(keeper, make_record, db):
    make_record("enrollment", student_number="S0001")
    response = keeper.post("/admin/records/enrollment/new",
                           data=form_data("enrollment", student_number="S0001"))
    assert response.status_code == 422
    assert re.search(r'id="student-number-error">学号「S0001」已被另一条记录#\d+使用', text(response))
    other = make_record("enrollment", student_number="S0002")
    url = f"/admin/records/enrollment/{other.id}/edit"
    values = edit_page_values(keeper, url)
    response = keeper.post(url, data=dict(values, student_number="S0001"), headers=HX)
    assert response.status_code == 422 and 'id="student-number-error"' in text(response)
    assert Enrollment.get_by_id(other.id).student_number == "S0002"


# --- edit -------------------------------------------------------------------------

def test_edit_writes_the_change_audits_it_moves_the_date_and_tells_the_student(
        keeper, make_record, student, outbox, db):
    record = make_record("diploma", account=student.id)
    before = record.updated_at
    url = f"/admin/records/diploma/{record.id}/edit"
    values = edit_page_values(keeper, url)
    assert values["major"] == "汉语言文学" and values["id_number"] == EXAMPLE_ID
    response = keeper.post(url, data=dict(values, major="汉语言文学（师范）", completion="结业"))
    assert response.status_code == 303 and response.headers["Location"] == url
    stored = Diploma.get_by_id(record.id)
    assert stored.major == "汉语言文学（师范）" and stored.completion == "结业"
    assert stored.updated_at > before
    entry = AuditEntry.get(AuditEntry.action == "record.changed")
    assert entry.account_id == student.id and entry.actor == "keeper"
    assert entry.changes == {"kind": "diploma", "record": record.id, "fields": {
        "major": ["汉语言文学", "汉语言文学（师范）"], "completion": ["毕业", "结业"]}}
    sms = outbox.last()
    assert sms["to"] == student.phone and "学历" in sms["body"] and "专业" in sms["body"]
    assert "毕(结)业" in sms["body"] and EXAMPLE_ID not in sms["body"]
    assert "已保存 2 项改动" in text(keeper.get(url))


def test_a_save_without_changes_writes_nothing(keeper, make_record, student, outbox, db):
    record = make_record("degree", account=student.id)
    url = f"/admin/records/degree/{record.id}/edit"
    values = edit_page_values(keeper, url)
    sent = len(outbox.messages())
    response = keeper.post(url, data=values, headers=HX)
    assert response.status_code == 200 and response.headers["HX-Redirect"] == url
    assert AuditEntry.select().where(AuditEntry.action == "record.changed").count() == 0
    assert len(outbox.messages()) == sent
    assert type(record).get_by_id(record.id).updated_at == record.updated_at
    assert "没有改动" in text(keeper.get(url))


def test_a_stale_form_does_not_undo_another_registrars_change(app, keeper, make_record, db):
    record = make_record("enrollment")
    url = f"/admin/records/enrollment/{record.id}/edit"
    other = signed_in_staff(app, "desk2", Account.REGISTRAR)
    mine, theirs = edit_page_values(keeper, url), edit_page_values(other, url)
    assert keeper.post(url, data=dict(mine, major="历史学")).status_code == 303
    assert other.post(url, data=dict(theirs, level="专科")).status_code == 303
    stored = Enrollment.get_by_id(record.id)
    assert (stored.major, stored.level) == ("历史学", "专科")


def test_photo_upload_replace_and_bad_photos(app_factory):
    app = app_factory(RECORD_PHOTO_MAX_BYTES=200_000)
    with models.db.connection_context():
        keeper = signed_in_staff(app, "keeper", Account.REGISTRAR)
        record = create_record("enrollment")
        url = f"/admin/records/enrollment/{record.id}/edit"
        assert "暂无照片" in text(keeper.get(url))
        values = edit_page_values(keeper, url)
        response = keeper.post(url, content_type="multipart/form-data", data=dict(
            values, photo=(io.BytesIO(image_bytes("JPEG", size=(600, 900))), "me.jpg")))
        assert response.status_code == 303, text(response)
        first = Enrollment.get_by_id(record.id).photo
        assert first.startswith(f"photos/enrollment/{record.id}-")
        page = text(keeper.get(url))
        assert 'width="120" height="160"' in page and f"/admin/records/enrollment/{record.id}/photo" in page
        served = keeper.get(f"/admin/records/enrollment/{record.id}/photo")
        assert Image.open(io.BytesIO(served.data)).size == (120, 160)
        entry = AuditEntry.get(AuditEntry.action == "record.changed")
        assert entry.changes["fields"] == {"photo": ["", first]}

        # Replaced: a new file, the old one gone.
        response = keeper.post(url, content_type="multipart/form-data", data=dict(
            values, photo=(io.BytesIO(image_bytes("PNG", size=(300, 400))), "me.png")))
        assert response.status_code == 303
        second = Enrollment.get_by_id(record.id).photo
        assert second != first and not files.exists(first)
        assert files.read(second) == keeper.get(f"/admin/records/enrollment/{record.id}/photo").data

        for name, data, message in [
                ("x.jpg", b"not an image at all", "不是有效的图片"),
                ("big.png", image_bytes("PNG", size=(5000, 3000)), "像素过多"),
                ("huge.jpg", b"\xff\xd8" + bytes(300_000), "不能超过"),
                ("doc.gif", image_bytes("GIF", size=(30, 40)), "不是 JPEG 或 PNG")]:
            for headers in ({}, HX):
                bad = keeper.post(url, content_type="multipart/form-data", headers=headers,
                                  data=dict(values, major="改了", photo=(io.BytesIO(data), name)))
                assert bad.status_code == 422, name
                assert re.search(r'id="photo-error">[^<]*' + message, text(bad)), (name, text(bad)[-3000:])
        stored = Enrollment.get_by_id(record.id)
        assert stored.photo == second and stored.major == "汉语言文学"


def test_unknown_kinds_and_records_are_404(keeper):
    for url in ("/admin/records/x/new", "/admin/records/diploma/999/edit",
                "/admin/records/diploma/999/photo"):
        assert keeper.get(url).status_code == 404, url
    for action in ("withdraw", "restore", "bind", "unbind"):
        assert keeper.post(f"/admin/records/diploma/999/{action}").status_code == 404


def test_viewers_cannot_keep_records(app, make_record, db):
    record = make_record("diploma")
    viewer = signed_in_staff(app, "front-desk", Account.VIEWER)
    assert viewer.get(f"/admin/records/diploma/{record.id}/edit").status_code == 403
    assert viewer.post(f"/admin/records/diploma/{record.id}/withdraw",
                       data={"withdraw_reason": "x"}).status_code == 403


# --- 撤销 and restore ------------------------------------------------------------------

@pytest.fixture
def reported(app, student, student_client, make_record, db):
    record = make_record("diploma", account=student.id)
    response = student_client.post(f"/reports/new/diploma/{record.id}", data={"months": "3"})
    assert response.status_code == 303, text(response)
    report = Report.get()
    pdf = student_client.get(f"/reports/{report.id}/pdf").data
    return record, report, pdf


def verify_all(app, report, pdf):
    verifier = app.test_client()
    web = verifier.get(f"/verify/{report.code}")
    api = verifier.get(f"/api/v1/reports/{report.code}")
    upload = verifier.post("/verify/pdf", data={"pdf": (io.BytesIO(pdf), "r.pdf")},
                           content_type="multipart/form-data")
    return web, api, upload


def test_withdraw_hides_the_record_and_reports_verify_as_withdrawn_then_restore(
        app, keeper, student, student_client, reported, outbox):
    record, report, pdf = reported
    url = f"/admin/records/diploma/{record.id}"
    response = keeper.post(f"{url}/withdraw", data={"withdraw_reason": "证书信息登记错误，待核实"})
    assert response.status_code == 303 and response.headers["Location"] == f"{url}/edit"
    stored = Diploma.get_by_id(record.id)
    assert stored.withdrawn_at is not None and stored.withdrawn_reason == "证书信息登记错误，待核实"
    assert "证书信息登记错误，待核实" in outbox.last()["body"] and "撤销" in outbox.last()["body"]
    assert AuditEntry.get(AuditEntry.action == "record.withdrawn").account_id == student.id
    page = text(keeper.get(f"{url}/edit"))
    assert "已撤销" in page and "恢复这条记录" in page and "证书信息登记错误" in page

    # The student no longer sees it, nor can issue a report on it or ask to correct it.
    assert "汉语言文学" not in text(student_client.get("/records/"))
    for path in (f"/records/diploma/{record.id}", f"/records/diploma/{record.id}/correct",
                 f"/reports/new/diploma/{record.id}"):
        assert student_client.get(path).status_code == 404, path
    assert "已被学校撤销" in text(student_client.get("/reports/"))

    web, api, upload = verify_all(app, report, pdf)
    assert web.status_code == 410 and "该报告已被学校撤销" in text(web)
    assert "汉语言文学" not in text(web)
    assert api.status_code == 410 and api.get_json() == {"status": "withdrawn"}
    assert upload.status_code == 422 and "已被学校撤销" in text(upload)
    english = app.test_client()
    english.set_cookie("lang", "en")
    assert "withdrawn by the school" in text(english.get(f"/verify/{report.code}"))

    response = keeper.post(f"{url}/restore", headers=HX)
    assert response.status_code == 200 and response.headers["HX-Redirect"] == f"{url}/edit"
    assert Diploma.get_by_id(record.id).withdrawn_at is None
    assert "恢复" in outbox.last()["body"]
    assert student_client.get(f"/records/diploma/{record.id}").status_code == 200
    web, api, upload = verify_all(app, report, pdf)
    assert web.status_code == 200 and api.get_json()["status"] == "valid"
    assert upload.status_code == 200
    assert AuditEntry.select().where(AuditEntry.action == "record.restored").count() == 1


def test_a_report_withdrawn_by_itself_stays_withdrawn_after_restore(app, keeper, reported):
    record, report, pdf = reported
    Report.update(withdrawn_at=report.issued_at).where(Report.id == report.id).execute()
    keeper.post(f"/admin/records/diploma/{record.id}/withdraw", data={"withdraw_reason": "核实"})
    keeper.post(f"/admin/records/diploma/{record.id}/restore")
    web, api, _upload = verify_all(app, report, pdf)
    assert web.status_code == 410 and api.get_json() == {"status": "withdrawn"}


@pytest.mark.parametrize("headers", [{}, HX])
def test_withdraw_needs_a_reason(keeper, make_record, headers, db):
    record = make_record("aid")
    response = keeper.post(f"/admin/records/aid/{record.id}/withdraw", headers=headers,
                           data={"withdraw_reason": "  "})
    assert response.status_code == 422
    assert 'id="withdraw-reason-error">请写明理由。' in text(response)
    assert ('id="record-form"' in text(response)) is (not headers)
    assert 'id="record-actions"' in text(response)
    assert type(record).get_by_id(record.id).withdrawn_at is None
    again = keeper.post(f"/admin/records/aid/{record.id}/restore", headers=headers)
    assert again.status_code == 422 and "没有被撤销" in text(again)


# --- bind and unbind by hand -------------------------------------------------------------

def test_bind_then_unbind_by_hand(app, keeper, make_record, make_account, student, student_client,
                                  db, outbox):
    record = make_record("degree", id_number=None, name="张三")
    url = f"/admin/records/degree/{record.id}"
    page = text(keeper.get(f"{url}/edit"))
    assert "绑定到这个学生账号" in page and '<label for="bind-username">' in page
    response = keeper.post(f"{url}/bind", data={"bind_username": " Zhang@Example.edu.cn ",
                                                "bind_reason": "学生持证书原件来办理"})
    assert response.status_code == 303
    stored = type(record).get_by_id(record.id)
    assert stored.account_id == student.id and stored.bound_by == Record.REGISTRAR
    assert AuditEntry.get(AuditEntry.action == "record.bound").account_id == student.id
    told = [message for message in outbox.messages() if "学籍管理部门核实后" in message["body"]]
    assert told and "学位" in told[0]["body"]
    assert student_client.get(f"/records/degree/{record.id}").status_code == 200
    assert "张三（zhang@example.edu.cn）" in text(keeper.get(f"{url}/edit"))

    response = keeper.post(f"{url}/unbind", data={"unbind_reason": "绑错了人"}, headers=HX)
    assert response.status_code == 200 and response.headers["HX-Redirect"] == f"{url}/edit"
    assert type(record).get_by_id(record.id).account_id is None
    assert student_client.get(f"/records/degree/{record.id}").status_code == 404
    assert AuditEntry.get(AuditEntry.action == "record.unbound").account_id == student.id


def test_unbound_by_hand_stays_unbound_at_the_next_login(app, keeper, make_record, student, db):
    record = make_record("diploma", account=student.id)  # the student's ID and name
    keeper.post(f"/admin/records/diploma/{record.id}/unbind", data={"unbind_reason": "不是本人"})
    client = app.test_client()
    client.post("/login", data={"login": "zhang@example.edu.cn", "password": PASSWORD})
    assert Diploma.get_by_id(record.id).account_id is None


@pytest.mark.parametrize("headers", [{}, HX])
def test_binding_refuses_staff_disabled_unknown_and_bound(keeper, make_record, make_account,
                                                          student, headers, db):
    record = make_record("admission")
    url = f"/admin/records/admission/{record.id}/bind"
    staff_account("other-desk", Account.VIEWER)
    gone = make_account(username="gone@example.edu.cn", id_number=None)
    Account.update(disabled_at=record.created_at, disabled_reason="毕业离校").where(
        Account.id == gone.id).execute()
    for username, message in [("other-desk", "工作人员账号"), ("gone@example.edu.cn", "已停用"),
                              ("nobody@example.edu.cn", "没有用户名为"), ("", "请填写学生账号")]:
        response = keeper.post(url, data={"bind_username": username, "bind_reason": "核实"},
                               headers=headers)
        assert response.status_code == 422, username
        assert re.search(r'id="bind-username-error">[^<]*' + message, text(response)), username
    response = keeper.post(url, data={"bind_username": "zhang@example.edu.cn", "bind_reason": ""},
                           headers=headers)
    assert response.status_code == 422 and 'id="bind-reason-error">请写明理由' in text(response)
    assert type(record).get_by_id(record.id).account_id is None
