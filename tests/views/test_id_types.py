"""The real 证件类型 (issue 11) on the pages: registration, appeal, username recovery,
the registrar's record form and the student's correction form, with and without htmx."""
import io

import pytest
from PIL import Image

from models import Account, Appeal, CorrectionRequest, Diploma
from services import appeals
from tests.factories import RECORD_DEFAULTS, signed_in_staff, walk_to

HX = {"HX-Request": "true"}
RESIDENCE_PERMIT = "810000199001010019"      # Hong Kong, born 1990-01-01, 男
TYPES = ("居民身份证", "护照", "港澳居民来往内地通行证", "台湾居民来往大陆通行证",
         "外国人永久居留身份证", "港澳台居民居住证", "其他")


def text(response):
    return response.get_data(as_text=True)


def options_of(page, select_id):
    select = page.split(f'id="{select_id}"', 1)[1].split("</select>", 1)[0]
    return [part.split('"', 1)[0] for part in select.split('value="')[1:]]


# --- registration ----------------------------------------------------------------------

@pytest.mark.parametrize("headers", [{}, HX])
def test_the_identity_step_lists_the_real_types(client, headers):
    client.post("/register/notice", data={"consent": "y"})
    page = text(client.get("/register/identity", headers=headers))
    assert '<label for="id-type">证件类型</label>' in page
    assert options_of(page, "id-type") == list(TYPES)
    assert 'selected value="居民身份证"' in page or 'value="居民身份证" selected' in page


def test_the_types_are_english_on_english_pages(client):
    client.set_cookie("lang", "en")
    client.post("/register/notice", data={"consent": "y"})
    page = text(client.get("/register/identity"))
    assert ">Passport</option>" in page
    assert ">Residence Permit for Hong Kong, Macao and Taiwan Residents</option>" in page


def test_registering_with_a_passport_binds_a_record_of_other(app, client, outbox, make_record, db):
    record = make_record("diploma", name="王𠮷", id_type="其他", id_number="E12345678")
    walk_to(client, outbox, "confirm", id_type="护照", id_number="ｅ1234 5678")
    assert client.post("/register/confirm", data={"yes": "1"}).status_code == 303
    account = Account.get(Account.username == "wang@example.edu.cn")
    assert (account.id_type, account.id_number) == ("护照", "E12345678")
    assert Diploma.get_by_id(record.id).account_id == account.id


def test_registering_with_a_residence_permit(client, outbox, db):
    walk_to(client, outbox, "confirm", id_type="港澳台居民居住证", id_number=RESIDENCE_PERMIT.lower())
    assert RESIDENCE_PERMIT in text(client.get("/register/confirm"))
    assert client.post("/register/confirm", data={"yes": "1"}).status_code == 303
    account = Account.get(Account.username == "wang@example.edu.cn")
    assert (account.id_type, account.id_number) == ("港澳台居民居住证", RESIDENCE_PERMIT)


@pytest.mark.parametrize("headers", [{}, HX])
@pytest.mark.parametrize("id_type, typed, message", [
    ("护照", "ABCDEFGH", "护照号码应为 5 到 17 位"),
    ("港澳居民来往内地通行证", "K12345678", "H 或 M 加 8 位数字"),
    ("台湾居民来往大陆通行证", "1234567", "8 位数字"),
    ("外国人永久居留身份证", "911840198503151230", "校验位"),
    ("港澳台居民居住证", "11010519491231002X", "810000"),
    ("港澳台居民居住证", "810000199001010010", "居住证号码校验位不正确"),
])
def test_each_type_is_checked_by_its_rule_beside_the_field(client, db, headers, id_type, typed,
                                                            message):
    from tests.factories import identity
    client.post("/register/notice", data={"consent": "y"})
    response = client.post("/register/identity", headers=headers,
                           data=identity(id_type=id_type, id_number=typed))
    assert response.status_code == 422
    beside = text(response).split('id="field-id-number"')[1].split("</div>")[0]
    assert message in beside and 'id="id-number-error"' in beside
    assert ("<html" in text(response)) == (headers == {})


def test_the_same_number_under_another_type_is_taken(client, make_account):
    make_account(id_type="其他", id_number="E12345678")
    from tests.factories import identity
    client.post("/register/notice", data={"consent": "y"})
    response = client.post("/register/identity", data=identity(id_type="护照", id_number="E12345678"))
    assert response.status_code == 422 and "该证件号码已被注册" in text(response)


# --- appeal and recovery -----------------------------------------------------------------

def png():
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 180, 160)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("headers", [{}, HX])
def test_an_appeal_with_a_passport(client, db, headers):
    page = text(client.get("/register/appeal", headers=headers))
    assert options_of(page, "id-type") == list(TYPES)
    bad = client.post("/register/appeal", headers=headers, content_type="multipart/form-data",
                      data=dict(real_name="John Smith", id_type="护照", id_number="ABCDEFGH",
                                contact_email="john@example.com", photo=(io.BytesIO(png()), "me.png")))
    assert bad.status_code == 422 and "护照号码" in text(bad) and Appeal.select().count() == 0
    good = client.post("/register/appeal", headers=headers, content_type="multipart/form-data",
                       data=dict(real_name="John Smith", id_type="护照", id_number="e1234 5678",
                                 contact_email="john@example.com", photo=(io.BytesIO(png()), "me.png")))
    assert good.status_code == 200
    appeal = Appeal.get()
    assert (appeal.id_type, appeal.id_number) == ("护照", "E12345678")
    assert appeals.find(appeal.reference, "e12345678").id == appeal.id


