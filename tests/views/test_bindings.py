"""What binds records besides name + ID number (BIND_MODE), as people meet it:
registration and login in each mode, 验证学号或证书编号 on /records, the
registrar's 绑定确认 queue, and the notice sent for every bind."""
import threading

import pytest

from models import Account, AuditEntry, BindAttempt, BindRequest, Diploma, Enrollment, Record
from services import settings as settings_service
from tests.factories import PASSWORD, create_record, signed_in_staff, walk_to

HX = {"HX-Request": "true"}
# The registration wizard's person (tests.factories.IDENTITY).
NAME, ID_NUMBER, USERNAME = "王𠮷", "11010519491231002X", "wang@example.edu.cn"


def text(response):
    return response.get_data(as_text=True)


@pytest.fixture
def set_mode(app, db):
    """The school's setting, stored as the settings page stores it."""
    def do(mode):
        settings_service.save({"BIND_MODE": mode}, defaults=app.config, actor="admin")
    return do


@pytest.fixture
def waiting(make_record):
    """Two records of the wizard's person, nobody's yet."""
    return [make_record("enrollment", name=NAME, student_number="S2016001"),
            make_record("diploma", name=NAME, certificate_number="109991201905000777")]


def register(app, outbox):
    client = app.test_client()
    walk_to(client, outbox, "confirm")
    assert client.post("/register/confirm", data={"yes": "1"}).status_code == 303
    return client


def bound_notices(outbox):
    return [m for m in outbox.messages() if m["subject"].endswith("学信档案记录绑定通知")]


def bound_ids():
    return [r.account_id for r in (*Enrollment.select(), *Diploma.select())]


# --- registration and login in each mode ---------------------------------------------

def test_registration_in_auto_mode_binds_and_sends_one_notice(app, db, waiting, outbox):
    client = register(app, outbox)
    account = Account.get(Account.username == USERNAME)
    assert bound_ids() == [account.id, account.id]
    sms, email = bound_notices(outbox)
    assert (sms["channel"], sms["to"]) == ("sms", "+8613812345678")
    assert (email["channel"], email["to"]) == ("email", USERNAME)
    assert "以下 2 条记录已绑定" in sms["body"] and "学籍：示范大学 · 本科 · 汉语言文学" in sms["body"]
    assert ID_NUMBER not in sms["body"] and "验证学号或证书编号" not in text(client.get("/records/"))


def test_registration_in_number_mode_asks_for_a_number(app, set_mode, waiting, outbox):
    set_mode("number")
    client = register(app, outbox)
    assert bound_ids() == [None, None] and not bound_notices(outbox)
    page = text(client.get("/records/"))
    assert "验证学号或证书编号" in page and '<label for="number">学号或证书编号</label>' in page
    assert 'action="/records/number-check"' in page


def test_registration_in_approval_mode_waits_for_the_registrar(app, set_mode, waiting, outbox):
    set_mode("approval")
    client = register(app, outbox)
    assert bound_ids() == [None, None] and not bound_notices(outbox)
    request = BindRequest.get()
    assert request.status == "pending" and request.account.username == USERNAME
    page = text(client.get("/records/"))
    assert "等待学籍管理部门确认" in page and "number-check" not in page


@pytest.mark.parametrize("mode, bound, state", [
    ("auto", True, None), ("number", False, "验证学号或证书编号"),
    ("approval", False, "等待学籍管理部门确认")])
def test_login_in_each_mode(app, set_mode, make_account, waiting, outbox, login, client,
                            mode, bound, state):
    set_mode(mode)
    account = make_account(username=USERNAME, real_name=NAME, id_number=ID_NUMBER)
    login(USERNAME)
    assert bound_ids() == ([account.id] * 2 if bound else [None, None])
    assert len(bound_notices(outbox)) == (2 if bound else 0)
    assert BindRequest.select().count() == (1 if mode == "approval" else 0)
    page = text(client.get("/records/"))
    if state:
        assert state in page
    else:
        assert 'id="bind-hold"' not in page


def test_the_configured_default_applies_without_a_stored_setting(app_factory, outbox):
    app = app_factory(BIND_MODE="number")
    create_record("enrollment", 1, name=NAME)
    client = register(app, outbox)
    assert "验证学号或证书编号" in text(client.get("/records/"))
    assert Enrollment.get().account_id is None


