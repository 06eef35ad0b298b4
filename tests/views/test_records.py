"""我的学信档案: the student's view, binding by certificate, corrections, access."""
import io

import pytest
from PIL import Image

import models
from models import CorrectionRequest, Diploma
from services import files
from tests.factories import PASSWORD, minimal_pdf, walk_to

HX = {"HX-Request": "true"}


def text(response):
    return response.get_data(as_text=True)


@pytest.fixture
def student(make_account):
    return make_account(username="zhang@example.edu.cn", real_name="张三",
                        id_number="11010519491231002X")


@pytest.fixture
def signed_in(client, student, login):
    login("zhang@example.edu.cn")
    return client


def jpeg(size=(120, 160)):
    buffer = io.BytesIO()
    Image.new("RGB", size, (90, 120, 150)).save(buffer, "JPEG")
    return buffer.getvalue()


def test_records_bind_at_login_and_show_by_section(client, student, make_record, login):
    make_record("enrollment")
    make_record("diploma")
    login("zhang@example.edu.cn")
    page = text(client.get("/records/"))
    assert "示范大学 · 本科 · 汉语言文学 · 不在籍（毕业）" in page
    assert 'id="section-degree"' in page and "暂无学位记录" in page
    assert "手动绑定" in page


def test_records_bind_at_registration(app, make_record, outbox):
    make_record("diploma", name="王𠮷")
    client = app.test_client()
    walk_to(client, outbox, "confirm")
    client.post("/register/confirm", data={"yes": "1"})
    assert "汉语言文学" in text(client.get("/records/"))


def test_index_page_and_fragment(signed_in):
    page, fragment = signed_in.get("/records/"), signed_in.get("/records/", headers=HX)
    assert "<html" in text(page) and "<html" not in text(fragment)
    assert 'id="records"' in text(fragment)


def test_detail_shows_every_field_masked_id_and_update_date(signed_in, student, make_record, db):
    record = make_record("enrollment", account=student.id, ethnicity="汉族", department="文学院")
    page = text(signed_in.get(f"/records/enrollment/{record.id}"))
    for label in ("姓名", "性别", "出生日期", "民族", "证件类型", "证件号码", "学校名称", "层次", "院系",
                  "班级", "专业", "学号", "学习形式", "入学日期", "学制", "学历类别", "学籍状态",
                  "预计毕业日期", "更新日期", "录取照片"):
        assert f"<dt>{label}</dt>" in page or label in page, label
    assert "1101**********002X" in page and "11010519491231002X" not in page
    assert "暂无照片" in page and "信息有误" in page


def test_photo_is_served_only_to_the_owner(app, signed_in, student, make_record, make_account):
    record = make_record("enrollment", account=student.id, photo="photos/enrollment/1.jpg")
    with models.db.connection_context():
        files.put("photos/enrollment/1.jpg", jpeg())
    page = text(signed_in.get(f"/records/enrollment/{record.id}"))
    assert 'loading="lazy"' in page and f"/records/enrollment/{record.id}/photo" in page
    photo = signed_in.get(f"/records/enrollment/{record.id}/photo")
    assert photo.status_code == 200 and photo.data == jpeg() and photo.headers["Cache-Control"] == "no-store"
    make_account(username="li@example.edu.cn", real_name="李四", id_number="440524188001010014")
    other = app.test_client()
    other.post("/login", data={"login": "li@example.edu.cn", "password": PASSWORD})
    assert other.get(f"/records/enrollment/{record.id}/photo").status_code == 404


def test_other_students_records_answer_404(app, signed_in, make_account, make_record):
    other = make_account(username="li@example.edu.cn", real_name="李四", id_number="440524188001010014")
    theirs = make_record("diploma", account=other.id, name="李四", id_number="440524188001010014")
    for url in (f"/records/diploma/{theirs.id}", f"/records/diploma/{theirs.id}/correct",
                f"/records/diploma/{theirs.id}/photo", "/records/diploma/999999",
                "/records/nothing/1"):
        assert signed_in.get(url).status_code == 404, url
    assert signed_in.post(f"/records/diploma/{theirs.id}/correct",
                          data={"field": "major", "proposed_value": "x", "reason": "y"}).status_code == 404


