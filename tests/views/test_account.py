"""账户: profile, changes that need the current password, history, appeals."""
import pytest

from models import Account, AuditEntry, LoginEvent
from tests.factories import PASSWORD

HX = {"HX-Request": "true"}


def text(response):
    return response.get_data(as_text=True)


@pytest.fixture
def student(make_account):
    return make_account(username="qian@example.edu.cn", real_name="钱七",
                        id_number="11010519491231002X",
                        phone="13812345678")


@pytest.fixture
def signed_in(client, student, login):
    login("qian@example.edu.cn")
    return client


def test_profile_masks_id_and_phone(signed_in):
    page = text(signed_in.get("/account/"))
    assert "qian@example.edu.cn" in page and "钱七" in page
    assert "1101**********002X" in page and "138****5678" in page
    assert "11010519491231002X" not in page and "13812345678" not in page


@pytest.mark.parametrize("url", ["/account/", "/account/username", "/account/phone",
                                 "/account/password", "/account/logins", "/account/appeals"])
def test_sections_are_pages_and_fragments(signed_in, url):
    page, fragment = signed_in.get(url), signed_in.get(url, headers=HX)
    assert page.status_code == fragment.status_code == 200
    assert "<html" in text(page) and "<html" not in text(fragment)
    assert 'id="account-section"' in text(fragment)


def test_change_username(signed_in, outbox, db):
    response = signed_in.post("/account/username", data={"new_username": "Qian.New@Example.edu.cn",
                                                         "current_password": PASSWORD})
    assert response.status_code == 303
    assert Account.get().username == "qian.new@example.edu.cn"
    assert "qian.new@example.edu.cn" in outbox.last()["body"] and outbox.last()["to"] == "+8613812345678"
    entry = AuditEntry.select().where(AuditEntry.action == "account.username_changed").get()
    assert entry.ip == "127.0.0.1" and "q***@example.edu.cn" in entry.detail


@pytest.mark.parametrize("data, field, message", [
    ({"new_username": "x", "current_password": PASSWORD}, "new_username", "有效的电子邮箱"),
    ({"new_username": "new@example.edu.cn", "current_password": "wrong-1234"}, "current_password", "当前密码不正确"),
    ({"new_username": "qian@example.edu.cn", "current_password": PASSWORD}, "new_username", "相同"),
])
def test_change_username_refusals(signed_in, data, field, message):
    response = signed_in.post("/account/username", data=data, headers=HX)
    assert response.status_code == 422
    assert f'id="{field.replace("_", "-")}-error"' in text(response) and message in text(response)


def test_change_username_to_a_taken_one(signed_in, make_account):
    make_account(username="taken@example.edu.cn", id_number="440524188001010014")
    response = signed_in.post("/account/username", data={"new_username": "taken@example.edu.cn",
                                                         "current_password": PASSWORD})
    assert response.status_code == 422 and "已被注册" in text(response)


def test_change_password_ends_other_sessions_but_not_this_one(app, signed_in, outbox):
    other = app.test_client()
    other.post("/login", data={"login": "qian@example.edu.cn", "password": PASSWORD})
    response = signed_in.post("/account/password", data={
        "current_password": PASSWORD, "new_password": "fresh-pass-9", "password_confirm": "fresh-pass-9"})
    assert response.status_code == 303
    assert "钱七" in text(signed_in.get("/account/"))
    assert other.get("/account/").status_code == 302
    assert "密码已修改" in outbox.last()["body"] and "fresh-pass-9" not in outbox.last()["body"]


@pytest.mark.parametrize("data, field", [
    ({"current_password": "wrong-1234", "new_password": "fresh-pass-9", "password_confirm": "fresh-pass-9"}, "current_password"),
    ({"current_password": PASSWORD, "new_password": "short", "password_confirm": "short"}, "new_password"),
    ({"current_password": PASSWORD, "new_password": "fresh-pass-9", "password_confirm": "other-pass-9"}, "password_confirm"),
])
def test_change_password_refusals(signed_in, data, field):
    response = signed_in.post("/account/password", data=data)
    assert response.status_code == 422 and f'id="{field.replace("_", "-")}-error"' in text(response)