# --- 验证学号或证书编号 ----------------------------------------------------------------

@pytest.fixture
def held_student(app, set_mode, make_account, waiting, client, login):
    set_mode("number")
    account = make_account(username=USERNAME, real_name=NAME, id_number=ID_NUMBER)
    login(USERNAME)
    return account


def test_the_right_number_binds_everything_waiting(held_student, client, outbox):
    response = client.post("/records/number-check", data={"number": "s2016001"})
    assert response.status_code == 303 and response.headers["Location"] == "/records/"
    assert bound_ids() == [held_student.id] * 2
    assert {r.bound_by for r in Enrollment.select()} == {Record.NUMBER}
    page = text(client.get("/records/"))
    assert "验证通过，2 条记录已加入你的档案" in page and 'id="bind-hold"' not in page
    assert "学号或证书编号验证通过，以下 2 条记录已绑定" in bound_notices(outbox)[0]["body"]


def test_the_right_certificate_number_with_htmx(held_student, client):
    response = client.post("/records/number-check", data={"number": "NO.109991201905000777"},
                           headers=HX)
    assert response.status_code == 200 and response.headers["HX-Redirect"] == "/records/"
    assert bound_ids() == [held_student.id] * 2


@pytest.mark.parametrize("headers", [{}, HX])
def test_a_wrong_number_is_422_beside_the_field(held_student, client, outbox, headers):
    response = client.post("/records/number-check", data={"number": "S2016002"}, headers=headers)
    assert response.status_code == 422
    body = text(response)
    assert 'id="number-error"' in body and "与等待绑定的记录不符" in body
    assert ("<html" in body) == (not headers) and 'id="bind-hold"' in body
    assert bound_ids() == [None, None] and not bound_notices(outbox)
    assert BindAttempt.get().success is False


def test_an_empty_number_is_422_and_not_counted(held_student, client):
    response = client.post("/records/number-check", data={"number": ""}, headers=HX)
    assert response.status_code == 422 and "请填写学号或证书编号" in text(response)
    assert BindAttempt.select().count() == 0


def test_number_checks_stop_at_the_daily_limit(held_student, client):
    for n in range(10):
        client.post("/records/number-check", data={"number": f"X{n}"})
    response = client.post("/records/number-check", data={"number": "S2016001"})
    assert response.status_code == 422 and "次数已用完" in text(response)
    assert bound_ids() == [None, None] and BindAttempt.select().count() == 10


def test_no_number_check_unless_the_school_asks_for_it(app, db, make_account, waiting, client,
                                                       login):
    make_account(username=USERNAME, real_name=NAME, id_number=ID_NUMBER)
    login(USERNAME)   # auto mode: bound at login, nothing waits
    response = client.post("/records/number-check", data={"number": "S2016001"})
    assert response.status_code == 422 and BindAttempt.select().count() == 0


# --- 绑定确认: the registrar's queue ----------------------------------------------------

@pytest.fixture
def pending(app, set_mode, make_account, waiting, login):
    set_mode("approval")
    account = make_account(username=USERNAME, real_name=NAME, id_number=ID_NUMBER,
                           phone="13812345678")
    login(USERNAME)
    return BindRequest.get(BindRequest.account == account)


@pytest.fixture
def registrar(app, db):
    return signed_in_staff(app, "office", Account.REGISTRAR)


@pytest.mark.parametrize("headers", [{}, HX])
def test_the_queue_lists_pending_requests(registrar, pending, headers):
    listing = registrar.get("/admin/bindings", headers=headers)
    assert listing.status_code == 200 and ("<html" in text(listing)) == (not headers)
    assert f'href="/admin/bindings/{pending.id}"' in text(listing) and NAME in text(listing)
    detail = text(registrar.get(f"/admin/bindings/{pending.id}", headers=headers))
    assert "学籍：示范大学 · 本科 · 汉语言文学" in detail and "学历：示范大学" in detail
    assert "1101**********002X" in detail and ID_NUMBER not in detail
    assert "138****5678" in detail and ">决定</legend>" in detail
    assert "绑定确认" in text(registrar.get("/admin/"))
    assert "没有这类绑定申请" in text(registrar.get("/admin/bindings?status=approved"))


