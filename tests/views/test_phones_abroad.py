"""International phones (issue 11): numbers from abroad with a 国家或地区 choice, stored
and sent in E.164, found however they are typed; a school whose SMS stays in the
mainland (INTERNATIONAL_SMS off) sends codes and notices by e-mail instead."""
import peewee
import pytest

import crypto
import models
from cli import migration_router
from models import Account, AuditEntry
from services import accounts, search
from services.postman import Reach, SmsNotAllowed
from tests.factories import (PASSWORD, identity, resident_id, roll_back_to, sign_in,
                             signed_in_staff)

HX = {"HX-Request": "true"}


def text(response):
    return response.get_data(as_text=True)


def register(client, outbox, channel="sms", **changes):
    """The wizard up to the account, with the code sent by `channel`."""
    assert client.post("/register/notice", data={"consent": "y"}).status_code == 303
    response = client.post("/register/identity", data=identity(**changes))
    assert response.status_code == 303, text(response)
    sent = client.post("/register/code/send", data={"channel": channel})
    assert sent.status_code == 200, text(sent)
    message = outbox.last()
    response = client.post("/register/code", data={"channel": channel,
                                                   "code": outbox.last_code()})
    assert response.headers["Location"].endswith("/register/confirm")
    assert client.post("/register/confirm", data={"yes": "y"}).status_code == 303
    return message


# --- registration ---------------------------------------------------------------

@pytest.mark.parametrize("typed, region, e164, masked", [
    ("5123 4567", "HK", "+85251234567", "+852 51****67"),
    ("(415) 555-0123", "US", "+14155550123", "+1 415***0123"),
    ("+1 613 555 0123", "CN", "+16135550123", "+1 613***0123"),
])
def test_registration_from_abroad_goes_through_the_outbox_in_e164(
        app, client, outbox, typed, region, e164, masked):
    message = register(client, outbox, phone=typed, phone_region=region)
    assert (message["channel"], message["to"]) == ("sms", e164)
    with models.db.connection_context():
        account = Account.get(Account.username == "wang@example.edu.cn")
        assert account.phone == e164 and Account.get(Account.phone.matches(e164)).id == account.id
    page = text(client.get("/account"))
    assert masked in page and e164 not in page


def test_the_identity_step_offers_the_regions_with_the_common_ones_first(client):
    client.post("/register/notice", data={"consent": "y"})
    page = text(client.get("/register/identity"))
    assert '<label for="phone-region">国家或地区</label>' in page
    common = [page.index(f'value="{code}"') for code in ("CN", "HK", "MO", "TW", "AE", "ZZ")]
    assert common == sorted(common)
    assert "中国大陆 +86" in page and "中国香港 +852" in page and "中国台湾 +886" in page
    assert '<option selected value="CN">' in page and "美国 +1" in page
    client.set_cookie("lang", "en")
    english = text(client.get("/register/identity"))
    assert "Country or region" in english and "Hong Kong, China +852" in english
    assert "United States +1" in english
    assert "Other (type + and the country code before the number)" in english


def test_a_country_not_listed_is_typed_with_its_code(client):
    """其他 takes a number from any region phonenumbers knows, typed with + and its code."""
    client.post("/register/notice", data={"consent": "y"})
    page = text(client.get("/register/identity"))
    assert 'value="CZ"' not in page and 'value="ZZ"' in page
    data = identity(username="novak@example.edu.cn", real_name="诺瓦克", id_type="护照",
                    id_number="E12345678", phone_region="ZZ", phone="603 123 456")
    refused = client.post("/register/identity", data=data)
    assert refused.status_code == 422 and "请在号码前输入 + 和国家代码" in text(refused)
    accepted = client.post("/register/identity", data={**data, "phone": "+420 603 123 456"})
    assert accepted.status_code == 303, text(accepted)[:2000]
    again = text(client.get("/register/identity"))
    assert '<option selected value="ZZ">' in again and "+420603123456" in again


def test_a_wrong_number_or_region_is_refused_beside_the_field(client):
    client.post("/register/notice", data={"consent": "y"})
    for changes, words in ((dict(phone="2123 4567", phone_region="HK"), "固定电话"),
                           (dict(phone="13812345678", phone_region="HK"), "所选的国家或地区"),
                           (dict(phone="12812345678", phone_region="CN"), "11 位中国大陆手机号码"),
                           (dict(phone="5123 4567", phone_region="XX"), "请选择国家或地区")):
        for headers in ({}, HX):
            response = client.post("/register/identity", data=identity(**changes), headers=headers)
            assert response.status_code == 422 and words in text(response)
            assert 'id="phone-error"' in text(response) or 'id="phone-region-error"' in text(response)


