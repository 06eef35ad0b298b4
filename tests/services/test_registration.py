"""services.registration: the wizard's own rules around the shared code step."""
import pytest

from models import Account, AuditEntry, Challenge
from services import accounts, challenges, registration
from services.accounts import AccountError
from services.errors import ServiceError

CLEAN = dict(username="wang@example.edu.cn", real_name="王𠮷", id_type="居民身份证",
             id_number="11010519491231002X", phone="+8613812345678")




def at_code_step():
    draft = registration.accept_notice(None)
    registration.save_identity(draft, CLEAN, "good-pass-42")
    return draft


def at_confirm(postman, code):
    draft = at_code_step()
    challenges.send_code(draft, challenges.SMS, postman=postman, ip="")
    challenges.check_code(draft, code)
    return draft


def test_consent_starts_a_draft_at_identity(db):
    draft = registration.accept_notice(None)
    assert draft.purpose == "register" and draft.step == "identity"
    assert registration.find(draft.token).id == draft.id
    assert registration.reachable(draft, "identity") and not registration.reachable(draft, "code")
    assert registration.reachable(None, "notice") and not registration.reachable(None, "identity")


def test_consent_again_does_not_move_a_draft_back(db):
    draft = at_code_step()
    assert registration.accept_notice(draft).step == "code"


def test_identity_is_kept_encrypted_with_the_password_hashed(db):
    draft = at_code_step()
    stored = Challenge.get_by_id(draft.id)
    assert stored.step == "code" and stored.payload == CLEAN
    assert accounts.check_password(stored.password_hash, "good-pass-42")
    assert registration.identity_typed(stored) == {**CLEAN, "phone_region": "CN"}
    assert registration.identity_typed(None) == {}


def test_taken_username_and_id_number_are_both_reported(db, make_account):
    make_account(username="wang@example.edu.cn", id_number="11010519491231002X")
    draft = registration.accept_notice(None)
    with pytest.raises(registration.IdentityTaken) as taken:
        registration.save_identity(draft, CLEAN, "good-pass-42")
    assert set(taken.value.taken) == {"username", "id_number"}
    assert isinstance(taken.value, ServiceError)
    assert Challenge.get_by_id(draft.id).step == "identity"


def test_confirm_needs_the_code_first(db):
    draft = at_code_step()
    with pytest.raises(ServiceError, match="请先完成前面的步骤"):
        registration.confirm(draft, ip="")
    assert Account.select().count() == 0


def test_confirm_creates_the_account_and_ends_the_draft(db, postman, fixed_code):
    draft = at_confirm(postman, fixed_code)
    account = registration.confirm(draft, ip="10.0.0.1")
    assert (account.username, account.id_number, account.phone) == (
        "wang@example.edu.cn", "11010519491231002X", "+8613812345678")
    assert accounts.check_password(account.password_hash, "good-pass-42")
    assert AuditEntry.get().action == "account.registered"
    assert registration.find(draft.token) is None
    assert Challenge.get_by_id(draft.id).payload == {}


def test_losing_a_race_goes_back_to_identity(db, postman, make_account, fixed_code):
    draft = at_confirm(postman, fixed_code)
    make_account(username="first@example.edu.cn", id_number="11010519491231002X")
    with pytest.raises(AccountError, match="该证件号码已被注册") as lost:
        registration.confirm(draft, ip="")
    assert lost.value.field == "id_number"
    back = Challenge.get_by_id(draft.id)
    assert back.step == "identity" and back.verified_at is None and back.payload == CLEAN


def test_back_to_identity_means_a_new_code(db, postman, fixed_code):
    draft = at_confirm(postman, fixed_code)
    registration.back_to_identity(draft)
    registration.save_identity(draft, CLEAN, "good-pass-42")
    with pytest.raises(ServiceError):
        registration.confirm(draft, ip="")