def test_username_recovery_finds_a_passport_account_under_other(client, make_account, outbox):
    make_account(real_name="John Smith", id_type="护照", id_number="E12345678")
    response = client.post("/recover/username", data={"real_name": "John Smith", "id_type": "其他",
                                                     "id_number": "e12345678"})
    assert response.status_code == 303
    assert client.post("/recover/username/send", data={"channel": "sms"}).status_code == 200
    result = client.post("/recover/username/check", data={"code": outbox.last_code()})
    assert result.status_code == 200 and "s***@example.edu.cn" in text(result)


# --- the registrar's record form -----------------------------------------------------------

@pytest.fixture
def keeper(app, db):
    return signed_in_staff(app, "keeper", Account.REGISTRAR)


def record_form(**changes):
    data = {key: str(value) for key, value in RECORD_DEFAULTS["diploma"].items()}
    data.update(changes)
    return data


def test_the_record_form_takes_every_type(keeper, db):
    page = text(keeper.get("/admin/records/diploma/new"))
    assert options_of(page, "id-type") == ["", *TYPES]
    response = keeper.post("/admin/records/diploma/new",
                           data=record_form(id_type="护照", id_number="e1234 5678"))
    assert response.status_code == 303, text(response)
    record = Diploma.get()
    assert (record.id_type, record.id_number) == ("护照", "E12345678")
    for headers in ({}, HX):
        refused = keeper.post("/admin/records/diploma/new", headers=headers,
                              data=record_form(id_type="港澳台居民居住证", id_number=RESIDENCE_PERMIT,
                                               certificate_number="109991201905000002"))
        assert refused.status_code == 422
        beside = text(refused).split('id="field-birth-date"')[1].split("</div>")[0]
        assert "1990-01-01" in beside          # the permit carries a birth date
    assert Diploma.select().count() == 1


# --- the student's correction form ------------------------------------------------------------

@pytest.fixture
def student(make_account):
    return make_account(username="zhang@example.edu.cn", real_name="张三")


@pytest.fixture
def signed_in(client, student, login):
    login("zhang@example.edu.cn")
    return client


@pytest.fixture
def my_record(student, make_record):
    return make_record("diploma", account=student.id)


def correct(client, record, field, proposed, headers=None):
    return client.post(f"/records/diploma/{record.id}/correct", headers=headers or {},
                       data=dict(field=field, shown_for=field, proposed_value=proposed,
                                 reason="与证件一致"), content_type="multipart/form-data")


def test_the_correction_of_the_type_is_a_select_of_the_real_types(signed_in, my_record):
    page = text(signed_in.get(f"/records/diploma/{my_record.id}/correct",
                              query_string={"field": "id_type"}))
    assert options_of(page.split('id="proposed-input"')[1], "proposed-value") == ["", *TYPES]


@pytest.mark.parametrize("headers", [{}, HX])
@pytest.mark.parametrize("field, proposed, message", [
    ("id_number", "110105194912310021", "校验位"),               # a wrong check digit
    ("id_number", "E12345678", "居民身份证号码应为 18 位"),          # not a resident ID
    ("graduation_date", "2999-06-30", "晚于今天"),                # a date in the future
    ("id_type", "驾驶证", "不是可选的值"),                         # not in the list
    ("completion", "毕业了", "不是可选的值"),
])
def test_a_bad_value_is_refused_beside_the_field(signed_in, my_record, db, headers, field,
                                                 proposed, message):
    response = correct(signed_in, my_record, field, proposed, headers)
    assert response.status_code == 422
    beside = text(response).split('id="field-proposed-value"')[1].split("</div>")[0]
    assert message in beside and 'id="proposed-value-error"' in beside
    assert CorrectionRequest.select().count() == 0


def test_a_passport_number_is_checked_by_the_corrected_type(signed_in, my_record, db):
    assert correct(signed_in, my_record, "id_type", "护照").status_code == 303
    bad = correct(signed_in, my_record, "id_number", "ABCDEFGH")
    assert bad.status_code == 422 and "护照号码应为 5 到 17 位" in text(bad)
    assert correct(signed_in, my_record, "id_number", "e1234 5678").status_code == 303
    assert CorrectionRequest.get(CorrectionRequest.field == "id_number").proposed_value == "E12345678"


def test_staff_pages_name_the_type_in_the_readers_language(app, make_account, db):
    holder = make_account(username="abroad@example.com", id_type="护照", id_number="E12345678")
    staff = signed_in_staff(app, "keeper2", Account.REGISTRAR)
    assert "护照" in text(staff.get(f"/admin/people/{holder.id}"))
    staff.set_cookie("lang", "en")
    page = text(staff.get(f"/admin/people/{holder.id}"))
    assert "Passport" in page and "护照" not in page
