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
    assert outbox.last()["to"] == "13900001111" and "改为本号码" in outbox.last()["body"]
    assert accounts.phone_change(challenge.token, student).id == challenge.id
    assert challenges.code_step(challenge).masked_phone == "139****1111"
    assert Account.get_by_id(student.id).phone == "13812345678"


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
    assert accounts.finish_phone_change(challenge, postman=postman, ip="10.0.0.1") == "139****1111"
    assert Account.get_by_id(student.id).phone == "13900001111"
    assert {m["to"] for m in outbox.messages()[-2:]} == {"13812345678", "13900001111"}
    entry = AuditEntry.get(AuditEntry.action == "account.phone_changed")
    assert entry.detail == "138****5678 -> 139****1111" and entry.ip == "10.0.0.1"
    assert accounts.phone_change(challenge.token, student) is None


def test_profile_is_masked(db, student):
    profile = accounts.profile(student)
    assert (profile.masked_id, profile.masked_phone) == ("1101**********002X", "138****5678")


def test_login_history_counts_failures_since_the_previous_login(db, student):
    start = utcnow()
    for minute, success in enumerate((False, True, False, False, True)):
        LoginEvent.create(account=student, ip="", user_agent="", success=success,
                          at=start + datetime.timedelta(minutes=minute))
    history = accounts.login_history(student)
    assert len(history.recent) == 2 and len(history.failures) == 2