def test_going_back_keeps_the_number_and_its_region(client, outbox):
    client.post("/register/notice", data={"consent": "y"})
    client.post("/register/identity", data=identity(phone="5123 4567", phone_region="HK"))
    page = text(client.get("/register/identity"))
    assert 'value="+85251234567"' in page and '<option selected value="HK">' in page


# --- INTERNATIONAL_SMS off ----------------------------------------------------------

@pytest.fixture
def mainland_sms(app_factory):
    return app_factory(INTERNATIONAL_SMS=False)


def test_without_sms_abroad_an_edu_cn_student_gets_the_code_by_email(mainland_sms):
    client = mainland_sms.test_client()
    outbox = _outbox(mainland_sms)
    client.post("/register/notice", data={"consent": "y"})
    assert client.post("/register/identity", data=identity(
        phone="5123 4567", phone_region="HK")).status_code == 303
    for headers in ({}, HX):
        page = text(client.get("/register/code", headers=headers))
        assert "本校短信服务不支持境外号码，请用邮箱获取校验码" in page
        assert 'value="sms"' not in page
        assert '<input checked id="channel-1" name="channel" type="radio" value="email">' in page
    refused = client.post("/register/code/send", data={"channel": "sms"})
    assert refused.status_code == 422 and "本校短信服务不支持境外号码" in text(refused)
    assert outbox.messages() == []
    assert client.post("/register/code/send", data={"channel": "email"}).status_code == 200
    assert (outbox.last()["channel"], outbox.last()["to"]) == ("email", "wang@example.edu.cn")
    client.post("/register/code", data={"channel": "email", "code": outbox.last_code()})
    assert client.post("/register/confirm", data={"yes": "y"}).status_code == 303
    with models.db.connection_context():
        assert Account.get(Account.username == "wang@example.edu.cn").phone == "+85251234567"


def test_without_sms_abroad_and_no_email_route_the_identity_step_says_why(mainland_sms):
    client = mainland_sms.test_client()
    client.post("/register/notice", data={"consent": "y"})
    response = client.post("/register/identity", data=identity(
        username="wang@example.com", phone="+852 5123 4567"))
    assert response.status_code == 422 and "本校短信服务不支持境外号码" in text(response)
    assert 'id="phone-error"' in text(response)
    # A mainland number is texted as always.
    assert client.post("/register/identity", data=identity(
        username="wang@example.com")).status_code == 303


def test_a_school_may_let_foreign_id_holders_use_any_email(app_factory):
    app = app_factory(INTERNATIONAL_SMS=False, FOREIGN_ID_ANY_EMAIL=True)
    client, outbox = app.test_client(), _outbox(app)
    client.post("/register/notice", data={"consent": "y"})
    # A 居民身份证 holder still needs an edu.cn address …
    assert client.post("/register/identity", data=identity(
        username="wang@example.com", phone="+852 5123 4567")).status_code == 422
    # … a passport holder may use any.
    message = register(client, outbox, channel="email", username="smith@example.com",
                       real_name="John Smith", id_type="其他", id_number="E12345678",
                       phone="+44 7400 123456")
    assert (message["channel"], message["to"]) == ("email", "smith@example.com")
    with models.db.connection_context():
        assert Account.get(Account.username == "smith@example.com").phone == "+447400123456"


def test_without_that_permission_a_foreign_id_holder_needs_edu_cn(mainland_sms):
    client = mainland_sms.test_client()
    client.post("/register/notice", data={"consent": "y"})
    response = client.post("/register/identity", data=identity(
        username="smith@example.com", real_name="John Smith", id_type="其他",
        id_number="E12345678", phone="+44 7400 123456"))
    assert response.status_code == 422 and "edu.cn" in text(response)


def test_notices_to_numbers_abroad_go_by_email_or_nowhere(mainland_sms, caplog):
    outbox = _outbox(mainland_sms)
    postman = mainland_sms.extensions["postman"]
    with mainland_sms.app_context(), models.db.connection_context():
        by_mail = accounts.create_student(
            username="hk@example.com", real_name="陈大文", id_type="其他", id_number="H1234567",
            phone="+85251234567", password_hash="x")
        staff = Account.create(username="desk", role=Account.REGISTRAR, phone="+14155550123",
                               password_hash="x")
        mainland = accounts.create_student(
            username="li@example.edu.cn", real_name="李四", id_type="居民身份证",
            id_number=resident_id("19900101", 12), phone="13812345678", password_hash="x")
        accounts.notify(by_mail, "password_changed.txt", postman=postman)
        assert [(m["channel"], m["to"]) for m in outbox.messages()] == [("email", "hk@example.com")]
        with caplog.at_level("INFO", logger="services.accounts"):
            accounts.notify(staff, "password_changed.txt", postman=postman)
        assert len(outbox.messages()) == 1 and "not sent" in caplog.text
        accounts.notify(mainland, "password_changed.txt", postman=postman)
        assert (outbox.last()["channel"], outbox.last()["to"]) == ("sms", "+8613812345678")


