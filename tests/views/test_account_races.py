"""Lost updates (issue 9): concurrent writes to one account, appeal or correction.

Each race runs real requests (or service calls) in threads behind a
threading.Barrier against the app's SQLite file.
"""
import threading

import pytest

import models
from models import Account, Appeal, AuditEntry, CorrectionRequest
from services import accounts, appeals, corrections
from tests.factories import PASSWORD, run_together, sign_in


def text(response):
    return response.get_data(as_text=True)


@pytest.fixture
def student(make_account):
    return make_account(username="li@example.edu.cn", real_name="李四", phone="13812345678")


def test_a_failed_login_during_a_password_change_does_not_undo_it(app, student, monkeypatch):
    """The failed login reads the account, hashes slowly, and finishes after the change."""
    owner, thief, attacker = app.test_client(), app.test_client(), app.test_client()
    sign_in(owner, "li@example.edu.cn")
    sign_in(thief, "li@example.edu.cn")  # a stolen session the change must end
    changed = threading.Event()
    real_check = accounts.check_password

    def slow_check(password_hash, password):
        if password == "wrong-guess-1":
            changed.wait(20)  # still holding the account as it was before the change
        return real_check(password_hash, password)

    monkeypatch.setattr(accounts, "check_password", slow_check)

    def change():
        try:
            return owner.post("/account/password", data={
                "current_password": PASSWORD, "new_password": "fresh-pass-9",
                "password_confirm": "fresh-pass-9"})
        finally:
            changed.set()

    def wrong_login():
        return attacker.post("/login", data={"login": "li@example.edu.cn",
                                             "password": "wrong-guess-1"})

    changed_response, failed = run_together(change, wrong_login)
    assert changed_response.status_code == 303 and failed.status_code == 422
    old = app.test_client().post("/login", data={"login": "li@example.edu.cn", "password": PASSWORD})
    assert old.status_code == 422
    assert thief.get("/account/").status_code == 302
    assert "李四" in text(owner.get("/account/"))
    sign_in(app.test_client(), "li@example.edu.cn", "fresh-pass-9")


def test_concurrent_wrong_passwords_all_count(app, student):
    """16 wrong passwords at once: each one counts, so the owner's address is throttled."""
    clients = [app.test_client() for _ in range(16)]
    responses = run_together(*[
        (lambda c=c: c.post("/login", data={"login": "li@example.edu.cn", "password": "wrong-123"}))
        for c in clients])
    assert [r.status_code for r in responses] == [422] * 16
    right = app.test_client().post("/login", data={"login": "li@example.edu.cn", "password": PASSWORD})
    assert right.status_code == 422 and "已锁定" in text(right)


def _pending_appeal():
    return Appeal.create(reference="A202401010-0001", real_name="李四", id_type="居民身份证",
                         id_number="11010519491231002X", contact_email="li@example.com",
                         photo_path="appeals/x.png")


@pytest.mark.parametrize("decisions", [(True, True), (True, False)])
def test_an_appeal_decided_twice_at_once_is_decided_once(app, student, db, outbox, decisions):
    appeal_id = _pending_appeal().id
    postman = app.extensions["postman"]

    def decide(approve):
        def job():
            with app.app_context(), models.db.connection_context():
                appeal = Appeal.get_by_id(appeal_id)
                return appeals.decide(appeal, approve, "" if approve else "材料不足",
                                      actor="registrar", postman=postman)
        return job

    results = run_together(*(decide(approve) for approve in decisions))
    errors = [r for r in results if isinstance(r, Exception)]
    assert len(errors) == 1 and isinstance(errors[0], appeals.AppealError), results
    winner = next(r for r in results if not isinstance(r, Exception))
    assert Appeal.get_by_id(appeal_id).status == winner.status
    decided = AuditEntry.select().where(AuditEntry.action.in_(["appeal.approved", "appeal.rejected"]))
    assert decided.count() == 1
    holder = Account.get_by_id(student.id)
    released = AuditEntry.select().where(AuditEntry.action == "account.id_released").count()
    assert holder.session_version == student.session_version + released
    assert len([m for m in outbox.messages() if m["to"] == "li@example.com"]) == 1


def test_a_correction_decided_twice_at_once_is_decided_once(app, student, db, make_record):
    record = make_record("diploma", account=student.id)
    correction = CorrectionRequest.create(
        account=student, kind="diploma", record_id=record.id, field="major",
        current_value="汉语言文学", proposed_value="英语", reason="证书为英语专业",
        pending_key=f"diploma:{record.id}:major")
    postman = app.extensions["postman"]

    def decide(approve):
        def job():
            with app.app_context(), models.db.connection_context():
                item = CorrectionRequest.get_by_id(correction.id)
                return corrections.decide(item, approve, "" if approve else "不符",
                                          actor="registrar", postman=postman)
        return job

    results = run_together(decide(False), decide(True))
    errors = [r for r in results if isinstance(r, Exception)]
    assert len(errors) == 1 and isinstance(errors[0], corrections.CorrectionError), results
    winner = next(r for r in results if not isinstance(r, Exception))
    stored = CorrectionRequest.get_by_id(correction.id)
    assert stored.status == winner.status
    major = type(record).get_by_id(record.id).major
    assert major == ("英语" if winner.status == "approved" else "汉语言文学")


@pytest.mark.parametrize("how", ["role", "disable"])
def test_two_admins_demoting_each_other_at_once_leave_one_admin(app, db, how):
    """The last enabled 管理员 stays: the rule is checked inside the write transaction."""
    from tests.factories import signed_in_staff
    clients = {name: signed_in_staff(app, name, Account.ADMIN) for name in ("alpha", "beta")}
    ids = {name: Account.get(Account.username == name).id for name in clients}

    def against(actor, target):
        path, data = ((f"/admin/staff/{ids[target]}/role", {"role": "viewer"}) if how == "role"
                      else (f"/admin/staff/{ids[target]}/disable", {"reason": "互相停用"}))
        return lambda: clients[actor].post(path, data=data)

    results = run_together(against("alpha", "beta"), against("beta", "alpha"))
    codes = sorted(r.status_code for r in results)
    # The loser's request either overlapped the winner's (the rule inside the write
    # transaction answers 422) or started after it: then the loser is no longer an
    # enabled 管理员 at all (disabled: sent to log in; demoted: 403).
    late = 302 if how == "disable" else 403
    assert codes in ([303, 422], sorted([303, late])), results
    if 422 in codes:
        assert "已不是启用中的管理员" in text(results[[r.status_code for r in results].index(422)])
    admins = Account.select().where(Account.role == Account.ADMIN, Account.disabled_at.is_null())
    assert admins.count() == 1
    action = "staff.role_changed" if how == "role" else "account.disabled"
    assert AuditEntry.select().where(AuditEntry.action == action).count() == 1
