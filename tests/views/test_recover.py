"""找回用户名 and 忘记密码, including the paths meant to reveal nothing."""
import re

import pytest

from models import Challenge, LoginThrottle, OneTimeCode, utcnow
from tests.factories import PASSWORD

HX = {"HX-Request": "true"}


def text(response):
    return response.get_data(as_text=True)


def without_tokens(body):
    return re.sub(r'value="[^"]*"', 'value=""', body)


@pytest.fixture
def student(make_account):
    return make_account(username="zhao@example.edu.cn", real_name="赵六",
                        id_number="11010519491231002X", phone="13812345678")


def find_username(client, name="赵六", id_number="11010519491231002X", headers=None):
    return client.post("/recover/username", headers=headers or {},
                       data={"real_name": name, "id_type": "居民身份证", "id_number": id_number})


# --- 找回用户名 -----------------------------------------------------------------

def test_find_username_end_to_end(client, student, outbox):
    assert find_username(client).status_code == 303
    page = client.get("/recover/username")
    assert ">校验码</label>" in text(page)
    sent = client.post("/recover/username/send", data={"channel": "sms"})
    assert sent.status_code == 200 and outbox.last()["to"] == "+8613812345678"
    result = client.post("/recover/username/check", data={"code": outbox.last_code()})
    assert result.status_code == 200
    assert "z***@example.edu.cn" in text(result) and "zhao@example.edu.cn" not in text(result)
    assert outbox.last()["to"] == "+8613812345678"
    assert "zhao@example.edu.cn" in outbox.last()["body"]


def test_find_username_page_and_fragment(client):
    page, fragment = client.get("/recover/username"), client.get("/recover/username", headers=HX)
    assert "<html" in text(page) and "<html" not in text(fragment)
    assert 'id="recover"' in text(fragment) and ">证件号码</label>" in text(fragment)


@pytest.mark.parametrize("name, id_number", [
    ("赵六", "440524188001010014"),     # unknown ID
    ("钱七", "11010519491231002X"),     # known ID, wrong name
])
def test_unknown_details_get_the_same_answers(app, student, outbox, name, id_number):
    """Each answer for a mismatch equals the answer for a real account."""
    real, fake = app.test_client(), app.test_client()
    answers = []
    for client, who in ((real, ("赵六", "11010519491231002X")), (fake, (name, id_number))):
        steps = [find_username(client, *who, headers=HX),
                 client.post("/recover/username/send", data={"channel": "sms"}, headers=HX),
                 client.post("/recover/username/send", data={"channel": "sms"}, headers=HX),
                 client.post("/recover/username/check", data={"code": "000000"}, headers=HX)]
        answers.append([(r.status_code, without_tokens(text(r))) for r in steps])
    assert answers[0] == answers[1]
    assert len(outbox.messages()) == 1  # only the real account was sent a code
    # The same bookkeeping happened for both: a challenge and a code each.
    assert Challenge.select().count() == 2 and OneTimeCode.select().count() == 2


def test_unknown_details_never_succeed_even_with_the_right_code(client, outbox, db):
    find_username(client, "钱七", "440524188001010014")
    client.post("/recover/username/send", data={"channel": "sms"})
    assert outbox.messages() == []
    # Nothing was sent; even the stored code itself must not pass.
    response = client.post("/recover/username/check", data={"code": "123456"})
    assert response.status_code == 422 and "校验码不正确" in text(response)


def test_find_username_validates_what_was_typed(client):
    response = client.post("/recover/username", data={"real_name": "", "id_type": "居民身份证",
                                                     "id_number": "110105194912310021"})
    assert response.status_code == 422
    assert 'id="real-name-error"' in text(response) and "校验位" in text(response)


def test_send_without_starting_restarts(client):
    response = client.post("/recover/username/send", data={"channel": "sms"})
    assert response.status_code == 303 and response.headers["Location"] == "/recover/username"


def test_unknown_flow_is_404(client):
    assert client.get("/recover/elsewhere").status_code == 404


# --- 忘记密码 -------------------------------------------------------------------

def start_reset(client, login="zhao@example.edu.cn", channel="sms"):
    client.post("/recover/password", data={"login": login})
    return client.post("/recover/password/send", data={"channel": channel})


@pytest.mark.parametrize("login", ["zhao@example.edu.cn", "13812345678", "11010519491231002X"])
def test_reset_password_end_to_end(app, student, outbox, db, login):
    old_session = app.test_client()
    old_session.post("/login", data={"login": "zhao@example.edu.cn", "password": PASSWORD})
    assert "赵六" in text(old_session.get("/"))
    locked_out = app.test_client()
    for _ in range(5):  # logins from this address are paused
        locked_out.post("/login", data={"login": "zhao@example.edu.cn", "password": "wrong-123"})
    assert LoginThrottle.select().where(LoginThrottle.locked_until > utcnow()).exists()

    client = app.test_client()
    start_reset(client, login)
    checked = client.post("/recover/password/check", data={"code": outbox.last_code()})
    assert checked.status_code == 303
    assert ">新密码</label>" in text(client.get("/recover/password"))
    done = client.post("/recover/password/new",
                       data={"password": "brand-new-77", "password_confirm": "brand-new-77"})
    assert done.status_code == 303 and done.headers["Location"] == "/login"
    assert "重设" in outbox.last()["body"] and "brand-new-77" not in outbox.last()["body"]

    assert "赵六" not in text(old_session.get("/"))           # other sessions ended
    login = client.post("/login", data={"login": "zhao@example.edu.cn", "password": "brand-new-77"})
    assert login.status_code == 303                          # and the lock is lifted
    assert client.post("/logout").status_code == 303
    assert client.post("/login", data={"login": "zhao@example.edu.cn",
                                       "password": PASSWORD}).status_code == 422