def test_strangers_are_sent_to_login(client, make_record):
    record = make_record("diploma")
    for url in ("/records/", f"/records/diploma/{record.id}", "/records/bind", "/records/corrections"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- manual binding ---------------------------------------------------------------

def test_bind_an_old_diploma_by_certificate_number(signed_in, make_record, db):
    old = make_record("diploma", id_number=None, graduation_date="1994-07-01", school_name="示范学院",
                      certificate_number="00298959", school_number="982456")
    form = text(signed_in.get("/records/bind"))
    assert ">证书编号</label>" in form and ">毕业年份</label>" in form and "示范学院" in form
    response = signed_in.post("/records/bind", data={"kind": "diploma", "certificate_number": "NO.00298959",
                                                     "year": "1994", "school": "示范学院"})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/records/diploma/{old.id}"
    assert Diploma.get_by_id(old.id).bound_by == "certificate"


@pytest.mark.parametrize("data, field_id, message", [
    ({"kind": "diploma", "certificate_number": "", "year": "1994", "school": "示范学院"},
     "certificate-number", "请填写证书编号"),
    ({"kind": "diploma", "certificate_number": "982456", "year": "94", "school": "示范学院"},
     "year", "4 位数字"),
    ({"kind": "diploma", "certificate_number": "982456", "year": "1994", "school": "别的学校"},
     "school", "从列表中选择"),
    ({"kind": "diploma", "certificate_number": "111111", "year": "1994", "school": "示范学院"},
     "certificate-number", "没有找到"),
])
def test_bind_refusals_are_422_beside_the_field(signed_in, data, field_id, message):
    response = signed_in.post("/records/bind", data=data, headers=HX)
    assert response.status_code == 422
    assert f'id="{field_id}-error"' in text(response) and message in text(response)


# --- corrections ------------------------------------------------------------------

@pytest.fixture
def my_record(student, make_record):
    return make_record("diploma", account=student.id, major="汉语言文学")


def correct(client, record, **data):
    values = dict(field="major", proposed_value="汉语言文学（师范）", reason="与毕业证书不一致")
    values.update(data)
    return client.post(f"/records/diploma/{record.id}/correct", data=values,
                       content_type="multipart/form-data")


def test_file_a_correction_with_evidence(app, signed_in, my_record, db):
    form = text(signed_in.get(f"/records/diploma/{my_record.id}/correct"))
    assert ">有误的项目</label>" in form and ">正确的内容</label>" in form
    response = correct(signed_in, my_record, evidence=(io.BytesIO(jpeg()), "cert.jpg"))
    assert response.status_code == 303 and response.headers["Location"] == "/records/corrections"
    request = CorrectionRequest.get()
    assert (request.status, request.current_value, request.proposed_value) == \
        ("pending", "汉语言文学", "汉语言文学（师范）")
    assert Diploma.get_by_id(my_record.id).major == "汉语言文学"       # unchanged until approved
    listing = text(signed_in.get("/records/corrections"))
    assert "待处理" in listing and "汉语言文学（师范）" in listing
    evidence = signed_in.get(f"/records/corrections/{request.id}/evidence")
    assert evidence.status_code == 200 and evidence.data == jpeg()
    detail = text(signed_in.get(f"/records/diploma/{my_record.id}"))
    assert "更正处理中" in detail


def test_one_pending_request_per_field(signed_in, my_record, db):
    assert correct(signed_in, my_record).status_code == 303
    again = correct(signed_in, my_record, proposed_value="别的专业")
    assert again.status_code == 422
    assert CorrectionRequest.select().count() == 1
    assert correct(signed_in, my_record, field="level", proposed_value="专科").status_code == 303


@pytest.mark.parametrize("data, message", [
    ({"field": "nonsense"}, "请选择有误的项目"),
    ({"proposed_value": ""}, "请填写正确的内容"),
    ({"proposed_value": "汉语言文学"}, "与记录中的一样"),
    ({"reason": ""}, "请说明理由"),
    ({"reason": "长" * 501}, "最多 500 字"),
    ({"evidence": (io.BytesIO(b"MZ\x90\x00 not a document"), "x.exe")}, "只接受 JPG、PNG 或 PDF"),
    ({"evidence": (io.BytesIO(b"%PDF-1.4" + b"0" * (2 * 1024 * 1024)), "big.pdf")}, "不能超过 2 MB"),
])
def test_bad_corrections_are_422_and_nothing_is_stored(app, signed_in, my_record, db, data, message):
    response = correct(signed_in, my_record, **data)
    assert response.status_code == 422 and message in text(response)
    assert CorrectionRequest.select().count() == 0
    assert files.count() == (0, 0)


def test_pdf_evidence_is_accepted(signed_in, my_record, db):
    response = correct(signed_in, my_record, evidence=(io.BytesIO(minimal_pdf()), "x.pdf"))
    assert response.status_code == 303


def test_other_students_evidence_is_404(app, signed_in, my_record, make_account, db):
    correct(signed_in, my_record, evidence=(io.BytesIO(jpeg()), "cert.jpg"))
    make_account(username="li@example.edu.cn", real_name="李四", id_number="440524188001010014")
    other = app.test_client()
    other.post("/login", data={"login": "li@example.edu.cn", "password": PASSWORD})
    assert other.get(f"/records/corrections/{CorrectionRequest.get().id}/evidence").status_code == 404
    assert "汉语言文学（师范）" not in text(other.get("/records/corrections"))


# --- the field's own input, checked before filing (issue 10, queues) -----------------

@pytest.mark.parametrize("headers", [{}, HX])
def test_the_correction_form_uses_the_fields_own_input(signed_in, my_record, headers):
    url = f"/records/diploma/{my_record.id}/correct"
    choice = text(signed_in.get(url, query_string={"field": "level"}, headers=headers))
    assert ('<html' in choice) is not bool(headers)
    value = choice.split('id="proposed-input"')[1]
    assert '<select aria-describedby="proposed-value-hint" id="proposed-value" name="proposed_value">' in value
    assert '<option value="硕士研究生">硕士研究生</option>' in value and "记录中现在是「本科」" in value
    assert '<input type="hidden" name="shown_for" value="level">' in value
    dated = text(signed_in.get(url, query_string={"field": "graduation_date"}, headers=headers))
    assert 'type="date"' in dated.split('id="proposed-input"')[1]
    plain = text(signed_in.get(url, query_string={"field": "major"}, headers=headers))
    assert 'id="proposed-value" name="proposed_value" type="text"' in plain
    # With htmx, the field select fetches its input when it changes, and only that.
    select = choice.split('<select', 1)[1].split(">", 1)[0]
    assert f'hx-get="{url}"' in select and 'hx-target="#proposed-input"' in select
    swapped = signed_in.get(url, query_string={"field": "completion"},
                            headers={**HX, "HX-Target": "proposed-input"})
    assert swapped.status_code == 200 and text(swapped).lstrip().startswith('<div id="proposed-input">')
    assert '<option value="肄业">肄业</option>' in text(swapped) and 'name="reason"' not in text(swapped)


@pytest.mark.parametrize("headers", [{}, HX])
@pytest.mark.parametrize("field, proposed, message", [
    ("level", "大专", "不是可选的值"),
    ("graduation_date", "2019-02-30", "不存在"),
    ("id_number", "110105194912310021", "校验"),
])
def test_an_invalid_proposed_value_is_refused_before_filing(signed_in, my_record, db, headers,
                                                            field, proposed, message):
    response = signed_in.post(f"/records/diploma/{my_record.id}/correct", headers=headers,
                              data=dict(field=field, shown_for=field, proposed_value=proposed,
                                        reason="与毕业证书不一致"),
                              content_type="multipart/form-data")
    assert response.status_code == 422
    beside = text(response).split('id="field-proposed-value"')[1].split("</div>")[0]
    assert message in beside and 'id="proposed-value-error"' in beside
    assert CorrectionRequest.select().count() == 0


def test_a_typed_date_is_filed_in_its_stored_form(signed_in, my_record, db):
    response = correct(signed_in, my_record, field="graduation_date", shown_for="graduation_date",
                       proposed_value="2019/6/30")
    assert response.status_code == 303
    assert CorrectionRequest.get().proposed_value == "2019-06-30"


def test_without_javascript_the_field_is_chosen_first(signed_in, my_record, db):
    url = f"/records/diploma/{my_record.id}/correct"
    page = text(signed_in.get(url))
    assert '<noscript><p class="actions"><button type="submit" name="choose" value="1">' in page
    # 改填这一项: the page comes back with the chosen field's input; nothing is filed.
    chosen = signed_in.post(url, data=dict(field="completion", shown_for="name", choose="1",
                                           proposed_value="张三丰", reason="证书上是毕业"))
    assert chosen.status_code == 200
    value = text(chosen).split('id="proposed-input"')[1]
    assert '<select' in value and '<option value="肄业">肄业</option>' in value
    assert "张三丰" not in value and "证书上是毕业" in text(chosen)
    # Submitted at once after changing the field: refused, never filed as the new field.
    switched = signed_in.post(url, data=dict(field="completion", shown_for="name",
                                             proposed_value="张三丰", reason="证书上是毕业"))
    assert switched.status_code == 422 and "请按新选的项目填写正确的内容" in text(switched)
    assert CorrectionRequest.select().count() == 0
    done = signed_in.post(url, data=dict(field="completion", shown_for="completion",
                                         proposed_value="结业", reason="证书上是结业"))
    assert done.status_code == 303 and CorrectionRequest.get().proposed_value == "结业"
