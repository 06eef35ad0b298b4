"""services.accounts: the phone change over the shared code flow, profile and login history."""
import datetime

import pytest

from models import Account, AuditEntry, Challenge, LoginEvent, utcnow
from services import accounts, challenges
from services.accounts import AccountError
from services.codes import CodeError
from tests.factories import PASSWORD




@pytest.fixture
def student(make_account):
    return make_account(username="qian@example.edu.cn", real_name="钱七",
                        id_number="11010519491231002X", phone="13812345678")


@pytest.mark.parametrize("password, new_phone, field", [
    ("wrong-1234", "13900001111", "current_password"),
    (PASSWORD, "13812345678", "new_phone"),
])
def test_phone_change_refusals(db, student, outbox, password, new_phone, field, postman):
    with pytest.raises(AccountError) as refused:
        accounts.start_phone_change(student, password, new_phone, postman=postman, ip="")
    assert refused.value.field == field and outbox.messages() == []


def test_phone_change_sends_the_code_to_the_new_number(db, student, outbox, postman):
    challenge = accounts.start_phone_change(student, PASSWORD, "13900001111",
                                            postman=postman, ip="")
    assert outbox.last()["to"] == "+8613900001111" and "改为本号码" in outbox.last()["body"]
    assert accounts.phone_change(challenge.token, student).id == challenge.id
    assert challenges.code_step(challenge).masked_phone == "+86 139****1111"
    assert Account.get_by_id(student.id).phone == "+8613812345678"


def test_no_challenge_is_left_when_the_code_cannot_go(db, student, outbox, postman):
    for _ in range(5):   # five codes this hour to the new number, from other challenges
        accounts.start_phone_change(student, PASSWORD, "13900001111", postman=postman, ip="")
    before = Challenge.select().count()
    with pytest.raises(CodeError, match="次数过多"):
        accounts.start_phone_change(student, PASSWORD, "13900001111", postman=postman, ip="")
    assert Challenge.select().count() == before


def test_another_accounts_phone_change_is_not_found(db, student, make_account, outbox, postman):
    challenge = accounts.start_phone_change(student, PASSWORD, "13900001111",
                                            postman=postman, ip="")
    other = make_account(username="sun@example.edu.cn", id_number="440524188001010014")
    assert accounts.phone_change(challenge.token, other) is None


def test_phone_changes_only_after_the_code_and_both_numbers_are_told(db, student, outbox,
                                                                     fixed_code, postman):
    challenge = accounts.start_phone_change(student, PASSWORD, "13900001111",
                                            postman=postman, ip="10.0.0.1")
    with pytest.raises(AccountError, match="请先完成校验码验证"):
        accounts.finish_phone_change(challenge, postman=postman, ip="")
    challenges.check_code(challenge, fixed_code)
    assert accounts.finish_phone_change(challenge, postman=postman, ip="10.0.0.1") == "+86 139****1111"
    assert Account.get_by_id(student.id).phone == "+8613900001111"
    assert {m["to"] for m in outbox.messages()[-2:]} == {"+8613812345678", "+8613900001111"}
    entry = AuditEntry.get(AuditEntry.action == "account.phone_changed")
    assert entry.detail == "+86 138****5678 -> +86 139****1111" and entry.ip == "10.0.0.1"
    assert accounts.phone_change(challenge.token, student) is None


def test_profile_is_masked(db, student):
    profile = accounts.profile(student)
    assert (profile.masked_id, profile.masked_phone) == ("1101**********002X", "+86 138****5678")


def test_login_history_counts_failures_since_the_previous_login(db, student):
    start = utcnow()
    for minute, success in enumerate((False, True, False, False, True)):
        LoginEvent.create(account=student, ip="", user_agent="", success=success,
                          at=start + datetime.timedelta(minutes=minute))
    history = accounts.login_history(student)
    assert len(history.recent) == 2 and len(history.failures) == 2


# --- what the school does to an account -------------------------------------------

def _audit(action):
    return list(AuditEntry.select().where(AuditEntry.action == action))


