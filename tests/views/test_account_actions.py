"""Students' accounts (views.registry): 解除锁定, 结束全部会话, 停用, 启用 — each a
confirmed POST, audited, answered with the partial admin/_account_actions.html."""
import re

import pytest
from flask import render_template
from flask_login import login_user

from models import Account, AuditEntry
from tests.factories import PASSWORD, signed_in_staff, staff_account

HX = {"HX-Request": "true"}


def text(response):
    return response.get_data(as_text=True)


@pytest.fixture
def student(make_account):
    return make_account(username="li@example.edu.cn", real_name="李四", phone="13812345678",
                        id_number="11010519491231002X")


@pytest.fixture
def office(app, db):
    return signed_in_staff(app, "office", Account.REGISTRAR)


def url(student, action=""):
    return f"/admin/accounts/{student.id}/{action or 'actions'}"


def audit(action):
    return list(AuditEntry.select().where(AuditEntry.action == action))


def test_the_page_shows_the_account_masked_and_its_actions(office, student):
    page = text(office.get(url(student)))
    assert "李四" in page and "li@example.edu.cn" in page
    assert "1101**********002X" in page and "11010519491231002X" not in page
    assert "138****5678" in page and "13812345678" not in page
    for action, button in (("unlock", "解除锁定"), ("sessions/end", "结束全部会话"),
                           ("disable", "停用账号")):
        assert f'action="{url(student, action)}"' in page and button in page
    assert "启用账号" not in page and "<label" in page and 'id="account-actions"' in page
    fragment = text(office.get(url(student), headers=HX))
    assert fragment.lstrip().startswith('<section id="account-actions"')
    assert "<html" not in fragment


def test_staff_accounts_and_unknown_ids_are_not_here(office, db):
    office_id = Account.get(Account.username == "office").id
    for path in (f"/admin/accounts/{office_id}/actions", "/admin/accounts/999/actions"):
        assert office.get(path).status_code == 404
    assert office.post(f"/admin/accounts/{office_id}/unlock",
                       data={"confirm_unlock": "y"}).status_code == 404


@pytest.mark.parametrize("headers", [{}, HX])
def test_unlock(app, office, student, headers):
    stranger = app.test_client()
    for _ in range(5):
        stranger.post("/login", data={"login": "li@example.edu.cn", "password": "wrong-123"})
    assert "锁定中" in text(office.get(url(student)))
    unconfirmed = office.post(url(student, "unlock"), data={}, headers=headers)
    assert unconfirmed.status_code == 422 and "请先勾选确认" in text(unconfirmed)
    done = office.post(url(student, "unlock"), data={"confirm_unlock": "y"}, headers=headers)
    if headers:
        assert done.status_code == 200 and 'id="account-actions"' in text(done)
        assert "已解除 li@example.edu.cn 的登录锁定" in text(done)  # the flash, out of band
        assert "未锁定" in text(done)
    else:
        assert done.status_code == 303 and done.headers["Location"] == url(student)
        assert "已解除 li@example.edu.cn 的登录锁定" in text(office.get(url(student)))
    assert stranger.post("/login", data={"login": "li@example.edu.cn",
                                         "password": PASSWORD}).status_code == 303
    [entry] = audit("account.unlocked")
    assert (entry.account_id, entry.actor) == (student.id, "office")


@pytest.mark.parametrize("headers", [{}, HX])
def test_end_all_sessions(app, office, student, login, client, headers):
    login("li@example.edu.cn")
    assert client.get("/records/").status_code == 200
    done = office.post(url(student, "sessions/end"), data={"confirm_sessions_end": "y"},
                       headers=headers)
    assert done.status_code == (200 if headers else 303)
    assert client.get("/records/").status_code == 302
    assert audit("account.sessions_ended")[0].account_id == student.id
    assert Account.get_by_id(student.id).session_version == student.session_version + 1


