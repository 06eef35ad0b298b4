"""登录 / 退出: login by username, phone or ID; lockout; sessions that can be ended."""
import datetime
import re

import pytest

from models import Account, LoginEvent, LoginThrottle, utcnow
from tests.factories import PASSWORD

HX = {"HX-Request": "true"}


def text(response):
    return response.get_data(as_text=True)


@pytest.fixture
def student(make_account):
    return make_account(username="li@example.edu.cn", real_name="李四",
                        id_number="11010519491231002X", phone="13812345678")


def test_login_page_and_fragment(client):
    page, fragment = client.get("/login"), client.get("/login", headers=HX)
    assert ">用户名</label>" in text(page) and ">密码</label>" in text(page)
    assert "<html" in text(page) and "<html" not in text(fragment)
    assert 'id="login"' in text(fragment)


@pytest.mark.parametrize("login", ["li@example.edu.cn", "LI@example.edu.cn ", "13812345678",
                                   "+86 138 1234 5678", "11010519491231002x", "110105491231002"])
def test_login_by_username_phone_or_id(client, student, login):
    response = client.post("/login", data={"login": login, "password": PASSWORD})
    assert response.status_code == 303
    assert "李四" in text(client.get("/"))


def test_one_generic_message_for_any_mismatch(client, student):
    wrong_password = client.post("/login", data={"login": "li@example.edu.cn", "password": "nope-123"})
    unknown_user = client.post("/login", data={"login": "who@example.edu.cn", "password": "nope-123"})
    for response in (wrong_password, unknown_user):
        assert response.status_code == 422 and "用户名或密码不正确" in text(response)
    assert text(wrong_password).split('id="login-message"')[1][:60] == \
        text(unknown_user).split('id="login-message"')[1][:60]


def test_empty_fields_are_422(client):
    response = client.post("/login", data={"login": "", "password": ""})
    assert response.status_code == 422
    assert 'id="login-error"' in text(response) and 'id="password-error"' in text(response)


def test_five_failures_pause_logins_from_this_address(client, student, db):
    for _ in range(4):
        assert "用户名或密码不正确" in text(client.post(
            "/login", data={"login": "li@example.edu.cn", "password": "wrong-123"}))
    fifth = client.post("/login", data={"login": "li@example.edu.cn", "password": "wrong-123"})
    assert fifth.status_code == 422 and "已锁定" in text(fifth) and "忘记密码" in text(fifth)
    right = client.post("/login", data={"login": "li@example.edu.cn", "password": PASSWORD})
    assert right.status_code == 422 and "已锁定" in text(right)
    throttle = LoginThrottle.get()
    assert datetime.timedelta(seconds=50) < throttle.locked_until - utcnow() <= datetime.timedelta(minutes=1)
    LoginThrottle.update(locked_until=utcnow() - datetime.timedelta(seconds=1)).execute()
    assert client.post("/login", data={"login": "li@example.edu.cn",
                                       "password": PASSWORD}).status_code == 303


def test_login_history_is_recorded(client, student, db):
    client.post("/login", data={"login": "li@example.edu.cn", "password": "wrong-123"},
                headers={"User-Agent": "Mozilla/5.0 Test"})
    client.post("/login", data={"login": "li@example.edu.cn", "password": PASSWORD},
                headers={"User-Agent": "Mozilla/5.0 Test"})
    events = list(LoginEvent.select().order_by(LoginEvent.id))
    assert [e.success for e in events] == [False, True]
    assert events[1].ip == "127.0.0.1" and events[1].user_agent == "Mozilla/5.0 Test"


def test_logout_is_a_post(client, student, login):
    login("li@example.edu.cn")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 303
    assert "李四" not in text(client.get("/"))


def test_next_only_goes_to_local_paths(client, student):
    response = client.post("/login?next=/register/done",
                           data={"login": "li@example.edu.cn", "password": PASSWORD})
    assert response.headers["Location"] == "/register/done"
    client.post("/logout")
    response = client.post("/login?next=https://evil.example/x",
                           data={"login": "li@example.edu.cn", "password": PASSWORD})
    assert response.headers["Location"] == "/records/"


def test_htmx_login_redirects_the_page(client, student):
    response = client.post("/login", data={"login": "li@example.edu.cn", "password": PASSWORD},
                           headers=HX)
    assert response.headers["HX-Redirect"] == "/records/"


def test_bumping_the_session_version_ends_sessions(client, student, login, db):
    login("li@example.edu.cn")
    assert "李四" in text(client.get("/"))
    account = Account.get_by_id(student.id)
    account.session_version += 1
    account.save()
    assert "李四" not in text(client.get("/"))


def test_remember_me_survives_a_lost_session_cookie(client, student):
    client.post("/login", data={"login": "li@example.edu.cn", "password": PASSWORD, "remember": "y"})
    assert client.get_cookie("remember_token") is not None
    client.delete_cookie("session")
    assert "李四" in text(client.get("/"))


