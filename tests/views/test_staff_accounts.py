"""工作人员账号 (views.management, 管理员 only): the list, a new member, role changes,
停用 / 启用, a second-factor reset; nobody demotes or disables themselves."""
import re

import pytest

from models import Account, AuditEntry, LoginSession
from services import staff_auth
from tests.factories import STAFF_PASSWORD, sign_in_staff, signed_in_staff, staff_account

HX = {"HX-Request": "true"}


def text(response):
    return response.get_data(as_text=True)


@pytest.fixture
def boss(app, db):
    return signed_in_staff(app, "boss", Account.ADMIN)


def member_id(username):
    return Account.get(Account.username == username).id


def test_the_list_shows_every_member(app, boss):
    staff_account("office", Account.REGISTRAR)
    staff_account("counter", Account.VIEWER)
    page = text(boss.get("/admin/staff"))
    rows = {m: page.split(f'id="staff-{member_id(m)}"')[1].split("</tr>")[0]
            for m in ("boss", "office", "counter")}
    assert "管理员" in rows["boss"] and "已设置" in rows["boss"] and "从未登录" not in rows["boss"]
    assert "学籍管理员" in rows["office"] and "未设置" in rows["office"] and "从未登录" in rows["office"]
    assert "查询员" in rows["counter"] and "启用" in rows["counter"]
    assert '<label for="username">用户名</label>' in page and "初始密码" in page
    assert "<html" not in text(boss.get("/admin/staff", headers=HX))
    boss.set_cookie("lang", "en")
    english = text(boss.get("/admin/staff"))
    assert "Registrar" in english and "Viewer" in english and "Administrator" in english


@pytest.mark.parametrize("headers", [{}, HX])
def test_create_a_member_who_enrols_at_first_login(app, boss, headers):
    done = boss.post("/admin/staff", data={"username": "Counter.Wang", "role": "viewer",
                                           "password": "Front-2026-ok"}, headers=headers)
    if headers:
        assert done.status_code == 200 and done.headers["HX-Redirect"] == "/admin/staff"
    else:
        assert done.status_code == 303 and done.headers["Location"] == "/admin/staff"
    page = text(boss.get("/admin/staff"))
    assert "已创建工作人员账号 counter.wang（查询员）" in page
    created = Account.get(Account.username == "counter.wang")
    assert created.role == "viewer" and not staff_auth.is_enrolled(created)
    entry = AuditEntry.get(AuditEntry.action == "staff.created")
    assert entry.actor == "boss" and entry.changes["fields"]["role"] == ["", "viewer"]
    newcomer = app.test_client()
    first = newcomer.post("/login", data={"login": "counter.wang", "password": "Front-2026-ok"})
    assert first.status_code == 303 and first.headers["Location"] == "/login/enrol"
    assert sign_in_staff(app.test_client(), "counter.wang", "Front-2026-ok")  # recovery codes
    assert app.test_client().get("/admin/staff").status_code == 302


@pytest.mark.parametrize("data, field, message", [
    ({}, "username", "请填写用户名"),
    ({"username": "x y", "role": "viewer", "password": "Front-2026-ok"}, "username", "小写字母"),
    ({"username": "boss", "role": "viewer", "password": "Front-2026-ok"}, "username", "已被使用"),
    ({"username": "wang", "role": "student", "password": "Front-2026-ok"}, "role", "请选择角色"),
    ({"username": "wang", "role": "viewer", "password": "short"}, "password", "至少 8 位"),
])
def test_create_refusals_are_422_beside_the_field(boss, data, field, message):
    for headers in ({}, HX):
        response = boss.post("/admin/staff", data=data, headers=headers)
        assert response.status_code == 422
        error = re.search(rf'id="{field}-error">([^<]*)<', text(response))
        assert error and message in error.group(1), text(response)[-3000:]
    assert Account.select().count() == 1


@pytest.mark.parametrize("headers", [{}, HX])
def test_change_a_role(boss, headers):
    office = staff_account("office", Account.REGISTRAR)
    assert boss.post(f"/admin/staff/{office.id}/role", data={"role": "nonsense"},
                     headers=headers).status_code == 422
    done = boss.post(f"/admin/staff/{office.id}/role", data={"role": "viewer"}, headers=headers)
    assert done.status_code == (200 if headers else 303)
    answer = text(done) if headers else text(boss.get(f"/admin/staff/{office.id}"))
    assert 'id="staff-account"' in answer and "office 的角色已从学籍管理员改为查询员" in answer
    assert Account.get_by_id(office.id).role == "viewer"
    entry = AuditEntry.get(AuditEntry.action == "staff.role_changed")
    assert entry.changes["fields"]["role"] == ["registrar", "viewer"]


def test_a_demoted_member_loses_the_pages_at_once(app, boss):
    staff_account("second", Account.ADMIN)
    second = app.test_client()
    sign_in_staff(second, "second", STAFF_PASSWORD)
    assert second.get("/admin/staff").status_code == 200
    boss.post(f"/admin/staff/{member_id('second')}/role", data={"role": "viewer"})
    assert second.get("/admin/staff").status_code == 403
    assert second.get("/admin/").status_code == 200


