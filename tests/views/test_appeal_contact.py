"""The appeal path has no dead end: the status page is linked where people get stuck,
the reference arrives by e-mail and SMS, and the appellant may leave a phone number
(stored encrypted, masked for staff) by which the decision is texted too."""
import io

import pytest

from models import Appeal, db as database
from services import appeals
from tests.factories import png_bytes, signed_in_staff

HX = {"HX-Request": "true"}
PHONE = "13912345678"
STORED = "+8613912345678"  # E.164


def text(response):
    return response.get_data(as_text=True)


def appeal_form(**changes):
    data = dict(real_name="周八", id_type="居民身份证", id_number="11010519491231002X",
                contact_email="zhou@example.com", contact_phone="")
    data.update(changes)
    data["photo"] = (io.BytesIO(png_bytes()), "me.png")
    return data


@pytest.mark.parametrize("headers", [{}, HX])
def test_the_form_offers_an_optional_phone_and_the_status_page(client, headers):
    response = client.get("/register/appeal", headers=headers)
    body = text(response)
    assert response.status_code == 200 and ("<!doctype html>" in body) == (not headers)
    assert '<label for="contact-phone">手机号码</label>' in body and "可以不填" in body
    assert 'href="/register/appeal/status"' in body


@pytest.mark.parametrize("headers", [{}, HX])
def test_acknowledgement_by_email_and_sms_with_the_reference(app, client, outbox, db, headers):
    response = client.post("/register/appeal", data=appeal_form(contact_phone="+86 139-1234-5678"),
                           content_type="multipart/form-data", headers=headers)
    body = text(response)
    assert response.status_code == 200 and ("<!doctype html>" in body) == (not headers)
    appeal = Appeal.get()
    assert appeal.contact_phone == STORED
    assert "139****5678" in body and PHONE not in body and 'id="appeal-acknowledged"' in body
    mail, sms = outbox.messages()
    assert (mail["channel"], mail["to"]) == ("email", "zhou@example.com")
    assert (sms["channel"], sms["to"]) == ("sms", STORED)
    for message in (mail, sms):
        assert appeal.reference in message["body"] and "/register/appeal/status" in message["body"]
    assert sms["body"].startswith("【") and not mail["body"].startswith("【")


def test_the_phone_is_encrypted_at_rest(client, outbox, db):
    client.post("/register/appeal", data=appeal_form(contact_phone=PHONE),
                content_type="multipart/form-data")
    raw = database.execute_sql("SELECT contact_phone FROM appeal").fetchone()[0]
    assert raw and PHONE not in str(raw)


def test_without_a_phone_only_the_email_goes(client, outbox, db):
    response = client.post("/register/appeal", data=appeal_form(),
                           content_type="multipart/form-data")
    assert response.status_code == 200 and "也已发到你的邮箱。" in text(response)
    [mail] = outbox.messages()
    assert mail["channel"] == "email" and Appeal.get().contact_phone is None


@pytest.mark.parametrize("headers", [{}, HX])
def test_a_bad_phone_is_422_beside_the_field(client, outbox, db, headers):
    response = client.post("/register/appeal", data=appeal_form(contact_phone="12345"),
                           content_type="multipart/form-data", headers=headers)
    assert response.status_code == 422
    assert 'id="contact-phone-error"' in text(response)
    assert Appeal.select().count() == 0 and outbox.messages() == []


def test_staff_see_the_phone_masked_and_the_decision_is_texted(app, client, outbox, db):
    client.post("/register/appeal", data=appeal_form(contact_phone=PHONE),
                content_type="multipart/form-data")
    staff = signed_in_staff(app, "registrar-desk", "registrar")
    for url in ("/admin/appeals", f"/admin/appeals/{Appeal.get().id}"):
        for headers in ({}, HX):
            body = text(staff.get(url, headers=headers))
            assert "139****5678" in body and PHONE not in body, url
    appeal = appeals.decide(Appeal.get(), False, "照片看不清", actor="registrar-desk",
                            postman=app.extensions["postman"])
    mail, sms = outbox.messages()[-2:]
    assert mail["channel"] == "email" and sms["channel"] == "sms" and sms["to"] == STORED
    assert appeal.reference in sms["body"] and "照片看不清" in sms["body"]


def test_the_status_page_is_linked_from_login_and_register(client, db):
    for url in ("/login", "/register/", "/register/appeal"):
        assert 'href="/register/appeal/status"' in text(client.get(url)), url


def test_the_taken_id_message_links_the_status_page(client, make_account, outbox, db):
    make_account(username="someone@example.edu.cn", id_number="11010519491231002X")
    client.post("/register/notice", data={"consent": "y"})
    response = client.post("/register/identity", data=dict(
        username="wang@example.edu.cn", real_name="王五", id_type="居民身份证",
        id_number="11010519491231002X", phone="13812345678", password="good-pass-42",
        password_confirm="good-pass-42"))
    body = text(response)
    assert response.status_code == 422 and 'id="id-taken-appeal-status"' in body


def test_a_phone_abroad_by_the_region_choice(client, outbox, db):
    response = client.post("/register/appeal", data=appeal_form(contact_phone_region="HK",
                                                                 contact_phone="5123 4567"),
                           content_type="multipart/form-data")
    assert response.status_code == 200, text(response)[:2000]
    assert Appeal.get().contact_phone == "+85251234567"
    assert outbox.messages()[-1]["to"] == "+85251234567"