def test_sessions_survive_a_restart(app_factory, student):
    first = app_factory()
    client = first.test_client()
    client.post("/login", data={"login": "li@example.edu.cn", "password": PASSWORD})
    cookie = client.get_cookie("session").value
    restarted = app_factory().test_client()  # same instance folder, same secret key
    restarted.set_cookie("session", cookie)
    assert "李四" in text(restarted.get("/"))


def test_login_is_rate_limited(app_factory, student):
    client = app_factory(RATELIMIT_ENABLED=True, RATELIMIT_LOGIN="3 per minute").test_client()
    statuses = [client.post("/login", data={"login": "x@example.edu.cn", "password": "y-1234567"})
                .status_code for _ in range(4)]
    assert statuses == [422, 422, 422, 429]


def test_logout_ends_this_login_on_the_server_only(app, client, student):
    """A copied session or remember cookie stops working; other devices stay in."""
    login_form = {"login": "li@example.edu.cn", "password": PASSWORD, "remember": "y"}
    client.post("/login", data=login_form)
    session_cookie = client.get_cookie("session").value
    remember_cookie = client.get_cookie("remember_token").value
    other_device = app.test_client()
    other_device.post("/login", data=login_form)

    response = client.post("/logout")
    assert response.status_code == 303
    cleared = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("remember_token=")]
    assert cleared and "Expires=Thu, 01 Jan 1970" in cleared[0]

    copied_session = app.test_client()
    copied_session.set_cookie("session", session_cookie)
    assert copied_session.get("/account/").status_code == 302
    copied_remember = app.test_client()
    copied_remember.set_cookie("remember_token", remember_cookie)
    assert copied_remember.get("/account/").status_code == 302
    assert "李四" in text(other_device.get("/account/"))


def test_logout_on_a_shared_computer_with_remember_me(client, student):
    client.post("/login", data={"login": "li@example.edu.cn", "password": PASSWORD, "remember": "y"})
    client.post("/logout")
    assert client.get_cookie("remember_token") is None
    assert client.get("/account/").status_code == 302


# --- throttling by account and address (issue 9) ----------------------------------

def login_message(response):
    """The login answer as a visitor sees it, with clock times blanked."""
    body = text(response).split('id="login-message"', 1)
    message = body[1].split("</p>", 1)[0] if len(body) > 1 else ""
    return response.status_code, re.sub(r"\d\d:\d\d", "hh:mm", message)


def from_address(app, address):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def wrong(client, login="li@example.edu.cn"):
    return client.post("/login", data={"login": login, "password": "wrong-123"})


def test_failures_from_one_address_do_not_lock_another(app, student):
    attacker = from_address(app, "203.0.113.9")
    answers = [wrong(attacker) for _ in range(5)]
    assert "已锁定" in text(answers[-1]) and "忘记密码" in text(answers[-1])
    assert attacker.post("/login", data={"login": "li@example.edu.cn",
                                         "password": PASSWORD}).status_code == 422
    owner = from_address(app, "198.51.100.7")
    assert owner.post("/login", data={"login": "li@example.edu.cn",
                                      "password": PASSWORD}).status_code == 303


def test_delays_grow_and_are_capped(app, student, db):
    attacker = from_address(app, "203.0.113.9")
    delays = []
    for _ in range(4):
        wrong(attacker)
    for _ in range(7):
        wrong(attacker)
        row = LoginThrottle.get()
        delays.append(round((row.locked_until - utcnow()).total_seconds() / 60))
        LoginThrottle.update(locked_until=utcnow() - datetime.timedelta(seconds=1)).execute()
    assert delays == [1, 2, 4, 8, 15, 15, 15]


def test_a_right_password_after_the_delay_starts_afresh(app, student, db):
    client = from_address(app, "203.0.113.9")
    for _ in range(5):
        wrong(client)
    LoginThrottle.update(locked_until=utcnow() - datetime.timedelta(seconds=1)).execute()
    assert client.post("/login", data={"login": "li@example.edu.cn",
                                       "password": PASSWORD}).status_code == 303
    assert LoginThrottle.select().count() == 0


def test_the_owner_is_told_once_an_hour(app, student, outbox):
    for address in ("203.0.113.9", "203.0.113.10"):
        client = from_address(app, address)
        for _ in range(6):
            wrong(client)
    to_owner = [m for m in outbox.messages() if m["to"] == "+8613812345678"]
    assert len(to_owner) == 1
    assert "忘记密码" in to_owner[0]["body"] and "wrong-123" not in to_owner[0]["body"]


def test_known_and_unknown_logins_are_throttled_alike(app, student):
    """The same answers, in the same order, whether or not the login exists."""
    known, unknown = from_address(app, "203.0.113.9"), from_address(app, "203.0.113.9")
    answers = {}
    for name, client, login in (("known", known, "li@example.edu.cn"),
                                ("unknown", unknown, "who@example.edu.cn")):
        answers[name] = [login_message(wrong(client, login)) for _ in range(6)]
        answers[name].append(login_message(client.post(
            "/login", data={"login": login, "password": PASSWORD})))
    assert answers["known"] == answers["unknown"]
    assert "已锁定" in answers["known"][4][1] and "已锁定" not in answers["known"][3][1]