def test_an_admin_cannot_demote_or_disable_themselves(boss):
    me = member_id("boss")
    page = text(boss.get(f"/admin/staff/{me}"))
    assert "不能修改自己的角色" in page and "停用账号" not in page
    demote = boss.post(f"/admin/staff/{me}/role", data={"role": "viewer"})
    assert demote.status_code == 422 and "不能停用自己的账号" in text(demote)
    disable = boss.post(f"/admin/staff/{me}/disable", data={"reason": "休假"}, headers=HX)
    assert disable.status_code == 422 and "不能停用自己的账号" in text(disable)
    assert Account.get_by_id(me).role == "admin" and not Account.get_by_id(me).is_disabled


@pytest.mark.parametrize("headers", [{}, HX])
def test_disable_and_enable_a_member(app, boss, headers):
    staff_account("office", Account.REGISTRAR)
    office = app.test_client()
    sign_in_staff(office, "office", STAFF_PASSWORD)
    target = member_id("office")
    done = boss.post(f"/admin/staff/{target}/disable", data={"reason": "离职"}, headers=headers)
    assert done.status_code == (200 if headers else 303)
    assert office.get("/admin/").status_code == 302  # the session ended
    refused = app.test_client().post("/login", data={"login": "office", "password": STAFF_PASSWORD})
    assert refused.status_code == 422 and "该账号已被学校停用：离职" in text(refused)
    assert "停用" in text(boss.get("/admin/staff")).split(f'id="staff-{target}"')[1].split("</tr>")[0]
    enabled = boss.post(f"/admin/staff/{target}/enable", data={"confirm_enable": "y"},
                        headers=headers)
    assert enabled.status_code == (200 if headers else 303)
    sign_in_staff(app.test_client(), "office", STAFF_PASSWORD)
    actions = [e.action for e in AuditEntry.select().where(AuditEntry.account == target)]
    assert "account.disabled" in actions and "account.enabled" in actions


@pytest.mark.parametrize("headers", [{}, HX])
def test_reset_a_members_second_factor(app, boss, headers):
    staff_account("office", Account.REGISTRAR)
    office = app.test_client()
    sign_in_staff(office, "office", STAFF_PASSWORD)
    target = member_id("office")
    page = text(boss.get(f"/admin/staff/{target}"))
    assert "重置动态验证码" in page and "已设置" in page
    assert boss.post(f"/admin/staff/{target}/second-factor/reset", data={},
                     headers=headers).status_code == 422
    done = boss.post(f"/admin/staff/{target}/second-factor/reset", data={"confirm_reset": "y"},
                     headers=headers)
    assert done.status_code == (200 if headers else 303)
    assert not staff_auth.is_enrolled(Account.get_by_id(target))
    assert office.get("/admin/").status_code == 302
    again = app.test_client().post("/login", data={"login": "office", "password": STAFF_PASSWORD})
    assert again.headers["Location"] == "/login/enrol"
    assert AuditEntry.get(AuditEntry.action == "admin.totp_reset").actor == "boss"


def test_unlock_and_end_sessions_of_a_member(app, boss):
    staff_account("office", Account.REGISTRAR)
    office = app.test_client()
    sign_in_staff(office, "office", STAFF_PASSWORD)
    target = member_id("office")
    for _ in range(5):
        app.test_client().post("/login", data={"login": "office", "password": "wrong-1234"})
    assert "锁定中" in text(boss.get(f"/admin/staff/{target}"))
    assert boss.post(f"/admin/staff/{target}/unlock",
                     data={"confirm_unlock": "y"}).status_code == 303
    assert "未锁定" in text(boss.get(f"/admin/staff/{target}"))
    ended = boss.post(f"/admin/staff/{target}/sessions/end", data={"confirm_sessions_end": "y"},
                      headers=HX)
    assert ended.status_code == 200 and 'id="account-actions"' in text(ended)
    assert office.get("/admin/").status_code == 302
    assert LoginSession.select().where(LoginSession.account == target,
                                       LoginSession.ended_at.is_null()).count() == 0


def test_students_and_unknown_ids_are_404(boss, make_account):
    student = make_account()
    for path in (f"/admin/staff/{student.id}", "/admin/staff/999"):
        assert boss.get(path).status_code == 404
    assert boss.post(f"/admin/staff/{student.id}/role", data={"role": "admin"}).status_code == 404
    assert Account.get_by_id(student.id).role == "student"


def test_a_registrar_and_a_viewer_are_refused(app, db):
    staff_account("boss")
    for role in (Account.REGISTRAR, Account.VIEWER):
        client = signed_in_staff(app, f"{role}-x", role)
        assert client.get("/admin/staff").status_code == 403
        assert client.post("/admin/staff", data={"username": "mine", "role": "admin",
                                                 "password": "Front-2026-ok"}).status_code == 403
    assert not Account.select().where(Account.username == "mine").exists()