def test_the_postman_itself_sends_no_sms_abroad_when_the_school_says_so(mainland_sms):
    postman, outbox = mainland_sms.extensions["postman"], _outbox(mainland_sms)
    assert postman.reach() == Reach(international_sms=False, foreign_id_any_email=False)
    with pytest.raises(SmsNotAllowed):
        postman.send("password_changed.txt", channel="sms", to="+85251234567")
    postman.send("password_changed.txt", channel="sms", to="+8613812345678")
    assert [m["to"] for m in outbox.messages()] == ["+8613812345678"]


def test_the_setting_is_on_the_settings_page_and_takes_effect_at_once(app, db, outbox):
    admin = signed_in_staff(app, "root", Account.ADMIN)
    page = text(admin.get("/admin/settings"))
    assert "向境外手机号码发送短信" in page
    assert 'checked id="international-sms" name="international_sms"' in page
    data = dict(school_name="示范大学", school_name_en="Demonstration University",
                school_names="示范大学, 2003\n示范学院, 1985, 2002\n示范师范专科学校, 1958, 1984",
                school_code="10999", school_contact="registrar@demo.edu.cn",
                school_office="学生处学籍管理科", eligible_since_year="1991",
                report_max_months="6", timezone="Asia/Shanghai", bind_mode="auto",
                foreign_id_any_email="y", closed_account_retention_days="30")
    assert admin.post("/admin/settings", data=data).status_code == 303
    entry = AuditEntry.get(AuditEntry.action == "settings.changed")
    assert entry.changes["settings"]["INTERNATIONAL_SMS"] == ["true", "false"]
    assert entry.changes["settings"]["FOREIGN_ID_ANY_EMAIL"] == ["false", "true"]
    client = app.test_client()
    client.post("/register/notice", data={"consent": "y"})
    client.post("/register/identity", data=identity(phone="+852 5123 4567"))
    assert "本校短信服务不支持境外号码" in text(client.get("/register/code"))


# --- finding an account by its number --------------------------------------------------

@pytest.fixture
def abroad(make_account):
    return make_account(username="chan@example.edu.cn", phone="+852 5123 4567",
                        id_number=resident_id("19900101", 14))


@pytest.mark.parametrize("typed", ["13812340001", "+86 138 1234 0001", "008613812340001",
                                   "+8613812340001", "１３８１２３４０００１"])
def test_login_by_a_mainland_number_however_typed(app, db, make_account, typed):
    make_account()
    sign_in(app.test_client(), typed)


@pytest.mark.parametrize("typed", ["+852 5123 4567", "0085251234567", "+85251234567"])
def test_login_by_a_number_abroad(app, db, abroad, typed):
    sign_in(app.test_client(), typed)


def test_password_recovery_by_a_number_abroad_with_its_region(app, client, db, abroad, outbox):
    for headers in ({}, HX):
        page = text(client.get("/recover/password", headers=headers))
        assert '<label for="login-region">国家或地区</label>' in page
    assert client.post("/recover/password", data={"login": "5123 4567",
                                                  "login_region": "HK"}).status_code == 303
    assert client.post("/recover/password/send", data={"channel": "sms"}).status_code == 200
    assert (outbox.last()["channel"], outbox.last()["to"]) == ("sms", "+85251234567")


def test_recovery_by_mainland_number_however_typed(app, db, make_account, outbox):
    make_account()
    for typed in ("13812340001", "+86 138 1234 0001", "008613812340001"):
        client = app.test_client()
        client.post("/recover/password", data={"login": typed})
        client.post("/recover/password/send", data={"channel": "sms"})
        assert outbox.last()["to"] == "+8613812340001"


def test_without_sms_abroad_recovery_says_so_and_sends_nothing_abroad(mainland_sms):
    client, outbox = mainland_sms.test_client(), _outbox(mainland_sms)
    with mainland_sms.app_context(), models.db.connection_context():
        accounts.create_student(username="chan@example.edu.cn", real_name="陈大文",
                                id_type="其他", id_number="H1234567", phone="+85251234567",
                                password_hash="x")
    client.post("/recover/password", data={"login": "+852 5123 4567"})
    page = text(client.get("/recover/password"))
    assert "本校短信服务不支持境外号码" in page
    assert client.post("/recover/password/send", data={"channel": "sms"}).status_code == 200
    assert outbox.messages() == []   # the same answer as for anyone; nothing abroad
    client = mainland_sms.test_client()   # a new code only after a minute: start again
    client.post("/recover/password", data={"login": "chan@example.edu.cn"})
    client.post("/recover/password/send", data={"channel": "email"})
    assert (outbox.last()["channel"], outbox.last()["to"]) == ("email", "chan@example.edu.cn")


