"""动态验证码: registrar accounts need a TOTP code (or a recovery code) after the password."""
import datetime
import re
import threading

import pyotp
import pytest
import time_machine

from models import AuditEntry, StaffRecoveryCode, StaffTotp
from services import accounts
from tests.factories import PASSWORD, sign_in_staff

HX = {"HX-Request": "true"}
STAFF, STAFF_PASSWORD = "office", "Desk-pass-2026"
# A fixed moment in the middle of a 30-second step.
T0 = datetime.datetime(2026, 3, 2, 8, 0, 10, tzinfo=datetime.timezone.utc)


def text(response):
    return response.get_data(as_text=True)


def password(client, username=STAFF, pw=STAFF_PASSWORD):
    return client.post("/login", data={"login": username, "password": pw})


@pytest.fixture
def staff(app, db):
    account, _ = accounts.create_or_reset_admin(STAFF, STAFF_PASSWORD)
    return account


@pytest.fixture
def enrolled(app, staff, db):
    """A registrar who enrolled earlier: (secret, recovery codes)."""
    with time_machine.travel(T0 - datetime.timedelta(days=1), tick=False):
        client = app.test_client()
        codes = sign_in_staff(client, STAFF, STAFF_PASSWORD)
    return StaffTotp.get(StaffTotp.account == staff.id).secret, codes


def test_first_login_enrols_with_a_qr_code_and_a_confirmed_code(client, staff):
    first = password(client)
    assert first.status_code == 303 and first.headers["Location"] == "/login/enrol"
    assert client.get("/admin/").status_code == 302  # not logged in yet
    page = client.get("/login/enrol")
    assert page.status_code == 200 and "<svg" in text(page) and "https://" not in text(page).split("<svg")[1].split("</svg>")[0]
    secret = StaffTotp.get(StaffTotp.account == staff.id).secret
    shown = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', text(page)).group(1)
    assert shown.replace(" ", "") == secret and " " in shown
    assert client.get("/login/enrol").status_code == 200
    assert StaffTotp.get(StaffTotp.account == staff.id).secret == secret  # a reload keeps it

    wrong = client.post("/login/enrol", data={"code": "000000" if pyotp.TOTP(secret).now() != "000000" else "111111"},
                        headers=HX)
    assert wrong.status_code == 422 and 'id="code-error"' in text(wrong)
    assert "动态验证码不正确" in text(wrong)
    assert StaffTotp.get(StaffTotp.account == staff.id).enrolled_at is None

    right = client.post("/login/enrol", data={"code": pyotp.TOTP(secret).now()})
    assert right.status_code == 200
    codes = re.findall(r"<li><code>([A-Z0-9-]+)</code></li>", text(right))
    assert len(codes) == 10 and len(set(codes)) == 10
    assert "no-store" in right.headers["Cache-Control"]
    assert StaffTotp.get(StaffTotp.account == staff.id).enrolled_at is not None
    stored = [row.code_hash for row in StaffRecoveryCode.select()]
    assert len(stored) == 10 and not set(stored) & {c.replace("-", "") for c in codes}
    assert client.get("/admin/").status_code == 200
    assert AuditEntry.select().where(AuditEntry.action == "admin.totp_enrolled").count() == 1


def test_the_secret_is_encrypted_at_rest(staff, client, db):
    password(client)
    client.get("/login/enrol")
    secret = StaffTotp.get(StaffTotp.account == staff.id).secret
    raw = db.execute_sql("SELECT secret FROM stafftotp").fetchone()[0]
    assert secret not in raw and raw.startswith("v1:")


def test_login_needs_a_code_and_a_right_code_logs_in(app, enrolled, client):
    secret, _ = enrolled
    with time_machine.travel(T0, tick=False):
        first = password(client)
        assert first.status_code == 303 and first.headers["Location"] == "/login/code"
        page = client.get("/login/code")
        assert page.status_code == 200 and ">动态验证码</label>" in text(page)
        # Only the pending marker: not logged in, the admin pages are closed.
        assert client.get("/admin/").status_code == 302
        assert client.get("/login/code").status_code == 200
        done = client.post("/login/code", data={"code": pyotp.TOTP(secret).now()})
        assert done.status_code == 303 and done.headers["Location"] == "/admin/"
        assert client.get("/admin/").status_code == 200


def test_the_code_label_is_translated(app, enrolled, client):
    password(client)
    client.set_cookie("lang", "en")
    page = text(client.get("/login/code"))
    assert ">Authenticator code</label>" in page


def test_next_is_kept_through_the_second_factor(enrolled, client):
    secret, _ = enrolled
    with time_machine.travel(T0, tick=False):
        client.post("/login?next=/admin/appeals", data={"login": STAFF, "password": STAFF_PASSWORD})
        done = client.post("/login/code", data={"code": pyotp.TOTP(secret).now()})
    assert done.headers["Location"] == "/admin/appeals"


def test_a_code_works_once(app, enrolled):
    secret, _ = enrolled
    with time_machine.travel(T0, tick=False):
        code = pyotp.TOTP(secret).now()
        first, second = app.test_client(), app.test_client()
        password(first)
        assert first.post("/login/code", data={"code": code}).status_code == 303
        password(second)
        again = second.post("/login/code", data={"code": code}, headers=HX)
        assert again.status_code == 422 and "已经用过" in text(again)
        # An older code (the previous step, inside the window) is refused too.
        older = second.post("/login/code", data={"code": pyotp.TOTP(secret).at(T0.timestamp() - 30)})
        assert older.status_code == 422
    with time_machine.travel(T0 + datetime.timedelta(seconds=30), tick=False):
        assert second.post("/login/code", data={"code": pyotp.TOTP(secret).now()}).status_code == 303