def test_approve_binds_audits_and_tells(registrar, pending, outbox, client):
    response = registrar.post(f"/admin/bindings/{pending.id}", data={"decision": "approve"})
    assert response.status_code == 303 and response.headers["Location"] == "/admin/bindings"
    assert bound_ids() == [pending.account_id] * 2
    entry = AuditEntry.get(AuditEntry.action == "bind_request.approved")
    assert entry.actor == "office" and entry.account_id == pending.account_id
    assert "经学籍管理部门确认，以下 2 条记录已绑定" in bound_notices(outbox)[0]["body"]
    assert "等待学籍管理部门确认" not in text(client.get("/records/"))
    again = registrar.post(f"/admin/bindings/{pending.id}", data={"decision": "approve"})
    assert again.status_code == 422   # decided already: the page shows it, without the form
    assert "已通过" in text(again) and ">决定</legend>" not in text(again)
    assert "这条绑定申请已经处理过了" in text(again)


def test_approve_with_htmx_redirects_the_whole_page(registrar, pending):
    response = registrar.post(f"/admin/bindings/{pending.id}", data={"decision": "approve"},
                              headers=HX)
    assert response.status_code == 200 and response.headers["HX-Redirect"] == "/admin/bindings"
    assert BindRequest.get_by_id(pending.id).status == "approved"


@pytest.mark.parametrize("headers", [{}, HX])
def test_declining_needs_a_reason(registrar, pending, headers):
    response = registrar.post(f"/admin/bindings/{pending.id}", data={"decision": "reject"},
                              headers=headers)
    assert response.status_code == 422 and 'id="reply-error"' in text(response)
    assert "不通过时必须写明理由" in text(response)
    assert BindRequest.get_by_id(pending.id).status == "pending"


def test_a_declined_student_sees_the_reason_and_asks_again(registrar, pending, client, outbox):
    response = registrar.post(f"/admin/bindings/{pending.id}",
                              data={"decision": "reject", "reply": "请携带身份证到学籍科核实"})
    assert response.status_code == 303 and bound_ids() == [None, None]
    assert "未能确认你的记录绑定申请，理由：请携带身份证到学籍科核实" in outbox.last()["body"]
    assert AuditEntry.get(AuditEntry.action == "bind_request.rejected").actor == "office"
    page = text(client.get("/records/"))
    assert "理由：请携带身份证到学籍科核实" in page and "提交确认申请" in page
    asked = client.post("/records/confirmation", headers=HX)
    assert asked.status_code == 200 and asked.headers["HX-Redirect"] == "/records/"
    assert "等待学籍管理部门确认" in text(client.get("/records/"))
    twice = client.post("/records/confirmation")
    assert twice.status_code == 422 and "正在等待学籍管理部门确认" in text(twice)
    assert BindRequest.select().where(BindRequest.status == "pending").count() == 1


def test_two_registrars_approving_at_once_bind_once(app, pending, outbox):
    first = signed_in_staff(app, "office-1", Account.REGISTRAR)
    second = signed_in_staff(app, "office-2", Account.ADMIN)
    barrier = threading.Barrier(2)
    statuses = []

    def approve(client):
        barrier.wait()
        statuses.append(client.post(f"/admin/bindings/{pending.id}",
                                    data={"decision": "approve"}).status_code)

    threads = [threading.Thread(target=approve, args=(c,)) for c in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(statuses) == [303, 422]
    assert bound_ids() == [pending.account_id] * 2
    assert AuditEntry.select().where(AuditEntry.action == "bind_request.approved").count() == 1
    assert len(bound_notices(outbox)) == 2   # one SMS and one e-mail, once


# --- the notice for the other bind path ---------------------------------------------

def test_binding_by_certificate_sends_the_notice(app, db, make_account, make_record, client,
                                                 login, outbox):
    make_account(username="zhang@example.edu.cn", real_name="张三", id_number=ID_NUMBER)
    login("zhang@example.edu.cn")
    make_record("diploma", id_number=None, graduation_date="1994-07-01", school_name="示范学院",
                certificate_number="00298959")
    response = client.post("/records/bind", data={"kind": "diploma", "certificate_number": "298959",
                                                  "year": "1994", "school": "示范学院"})
    assert response.status_code == 303
    sms, email = bound_notices(outbox)
    assert "按你填写的证书编号，以下 1 条记录已绑定" in sms["body"]
    assert email["to"] == "zhang@example.edu.cn" and PASSWORD not in email["body"]
