"""The registration wizard through the test client, with and without htmx."""
import io
import os
import threading

import pytest
from PIL import Image

import crypto
import models
from models import Account, Appeal, Challenge
from services import files
from tests.factories import identity, walk_to

HX = {"HX-Request": "true"}


def text(response):
    return response.get_data(as_text=True)


# --- each step, page and fragment ------------------------------------------

def test_notice_is_a_page_or_a_fragment(client):
    page = client.get("/register/")
    fragment = client.get("/register/", headers=HX)
    assert page.status_code == fragment.status_code == 200
    assert "<html" in text(page) and "<html" not in text(fragment)
    assert 'id="wizard"' in text(page) and 'id="wizard"' in text(fragment)
    assert "1991" in text(fragment) and "同意" in text(fragment)
    assert "HX-Request" in page.headers["Vary"] and "HX-Request" in fragment.headers["Vary"]


def test_consent_is_required(client, db):
    response = client.post("/register/notice", data={})
    assert response.status_code == 422
    assert "请先阅读须知并勾选同意" in text(response)
    assert Challenge.select().count() == 0


def test_get_does_not_create_a_draft(client, db):
    client.get("/register/")
    client.get("/register/notice")
    assert Challenge.select().count() == 0


def test_consent_moves_to_identity_with_and_without_htmx(client):
    plain = client.post("/register/notice", data={"consent": "y"})
    assert plain.status_code == 303 and plain.headers["Location"].endswith("/register/identity")
    other = client.application.test_client()
    fragment = other.post("/register/notice", data={"consent": "y"}, headers=HX)
    assert fragment.status_code == 200
    assert fragment.headers["HX-Push-Url"] == "/register/identity"
    assert "<html" not in text(fragment) and 'name="id_number"' in text(fragment)
    page = client.get("/register/identity")
    assert "<html" in text(page) and "<label for=\"id-number\">证件号码</label>" in text(page)


@pytest.mark.parametrize("label", ["用户名", "姓名", "证件类型", "证件号码", "手机号码", "密码", "确认密码"])
def test_identity_step_has_labelled_fields(client, label):
    client.post("/register/notice", data={"consent": "y"})
    body = text(client.get("/register/identity"))
    assert f">{label}</label>" in body or f"<legend>{label}</legend>" in body


@pytest.mark.parametrize("field, value, message", [
    ("username", "not-an-email", "有效的电子邮箱"),
    ("real_name", "王", "2 到 30"),
    ("real_name", "王5", "只能包含"),
    ("id_number", "110105194912310021", "校验位"),
    ("id_number", "110105194902300023", "出生日期不存在"),
    ("id_number", "", "请填写证件号码"),
    ("phone", "12345", "11 位"),
    ("password", "short1", "至少 8 位"),
    ("password", "wang12345678", "用户名"),
    ("password_confirm", "different-42", "不一致"),
    ("id_type", "驾驶证", "请选择证件类型"),
])
def test_identity_errors_are_422_beside_the_field(client, field, value, message):
    client.post("/register/notice", data={"consent": "y"})
    for headers in ({}, HX):
        response = client.post("/register/identity", data=identity(**{field: value}), headers=headers)
        assert response.status_code == 422
        body = text(response)
        assert f'id="{field.replace("_", "-")}-error"' in body and message in body
        assert 'aria-invalid="true"' in body
        assert ("<html" in body) == (headers == {})
    # Values typed stay (the wrong one too), passwords do not.
    assert 'value="wang@example.edu.cn"' in body or field == "username"
    assert "good-pass-42" not in body


def test_identity_normalises_what_was_typed(client, db, outbox):
    walk_to(client, outbox, "code")
    draft = Challenge.get()
    assert draft.purpose == "register" and draft.step == "code"
    assert draft.payload["id_number"] == "11010519491231002X"
    assert draft.payload["phone"] == "+8613812345678"
    assert draft.payload["real_name"] == "王𠮷"
    assert draft.password_hash.startswith("$argon2")
    raw = db.execute_sql("SELECT payload FROM challenge").fetchone()[0]
    assert "11010519491231002X" not in raw and "13812345678" not in raw