@pytest.mark.parametrize("headers", [{}, HX])
def test_disable_then_enable(app, office, student, login, client, headers):
    login("li@example.edu.cn")
    no_reason = office.post(url(student, "disable"), data={"reason": "  "}, headers=headers)
    assert no_reason.status_code == 422 and "请写明停用的原因" in text(no_reason)
    assert not Account.get_by_id(student.id).is_disabled
    done = office.post(url(student, "disable"), data={"reason": "证件被冒用，核查中"},
                       headers=headers)
    assert done.status_code == (200 if headers else 303)
    page = text(office.get(url(student), headers=headers))
    assert "停用：证件被冒用，核查中" in page and "启用账号" in page and "停用账号" not in page
    assert client.get("/records/").status_code == 302  # the student's session ended
    twice = office.post(url(student, "disable"), data={"reason": "again"}, headers=headers)
    assert twice.status_code == 422 and "已经停用" in text(twice)
    [entry] = audit("account.disabled")
    assert entry.changes["fields"]["disabled_reason"] == ["", "证件被冒用，核查中"]

    assert office.post(url(student, "enable"), data={}, headers=headers).status_code == 422
    enabled = office.post(url(student, "enable"), data={"confirm_enable": "y"}, headers=headers)
    assert enabled.status_code == (200 if headers else 303)
    assert not Account.get_by_id(student.id).is_disabled
    assert audit("account.enabled")[0].actor == "office"
    login("li@example.edu.cn")


def test_enable_an_enabled_account_is_422(office, student):
    response = office.post(url(student, "enable"), data={"confirm_enable": "y"})
    assert response.status_code == 422 and "没有停用" in text(response)


def test_the_login_page_tells_a_disabled_owner(app, office, student, client):
    office.post(url(student, "disable"), data={"reason": "学籍核查中"})
    for headers in ({}, HX):
        response = client.post("/login", data={"login": "li@example.edu.cn", "password": PASSWORD},
                               headers=headers)
        page = text(response)
        assert response.status_code == 422
        assert "该账号已被学校停用：学籍核查中" in page
        assert "registrar@demo.edu.cn" in page and 'href="/help/"' in page


def test_a_wrong_password_on_a_disabled_account_answers_like_an_unknown_login(
        app, office, student):
    office.post(url(student, "disable"), data={"reason": "学籍核查中"})
    answers = []
    for login in ("li@example.edu.cn", "nobody@example.edu.cn"):
        response = app.test_client().post("/login", data={"login": login, "password": "wrong-123"})
        assert response.status_code == 422
        # The same page but for what was typed and each session's CSRF token.
        answers.append(re.sub(r'name="csrf_token"[^>]*', "", text(response).replace(login, "LOGIN")))
    assert answers[0] == answers[1]
    assert "停用" not in answers[0] and "用户名或密码不正确" in answers[0]


def test_a_viewer_gets_403_and_an_empty_partial(app, student, db):
    viewer = signed_in_staff(app, "counter", Account.VIEWER)
    assert viewer.get(url(student)).status_code == 403
    assert viewer.post(url(student, "disable"), data={"reason": "x"}).status_code == 403
    assert not Account.get_by_id(student.id).is_disabled


@pytest.mark.parametrize("role, on_student, on_staff", [
    (Account.VIEWER, False, False),
    (Account.REGISTRAR, True, False),
    (Account.ADMIN, True, True),
])
def test_the_partial_renders_what_the_reader_may_do(app, student, db, role, on_student, on_staff):
    reader = staff_account("reader", role)
    colleague = staff_account("colleague", Account.REGISTRAR)
    with app.test_request_context():
        login_user(reader)
        html = render_template("admin/_account_actions.html", account=student)
        assert ('id="account-actions"' in html) is on_student
        assert (f"/admin/accounts/{student.id}/disable" in html) is on_student
        html = render_template("admin/_account_actions.html", account=colleague)
        assert ('id="account-actions"' in html) is on_staff
        assert (f"/admin/staff/{colleague.id}/disable" in html) is on_staff
        own = render_template("admin/_account_actions.html", account=reader)
        assert "停用账号" not in own  # nobody disables themselves