def test_two_logins_with_one_code_at_once_let_one_in(app, enrolled, db):
    """The same code sent by two sessions at the same moment: one gets in."""
    secret, _ = enrolled
    with time_machine.travel(T0, tick=False):
        code = pyotp.TOTP(secret).now()
        clients = [app.test_client(), app.test_client()]
        for client in clients:
            assert password(client).status_code == 303
        barrier = threading.Barrier(2)
        results = {}

        def send(n, client):
            barrier.wait()
            results[n] = client.post("/login/code", data={"code": code})

        threads = [threading.Thread(target=send, args=(n, c)) for n, c in enumerate(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(r.status_code for r in results.values()) == [303, 422]
    assert StaffTotp.get().last_counter == int(T0.timestamp()) // 30


def test_a_recovery_code_works_once(app, enrolled):
    _, codes = enrolled
    first, second = app.test_client(), app.test_client()
    password(first)
    done = first.post("/login/code", data={"code": codes[0].lower().replace("-", " ")})
    assert done.status_code == 303 and first.get("/admin/").status_code == 200
    assert StaffRecoveryCode.select().where(StaffRecoveryCode.used_at.is_null(False)).count() == 1
    password(second)
    again = second.post("/login/code", data={"code": codes[0]})
    assert again.status_code == 422 and "动态验证码不正确" in text(again)


def test_the_pending_marker_expires_after_five_minutes(enrolled, client):
    secret, _ = enrolled
    with time_machine.travel(T0, tick=False):
        password(client)
    with time_machine.travel(T0 + datetime.timedelta(minutes=5, seconds=1), tick=False):
        late = client.post("/login/code", data={"code": pyotp.TOTP(secret).now()})
        assert late.status_code == 303 and late.headers["Location"] == "/login"
        assert "登录已超时" in text(client.get("/login"))
        assert client.get("/admin/").status_code == 302


def test_five_wrong_codes_send_back_to_the_password(app, enrolled, client):
    secret, _ = enrolled
    with time_machine.travel(T0, tick=False):
        right = pyotp.TOTP(secret).now()
        wrong = "%06d" % ((int(right) + 500000) % 1000000)
        old_cookie_client = app.test_client()
        password(old_cookie_client)
        password(client)
        for left in (4, 3, 2, 1):
            response = client.post("/login/code", data={"code": wrong})
            assert response.status_code == 422 and f"还可以再试 {left} 次" in text(response)
        fifth = client.post("/login/code", data={"code": wrong})
        assert fifth.status_code == 303 and fifth.headers["Location"] == "/login"
        assert "连续输错 5 次" in text(client.get("/login"))
        # Every pending login of the account is void, also one in another browser.
        assert client.post("/login/code", data={"code": right}).headers["Location"] == "/login"
        assert old_cookie_client.post("/login/code", data={"code": right}).headers["Location"] == "/login"
        # The password again, then the right code.
        password(client)
        assert client.post("/login/code", data={"code": right}).status_code == 303


def test_garbage_codes_are_422_not_500(enrolled, client):
    password(client)
    for code in ("", "   ", "１２３", "x" * 300, "<script>"):
        response = client.post("/login/code", data={"code": code})
        assert response.status_code in (422, 303), code


def test_a_session_without_the_second_factor_is_refused_by_admin_pages(app, staff, client):
    """A staff session made without the code (an old cookie): admin pages log it out."""
    accounts.start_login_session(staff, ip="127.0.0.1", user_agent="test")
    with client.session_transaction() as session:
        session["_user_id"] = staff.get_id()
        session["_fresh"] = True
    response = client.get("/admin/appeals")
    assert response.status_code == 303 and response.headers["Location"].startswith("/login")
    assert client.get("/admin/").status_code == 302  # logged out


def test_student_login_is_unchanged(make_account, client):
    make_account(username="li@example.edu.cn")
    response = client.post("/login", data={"login": "li@example.edu.cn", "password": PASSWORD})
    assert response.status_code == 303 and response.headers["Location"] == "/records/"
    assert "/login/code" not in response.headers["Location"]
    assert client.get("/login/code").headers["Location"] == "/"  # nothing pending, logged in


def test_code_pages_without_a_password_go_to_login(client):
    for url in ("/login/code", "/login/enrol"):
        response = client.get(url)
        assert response.status_code == 303 and response.headers["Location"] == "/login", url
        assert client.post(url, data={"code": "123456"}).headers["Location"] == "/login"


def test_a_new_password_keeps_the_second_factor_unless_reset(app, enrolled, runner):
    updated = runner.invoke(args=["create-admin", STAFF, "--password", "Another-pass-2027"])
    assert updated.exit_code == 0
    assert StaffTotp.select().count() == 1 and StaffRecoveryCode.select().count() == 10
    reset = runner.invoke(args=["create-admin", STAFF, "--password", "Third-pass-2028", "--reset-totp"])
    assert reset.exit_code == 0 and "second factor removed" in reset.output
    assert StaffTotp.select().count() == 0 and StaffRecoveryCode.select().count() == 0
    client = app.test_client()
    assert password(client, pw="Third-pass-2028").headers["Location"] == "/login/enrol"


def test_create_admin_makes_an_account_that_enrols_at_first_login(app, runner, db):
    created = runner.invoke(args=["create-admin", "desk", "--password", "Office-pass-2026"])
    assert created.exit_code == 0, created.output
    assert StaffTotp.select().count() == 0
    client = app.test_client()
    assert password(client, "desk", "Office-pass-2026").headers["Location"] == "/login/enrol"