def test_legacy_and_full_width_ids_are_accepted(client, db, outbox):
    walk_to(client, outbox, "code", id_number="１１０１０５４９１２３１００２")
    assert Challenge.get().payload["id_number"] == "11010519491231002X"


# --- order of steps ----------------------------------------------------------

@pytest.mark.parametrize("step", ["identity", "code", "confirm"])
def test_steps_cannot_be_skipped_by_get(client, step):
    response = client.get(f"/register/{step}")
    assert response.status_code == 303 and response.headers["Location"].endswith("/register/")
    fragment = client.get(f"/register/{step}", headers=HX)
    assert "第 1 步" in text(fragment) and "请按顺序" in text(fragment)


def test_steps_cannot_be_skipped_by_post(client, db, outbox):
    client.post("/register/notice", data={"consent": "y"})
    response = client.post("/register/code", data={"channel": "sms", "code": "123456"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/register/identity")
    response = client.post("/register/confirm", data={"yes": "1"})
    assert response.status_code == 303
    assert Account.select().where(Account.role == "student").count() == 0


def test_going_back_keeps_the_values_and_resets_the_code(client, db, outbox):
    walk_to(client, outbox, "confirm")
    back = client.get("/register/identity")
    assert back.status_code == 200
    assert 'value="wang@example.edu.cn"' in text(back) and 'value="11010519491231002X"' in text(back)
    client.post("/register/identity", data=identity(phone="13900001111"))
    assert client.get("/register/confirm").status_code == 303  # code must be checked again


def test_no_on_confirm_returns_to_identity_with_the_values(client, outbox):
    walk_to(client, outbox, "confirm")
    response = client.post("/register/confirm", data={"no": "1"}, headers=HX)
    assert response.headers["HX-Push-Url"] == "/register/identity"
    assert 'value="王𠮷"' in text(response)


def test_unknown_step_goes_to_the_start(client):
    assert client.get("/register/elsewhere").status_code == 303


# --- the code step -------------------------------------------------------------

def test_code_sent_by_sms_to_the_outbox(client, outbox):
    walk_to(client, outbox, "code")
    response = client.post("/register/code/send", data={"channel": "sms"}, headers=HX)
    assert response.status_code == 200
    assert "138****5678" in text(response) and 'data-wait="60"' in text(response)
    message = outbox.last()
    assert message["channel"] == "sms" and message["to"] == "+8613812345678"
    assert "示范大学" in message["body"] and "good-pass-42" not in message["body"]


def test_email_code_only_for_edu_cn(client, outbox):
    walk_to(client, outbox, "code", username="wang@example.com")
    response = client.post("/register/code/send", data={"channel": "email"})
    assert response.status_code == 422 and "edu.cn" in text(response)
    assert outbox.messages() == []


def test_email_code_to_edu_cn_address(client, outbox):
    walk_to(client, outbox, "code")
    assert client.post("/register/code/send", data={"channel": "email"}).status_code == 200
    assert outbox.last()["channel"] == "email" and outbox.last()["to"] == "wang@example.edu.cn"


def test_resend_too_soon_is_refused_by_the_server(client, outbox):
    walk_to(client, outbox, "code")
    client.post("/register/code/send", data={"channel": "sms"})
    response = client.post("/register/code/send", data={"channel": "sms"})
    assert response.status_code == 422 and "秒后再重新获取" in text(response)
    assert len(outbox.messages()) == 1


def test_wrong_code_counts_down_then_locks(client, outbox):
    walk_to(client, outbox, "code")
    client.post("/register/code/send", data={"channel": "sms"})
    wrong = f"{(int(outbox.last_code()) + 1) % 10 ** 6:06d}"
    for _ in range(4):
        response = client.post("/register/code", data={"channel": "sms", "code": wrong})
        assert response.status_code == 422 and "还可以再试" in text(response)
    response = client.post("/register/code", data={"channel": "sms", "code": wrong})
    assert "次数过多" in text(response)
    response = client.post("/register/code", data={"channel": "sms", "code": outbox.last_code()})
    assert response.status_code == 422 and "次数过多" in text(response)


def test_empty_code_is_422(client, outbox):
    walk_to(client, outbox, "code")
    response = client.post("/register/code", data={"channel": "sms", "code": ""})
    assert response.status_code == 422 and "请填写校验码" in text(response)


def test_expired_code_is_refused(client, outbox, db):
    walk_to(client, outbox, "code")
    client.post("/register/code/send", data={"channel": "sms"})
    models.OneTimeCode.update(expires_at=models.utcnow()).execute()
    response = client.post("/register/code", data={"channel": "sms", "code": outbox.last_code()})
    assert response.status_code == 422 and "已过期" in text(response)


# --- the end -----------------------------------------------------------------

def test_yes_creates_the_account_and_logs_in(client, outbox, db):
    walk_to(client, outbox, "confirm")
    confirm = client.get("/register/confirm")
    assert "11010519491231002X" in text(confirm) and "wang@example.edu.cn" in text(confirm)
    response = client.post("/register/confirm", data={"yes": "1"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/register/done")
    account = Account.get(Account.username == "wang@example.edu.cn")
    assert account.real_name == "王𠮷" and account.id_number == "11010519491231002X"
    assert account.phone == "+8613812345678"
    draft = Challenge.get()                   # finished, and nothing typed is kept
    assert draft.finished_at is not None and draft.payload == {} and draft.password_hash is None
    done = client.get("/register/done")
    assert done.status_code == 200 and "注册成功" in text(done)
    assert models.AuditEntry.get().action == "account.registered"


def test_htmx_yes_redirects_the_whole_page(client, outbox):
    walk_to(client, outbox, "confirm")
    response = client.post("/register/confirm", data={"yes": "1"}, headers=HX)
    assert response.headers["HX-Redirect"] == "/register/done"


def test_done_needs_login(client):
    response = client.get("/register/done")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_taken_username_and_id_are_reported_inline(client, make_account):
    make_account(username="wang@example.edu.cn", id_number="11010519491231002X")
    client.post("/register/notice", data={"consent": "y"})
    response = client.post("/register/identity", data=identity())
    body = text(response)
    assert response.status_code == 422
    assert 'id="username-error"' in body and "该用户名已被注册" in body
    assert 'id="id-number-error"' in body and "该证件号码已被注册" in body
    assert 'href="/recover/username"' in body and 'href="/register/appeal"' in body


def test_taken_legacy_form_of_the_same_id(client, make_account):
    make_account(id_number="11010519491231002X")
    client.post("/register/notice", data={"consent": "y"})
    response = client.post("/register/identity", data=identity(id_number="110105491231002"))
    assert response.status_code == 422 and "该证件号码已被注册" in text(response)


def test_registration_race_ends_with_one_account(app, outbox, db):
    """Two people reach 核对 with the same ID; both press 是 at once."""
    first, second = app.test_client(), app.test_client()
    walk_to(first, outbox, "confirm")
    walk_to(second, outbox, "confirm", username="other@example.edu.cn", phone="13900001111")
    barrier = threading.Barrier(2)
    results = {}

    def press_yes(name, client):
        barrier.wait()
        results[name] = client.post("/register/confirm", data={"yes": "1"})

    threads = [threading.Thread(target=press_yes, args=pair)
               for pair in (("first", first), ("second", second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(response.status_code for response in results.values())
    assert statuses == [303, 422]
    loser = next(r for r in results.values() if r.status_code == 422)
    assert "该证件号码已被注册" in text(loser)
    assert Account.select().where(Account.role == "student").count() == 1


def test_signed_in_people_are_sent_home(client, make_account, login):
    make_account(username="li@example.edu.cn")
    login("li@example.edu.cn")
    assert client.get("/register/").status_code == 303


# --- appeals ---------------------------------------------------------------------

def png(size=(60, 80)):
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 180, 160)).save(buffer, "PNG")
    return buffer.getvalue()


def appeal_form(photo, name="photo.png", **changes):
    data = dict(real_name="王𠮷", id_type="居民身份证", id_number="11010519491231002X",
                contact_email="wang@example.com")
    data.update(changes)
    data["photo"] = (io.BytesIO(photo), name)
    return data


def test_appeal_is_stored_with_a_reference(client, app, db):
    response = client.post("/register/appeal", data=appeal_form(png()),
                           content_type="multipart/form-data")
    assert response.status_code == 200
    appeal = Appeal.get()
    assert appeal.reference in text(response) and appeal.status == Appeal.PENDING
    assert appeal.id_number == "11010519491231002X"
    assert files.read(appeal.photo_path) == png()
    raw = db.execute_sql("SELECT data FROM storedfile WHERE name = ?", (appeal.photo_path,)).fetchone()[0]
    assert crypto.is_sealed(bytes(raw)) and bytes(raw) != png()


@pytest.mark.parametrize("photo, message", [
    (b"", "请上传"),
    (b"%PDF-1.4 not an image", "无法识别"),
    (b"GIF89a" + b"\0" * 100, "无法识别"),
])
def test_bad_appeal_photos_are_refused(client, db, photo, message):
    response = client.post("/register/appeal", data=appeal_form(photo),
                           content_type="multipart/form-data")
    assert response.status_code == 422 and message in text(response)
    assert Appeal.select().count() == 0


def test_appeal_photo_over_2mb_is_refused(client, db):
    big = Image.frombytes("RGB", (1000, 1000), os.urandom(1000 * 1000 * 3))
    buffer = io.BytesIO()
    big.save(buffer, "PNG")
    assert buffer.tell() > 2 * 1024 * 1024
    response = client.post("/register/appeal", data=appeal_form(buffer.getvalue()),
                           content_type="multipart/form-data")
    assert response.status_code == 422 and "2 MB" in text(response)
    assert Appeal.select().count() == 0


def test_appeal_upload_over_the_request_limit_is_413_with_a_message(client, db):
    response = client.post("/register/appeal", data=appeal_form(b"x" * (5 * 1024 * 1024)),
                           content_type="multipart/form-data")
    assert response.status_code == 413 and "文件太大" in text(response)


def test_appeal_fields_are_validated(client, db):
    response = client.post("/register/appeal", data=appeal_form(png(), id_number="123",
                                                                 contact_email="x"),
                           content_type="multipart/form-data")
    assert response.status_code == 422
    assert 'id="id-number-error"' in text(response) and 'id="contact-email-error"' in text(response)


# --- security ----------------------------------------------------------------------

def test_csrf_is_enforced(app_factory):
    client = app_factory(WTF_CSRF_ENABLED=True).test_client()
    response = client.post("/register/notice", data={"consent": "y"})
    assert response.status_code == 400 and "页面已过期" in text(response)
    page = text(client.get("/register/"))
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    response = client.post("/register/notice", data={"consent": "y", "csrf_token": token})
    assert response.status_code == 303


def test_code_sending_is_rate_limited_per_ip(app_factory):
    app = app_factory(RATELIMIT_ENABLED=True, RATELIMIT_SEND_CODE="2 per minute")
    client = app.test_client()
    client.post("/register/notice", data={"consent": "y"})
    client.post("/register/identity", data=identity())
    statuses = [client.post("/register/code/send", data={"channel": "sms"}).status_code
                for _ in range(3)]
    assert statuses[-1] == 429
    limited = client.post("/register/code/send", data={"channel": "sms"}, headers=HX)
    assert limited.status_code == 429 and limited.headers["HX-Retarget"] == "#flash"
    assert "操作太频繁" in text(limited)
