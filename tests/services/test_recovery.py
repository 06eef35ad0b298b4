"""services.recovery: 找回用户名 and 忘记密码 over the shared code flow."""
import pytest

from models import Account, AuditEntry, Challenge, LoginThrottle, utcnow
from services import accounts, challenges, recovery
from services.codes import CodeError
from services.errors import ServiceError




@pytest.fixture
def student(make_account):
    return make_account(username="zhao@example.edu.cn", real_name="赵六",
                        id_number="11010519491231002X", phone="13812345678")


def verified(challenge, postman, code):
    challenges.send_code(challenge, challenges.SMS, postman=postman, ip="")
    challenges.check_code(challenge, code)
    return challenge


def test_find_username_matches_id_and_name(db, student):
    assert recovery.start_find_username("赵六", "11010519491231002X").account.id == student.id
    assert recovery.start_find_username("钱七", "11010519491231002X").account is None
    assert recovery.start_find_username("赵六", "440524188001010014").account is None
    assert Challenge.select().count() == 3         # the same bookkeeping either way


def test_registrars_are_not_found_by_id(db):
    accounts.create_or_reset_admin("office", "Desk-pass-2026")
    Account.update(real_name="赵六", id_number="11010519491231002X").execute()
    assert recovery.start_find_username("赵六", "11010519491231002X").account is None


@pytest.mark.parametrize("login", ["zhao@example.edu.cn", "13812345678", "11010519491231002X"])
def test_password_reset_finds_the_account_by_any_login(db, student, login):
    assert recovery.start_password_reset(login).account.id == student.id
    assert recovery.start_password_reset("nobody@example.edu.cn").account is None


def test_unknown_details_never_pass(db, outbox, fixed_code, postman):
    challenge = recovery.start_find_username("钱七", "440524188001010014")
    challenges.send_code(challenge, challenges.SMS, postman=postman, ip="")
    with pytest.raises(CodeError, match="校验码不正确"):
        challenges.check_code(challenge, fixed_code)
    with pytest.raises(ServiceError, match="请先完成校验码验证"):
        recovery.finish_find_username(challenge, postman=postman, ip="")
    assert outbox.messages() == []


def test_find_username_sends_it_in_full_and_shows_it_masked(db, student, outbox, fixed_code,
                                                            postman):
    challenge = verified(recovery.start_find_username("赵六", "11010519491231002X"),
                         postman, fixed_code)
    assert recovery.finish_find_username(challenge, postman=postman, ip="") == "z***@example.edu.cn"
    assert outbox.last()["to"] == "+8613812345678" and "zhao@example.edu.cn" in outbox.last()["body"]
    assert recovery.find("username", challenge.token) is None
    entry = AuditEntry.get(AuditEntry.action == "account.username_recovered")
    assert entry.account_id == student.id


def test_password_reset_needs_the_code(db, student, postman):
    challenge = recovery.start_password_reset("zhao@example.edu.cn")
    with pytest.raises(ServiceError, match="请先完成校验码验证"):
        recovery.finish_password_reset(challenge, "brand-new-77", postman=postman, ip="")


def test_password_reset_sets_the_password_ends_sessions_lifts_the_lock(db, student, outbox,
                                                                      fixed_code, postman):
    LoginThrottle.create(key="paused-from-one-address", account=student.id, failures=5,
                         locked_until=utcnow().replace(year=2099))
    challenge = verified(recovery.start_password_reset("13812345678"), postman, fixed_code)
    assert recovery.find("password", challenge.token).step == "new_password"
    with pytest.raises(ServiceError, match="至少 8 位") as weak:
        recovery.finish_password_reset(challenge, "short", postman=postman, ip="")
    assert weak.value.field == "password"
    recovery.finish_password_reset(challenge, "brand-new-77", postman=postman, ip="")
    account = Account.get_by_id(student.id)
    assert accounts.check_password(account.password_hash, "brand-new-77")
    assert account.session_version == student.session_version + 1
    assert not LoginThrottle.select().where(LoginThrottle.account == student.id).exists()
    assert "重设" in outbox.last()["body"] and "brand-new-77" not in outbox.last()["body"]
    assert recovery.find("password", challenge.token) is None