def test_change_phone_with_a_code_sent_to_the_new_number(signed_in, outbox, db):
    response = signed_in.post("/account/phone", data={"new_phone": "139 0000 1111",
                                                      "current_password": PASSWORD}, headers=HX)
    assert response.status_code == 200 and "139****1111" in text(response)
    assert outbox.last()["to"] == "+8613900001111"
    code = outbox.last_code()
    assert Account.get().phone == "+8613812345678"          # nothing changes before the code
    wrong = signed_in.post("/account/phone/check", data={"code": f"{(int(code) + 1) % 10 ** 6:06d}"})
    assert wrong.status_code == 422 and "还可以再试" in text(wrong)
    done = signed_in.post("/account/phone/check", data={"code": code})
    assert done.status_code == 303 and Account.get().phone == "+8613900001111"
    told = {m["to"] for m in outbox.messages()[-2:]}
    assert told == {"+8613812345678", "+8613900001111"}


def test_change_phone_refusals(signed_in, outbox):
    wrong_password = signed_in.post("/account/phone", data={"new_phone": "13900001111",
                                                            "current_password": "nope-1234"})
    assert wrong_password.status_code == 422 and "当前密码不正确" in text(wrong_password)
    bad_number = signed_in.post("/account/phone", data={"new_phone": "123",
                                                        "current_password": PASSWORD})
    assert bad_number.status_code == 422 and "11 位" in text(bad_number)
    same = signed_in.post("/account/phone", data={"new_phone": "13812345678",
                                                  "current_password": PASSWORD})
    assert same.status_code == 422 and "相同" in text(same)
    assert outbox.messages() == []


def test_phone_code_resend_waits(signed_in, outbox):
    signed_in.post("/account/phone", data={"new_phone": "13900001111", "current_password": PASSWORD})
    response = signed_in.post("/account/phone/send")
    assert response.status_code == 422 and "秒后" in text(response)


def test_another_accounts_phone_challenge_is_not_usable(app, signed_in, make_account, outbox):
    signed_in.post("/account/phone", data={"new_phone": "13900001111", "current_password": PASSWORD})
    code = outbox.last_code()
    make_account(username="sun@example.edu.cn", id_number="440524188001010014")
    other = app.test_client()
    other.post("/login", data={"login": "sun@example.edu.cn", "password": PASSWORD})
    with signed_in.session_transaction() as state:
        token = state["account_phone_change"]
    with other.session_transaction() as state:
        state["account_phone_change"] = token
    response = other.post("/account/phone/check", data={"code": code})
    assert response.status_code == 303 and response.headers["Location"] == "/account/phone"
    assert Account.get(Account.username == "sun@example.edu.cn").phone != "+8613900001111"


def test_login_history_and_failures_since_last_success(client, student, login, db):
    client.post("/login", data={"login": "qian@example.edu.cn", "password": PASSWORD},
                headers={"User-Agent": "Mozilla/5.0 (X11) Firefox/130.0"})
    client.post("/logout")
    for _ in range(2):
        client.post("/login", data={"login": "qian@example.edu.cn", "password": "bad-pass-1"},
                    headers={"User-Agent": "curl/8.0"})
    client.post("/login", data={"login": "qian@example.edu.cn", "password": PASSWORD},
                headers={"User-Agent": "Mozilla/5.0 Chrome/140.0 Safari/537.36"})
    page = text(client.get("/account/logins"))
    assert "有 2 次密码错误的登录尝试" in page
    assert "Chrome" in page and "Firefox" in page and "curl" in page
    assert LoginEvent.select().count() == 4


def test_audit_entries_for_every_change(signed_in, outbox, db):
    signed_in.post("/account/username", data={"new_username": "q2@example.edu.cn",
                                               "current_password": PASSWORD})
    signed_in.post("/account/password", data={"current_password": PASSWORD,
                                               "new_password": "fresh-pass-9",
                                               "password_confirm": "fresh-pass-9"})
    actions = [e.action for e in AuditEntry.select().order_by(AuditEntry.id)]
    assert actions[-2:] == ["account.username_changed", "account.password_changed"]


def test_only_posts_are_rate_limited(app_factory, student):
    """Opening 修改手机号码 six times is not six codes; asking for six codes is."""
    client = app_factory(RATELIMIT_ENABLED=True, RATELIMIT_SEND_CODE="2 per minute").test_client()
    client.post("/login", data={"login": "qian@example.edu.cn", "password": PASSWORD})
    for url in ("/account/phone", "/account/password", "/account/username"):
        assert [client.get(url).status_code for _ in range(12)] == [200] * 12, url
    posts = [client.post("/account/phone", data={"new_phone": "x"}).status_code for _ in range(3)]
    assert posts == [422, 422, 429]