def test_staff_search_finds_a_number_in_any_form(app, db, abroad, make_account):
    make_account(username="li@example.edu.cn", real_name="李四")
    desk = signed_in_staff(app, "office", Account.REGISTRAR)
    for query in ({"q": "5123 4567", "region": "HK"}, {"q": "+852 5123 4567"},
                  {"q": "0085251234567"}):
        for headers in ({}, HX):
            page = text(desk.get("/admin/search", query_string=query, headers=headers))
            assert "chan@example.edu.cn" in page and "li@example.edu.cn" not in page
    page = text(desk.get("/admin/search", query_string={"q": "13812340002"}))
    assert "li@example.edu.cn" in page
    bad = desk.get("/admin/search", query_string={"q": "5123 4567", "region": "XX"})
    assert bad.status_code == 422 and "请选择国家或地区" in text(bad)
    assert search.criteria(q="5123 4567", region="HK").as_args()["region"] == "HK"
    assert "region" not in search.criteria(q="13812340002").as_args()


def test_the_person_page_masks_the_number_with_its_country_code(app, db, abroad):
    desk = signed_in_staff(app, "office", Account.VIEWER)
    page = text(desk.get(f"/admin/people/{abroad.id}"))
    assert "+852 51****67" in page and "51234567" not in page


# --- the phone change -------------------------------------------------------------

def test_a_phone_change_to_a_number_abroad(app, client, db, make_account, outbox):
    make_account(username="qian@example.edu.cn")
    sign_in(client, "qian@example.edu.cn")
    page = text(client.get("/account/phone"))
    assert '<label for="new-phone-region">国家或地区</label>' in page
    response = client.post("/account/phone", data={"new_phone": "0912 345 678",
                                                   "new_phone_region": "TW",
                                                   "current_password": PASSWORD})
    assert response.status_code == 303
    assert outbox.last()["to"] == "+886912345678"
    client.post("/account/phone/check", data={"code": outbox.last_code()})
    assert Account.get(Account.username == "qian@example.edu.cn").phone == "+886912345678"
    assert {m["to"] for m in outbox.messages()[-2:]} == {"+886912345678", "+8613812340001"}


def test_without_sms_abroad_a_phone_change_abroad_is_refused_beside_the_number(mainland_sms):
    client = mainland_sms.test_client()
    with mainland_sms.app_context(), models.db.connection_context():
        accounts.create_student(username="qian@example.edu.cn", real_name="钱七",
                                id_type="居民身份证", id_number=resident_id("19900101", 16),
                                phone="13812345678", password_hash=accounts.hash_password(PASSWORD))
    sign_in(client, "qian@example.edu.cn")
    response = client.post("/account/phone", data={"new_phone": "+852 5123 4567",
                                                   "current_password": PASSWORD})
    assert response.status_code == 422 and "本校短信服务不支持境外号码" in text(response)
    assert 'id="new-phone-error"' in text(response)


# --- migration 017 ---------------------------------------------------------------------

def _account_at_016(username, phone):
    """An account row as the schema of 016 holds it (the model has columns added since)."""
    table = peewee.Table("account").bind(models.db)
    row_id = table.insert(username=username, role=Account.STUDENT, password_hash="x",
                          created_at=models.utcnow(), failed_logins=0, session_version=1,
                          phone=crypto.encrypt(phone), phone_index=crypto.blind_index(phone)).execute()
    return Account(id=row_id)


def test_migration_017_stores_old_mainland_numbers_in_e164(app, db):
    router = migration_router()
    roll_back_to(router, "016_english_names")
    old = _account_at_016("old@example.edu.cn", "13812345678")
    abroad = _account_at_016("new@example.edu.cn", "+85251234567")
    models.Challenge.create(purpose="change_phone", payload={"phone": "13900001111"})
    router.run()
    assert Account.get_by_id(old.id).phone == "+8613812345678"
    assert Account.get(Account.phone.matches("+8613812345678")).id == old.id
    assert Account.get_by_id(abroad.id).phone == "+85251234567"
    assert models.Challenge.get().payload == {"phone": "+8613900001111"}
    assert accounts.find_for_login("13812345678").id == old.id
    # Idempotent, and rolled back to 11 digits.
    roll_back_to(router, "016_english_names")
    rolled_back = Account.select(Account.phone, Account.phone_index).where(Account.id == old.id).get()
    assert rolled_back.phone == "13812345678"
    assert rolled_back.phone_index == crypto.blind_index("13812345678")
    router.run()
    assert Account.get_by_id(old.id).phone == "+8613812345678"


def _outbox(app):
    from tests.factories import Outbox
    return Outbox(app.config["OUTBOX_PATH"])