def test_disable_refuses_logins_after_the_right_password_only(db, student):
    accounts.disable(student, "  毕业离校，\n账号停用 ", actor="office", ip="10.0.0.9")
    stored = Account.get_by_id(student.id)
    assert stored.is_disabled and stored.disabled_reason == "毕业离校， 账号停用"
    assert stored.session_version == student.session_version + 1
    right = accounts.authenticate("qian@example.edu.cn", PASSWORD, ip="1.2.3.4", user_agent="t")
    assert not right.ok and right.disabled and right.disabled_reason == "毕业离校， 账号停用"
    wrong = accounts.authenticate("qian@example.edu.cn", "wrong-123", ip="1.2.3.4", user_agent="t")
    assert not wrong.ok and not wrong.disabled and wrong.locked_until is None
    [entry] = _audit("account.disabled")
    assert (entry.account_id, entry.actor, entry.ip) == (student.id, "office", "10.0.0.9")
    assert entry.changes["fields"]["state"] == ["enabled", "disabled"]
    assert entry.changes["fields"]["disabled_reason"] == ["", "毕业离校， 账号停用"]


def test_disable_needs_a_reason_and_happens_once(db, student):
    for reason in ("", "   ", "长" * 201):
        with pytest.raises(AccountError) as refused:
            accounts.disable(student, reason, actor="office")
        assert refused.value.field == "reason"
    accounts.disable(student, "冒用", actor="office")
    with pytest.raises(AccountError, match="已经停用"):
        accounts.disable(student, "again", actor="office")
    assert len(_audit("account.disabled")) == 1


def test_enable_lets_the_owner_back_in(db, student):
    with pytest.raises(AccountError, match="没有停用"):
        accounts.enable(student, actor="office")
    accounts.disable(student, "核查中", actor="office")
    accounts.enable(student, actor="office", ip="10.0.0.9")
    assert not Account.get_by_id(student.id).is_disabled
    assert accounts.authenticate("qian@example.edu.cn", PASSWORD, ip="1.2.3.4", user_agent="t").ok
    [entry] = _audit("account.enabled")
    assert entry.changes["fields"]["disabled_reason"] == ["核查中", ""]


def test_a_disabled_account_loses_its_sessions(db, student):
    token = accounts.start_login_session(student, ip="", user_agent="")
    assert accounts.load_for_session(student.get_id()) is not None
    accounts.disable(student, "冒用", actor="office")
    assert accounts.load_for_session(student.get_id()) is None
    # Even a cookie naming the new version: a disabled account loads for nobody.
    stored = Account.get_by_id(student.id)
    stored.login_token = accounts.start_login_session(stored, ip="", user_agent="")
    assert token != stored.login_token and accounts.load_for_session(stored.get_id()) is None


def test_end_sessions_ends_every_device(db, student):
    first = Account.get_by_id(student.id)
    accounts.start_login_session(first, ip="", user_agent="")
    second = Account.get_by_id(student.id)
    accounts.start_login_session(second, ip="", user_agent="")
    assert accounts.end_sessions(student, actor="office") == 2
    assert accounts.load_for_session(first.get_id()) is None
    assert accounts.load_for_session(second.get_id()) is None
    assert Account.get_by_id(student.id).session_version == student.session_version + 1
    assert _audit("account.sessions_ended")[0].detail == "2 ended"


def test_unlock_lifts_every_pause(db, student):
    for _ in range(accounts.MAX_FAILED_LOGINS):
        accounts.authenticate("qian@example.edu.cn", "wrong-123", ip="1.2.3.4", user_agent="t")
    state = accounts.access_state(student)
    assert state.paused_until is not None and state.failures == accounts.MAX_FAILED_LOGINS
    assert accounts.authenticate("qian@example.edu.cn", PASSWORD, ip="1.2.3.4",
                                 user_agent="t").locked_until
    assert accounts.unlock(student, actor="office") == 1
    assert accounts.access_state(student).paused_until is None
    assert accounts.authenticate("qian@example.edu.cn", PASSWORD, ip="1.2.3.4", user_agent="t").ok
    assert _audit("account.unlocked")[0].actor == "office"