def test_reset_by_edu_cn_email(client, student, outbox):
    start_reset(client, channel="email")
    assert outbox.last()["channel"] == "email" and outbox.last()["to"] == "zhao@example.edu.cn"


def test_email_is_not_used_for_non_edu_usernames(client, make_account, outbox):
    make_account(username="sun@example.com", phone="13900002222")
    start_reset(client, "sun@example.com", channel="email")
    assert outbox.messages() == []


def test_new_password_needs_the_code_first(client, student, outbox):
    start_reset(client)
    response = client.post("/recover/password/new",
                           data={"password": "brand-new-77", "password_confirm": "brand-new-77"})
    assert response.status_code == 303 and response.headers["Location"] == "/recover/password"


def test_weak_or_mismatched_new_password_is_422(client, student, outbox):
    start_reset(client)
    client.post("/recover/password/check", data={"code": outbox.last_code()})
    weak = client.post("/recover/password/new", data={"password": "short", "password_confirm": "short"})
    assert weak.status_code == 422 and "至少 8 位" in text(weak)
    mismatch = client.post("/recover/password/new",
                           data={"password": "brand-new-77", "password_confirm": "brand-new-78"})
    assert mismatch.status_code == 422 and "不一致" in text(mismatch)


def test_reused_code_is_refused(client, student, outbox):
    start_reset(client)
    code = outbox.last_code()
    client.post("/recover/password/check", data={"code": code})
    client.post("/recover/password/new", data={"password": "brand-new-77",
                                               "password_confirm": "brand-new-77"})
    # A second reset run cannot reuse the old code.
    client.post("/recover/password", data={"login": "zhao@example.edu.cn"})
    response = client.post("/recover/password/check", data={"code": code})
    assert response.status_code == 422 and "请先获取" in text(response)


def test_code_for_another_purpose_is_refused(client, student, outbox):
    find_username(client)
    client.post("/recover/username/send", data={"channel": "sms"})
    username_code = outbox.last_code()
    client.post("/recover/password", data={"login": "zhao@example.edu.cn"})
    response = client.post("/recover/password/check", data={"code": username_code})
    assert response.status_code == 422


def test_expired_code_and_too_many_tries(client, student, outbox, db):
    start_reset(client)
    code = outbox.last_code()
    wrong = f"{(int(code) + 1) % 10 ** 6:06d}"
    for _ in range(5):
        response = client.post("/recover/password/check", data={"code": wrong})
    assert "次数过多" in text(response)
    assert "次数过多" in text(client.post("/recover/password/check", data={"code": code}))
    OneTimeCode.update(created_at=utcnow().replace(year=2000)).execute()
    client.post("/recover/password/send", data={"channel": "sms"})
    OneTimeCode.update(expires_at=utcnow()).where(OneTimeCode.used_at.is_null()).execute()
    expired = client.post("/recover/password/check", data={"code": outbox.last_code()})
    assert "已过期" in text(expired)


def test_expired_challenge_starts_over(client, student, outbox, db):
    start_reset(client)
    Challenge.update(created_at=utcnow().replace(year=2000)).execute()
    response = client.post("/recover/password/check", data={"code": outbox.last_code()})
    assert response.status_code == 303 and response.headers["Location"] == "/recover/password"


def test_restart_clears_the_flow(client, student, outbox):
    start_reset(client)
    assert client.post("/recover/password/restart").status_code == 303
    assert ">用户名</label>" in text(client.get("/recover/password"))


def test_sending_codes_is_rate_limited(app_factory, student):
    client = app_factory(RATELIMIT_ENABLED=True, RATELIMIT_SEND_CODE="2 per minute").test_client()
    client.post("/recover/password", data={"login": "zhao@example.edu.cn"})
    statuses = [client.post("/recover/password/send", data={"channel": "sms"}).status_code
                for _ in range(3)]
    assert statuses[-1] == 429


def test_code_limits_are_the_same_for_unknown_logins(app, student, outbox):
    """The hourly limit per destination fills up alike for a known and an unknown login."""
    answers = {}
    for login in ("zhao@example.edu.cn", "nobody@example.edu.cn"):
        seen = []
        for _ in range(7):
            client = app.test_client()  # a new challenge each time: no 60 s wait
            response = start_reset(client, login)
            seen.append((response.status_code, without_tokens(text(response))))
        answers[login] = seen
    assert answers["zhao@example.edu.cn"] == answers["nobody@example.edu.cn"]
    assert "次数过多" in answers["nobody@example.edu.cn"][-1][1]


def test_an_edu_cn_username_with_a_phone_chooses_where_the_code_goes(client, student):
    client.post("/recover/password", data={"login": "zhao@example.edu.cn"})
    page = text(client.get("/recover/password"))
    choice = re.search(r'<fieldset class="field" id="field-channel">(.*?)</fieldset>', page, re.S)
    assert choice, page
    assert 'value="sms"' in choice.group(1) and "绑定的手机" in choice.group(1)
    assert 'value="email"' in choice.group(1) and "用作用户名的 edu.cn 邮箱" in choice.group(1)
