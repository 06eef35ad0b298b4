"""公开查询 (services.public_checks): find by number + name, log, the owner's list, the switch."""
import datetime

import pytest

from models import Account, AuditEntry, Diploma, PublicCheck, utcnow
from services import identity, public_checks, values

SCHOOL = values.School("示范大学", "Demonstration University")
NUMBER = "109991201905000001"


@pytest.fixture
def ctx(app, db):
    """force_locale (the English of values) wants an app context."""
    with app.app_context():
        yield


@pytest.fixture
def diploma(ctx, make_record):
    return make_record("diploma", name="买买提·艾力", certificate_number=NUMBER)


@pytest.fixture
def old_diploma(ctx, make_record):
    """A 1998 diploma with both pre-2001 numbers."""
    return make_record("diploma", name="李四", certificate_number="NO.00298959",
                       school_number="982456", graduation_date="1998-07-01")


def _bind(record, account, at=None):
    Diploma.update(account=account, bound_by="auto", bound_at=at or utcnow()).where(
        Diploma.id == record.id).execute()


def _find(number, name, ip="203.0.113.9"):
    return public_checks.find(number, name, school=SCHOOL, ip=ip)


def test_found_shows_the_five_fields_only(diploma):
    found = _find(NUMBER, "买买提·艾力")
    assert [item["key"] for item in found.fields] == [
        "school_name", "level", "major", "graduation_date", "completion"]
    shown = {item["key"]: (item["value"], item["value_en"]) for item in found.fields}
    assert shown["school_name"] == ("示范大学", "Demonstration University")
    assert shown["level"][0] == "本科" and shown["completion"] == ("毕业", "Graduated")
    assert shown["graduation_date"][0] == "2019-07-01"
    check = PublicCheck.get()
    assert check.diploma_id == diploma.id and check.ip == "203.0.113.9"


@pytest.mark.parametrize("typed", ["NO.00298959", "No.00298959", "no 298959", "00298959",
                                   "298959", "２９８９５９", "NO.0029 8959", "982456",
                                   "No.0982456", "９８２４５６"])
def test_either_pre_2001_number_in_any_typed_form(old_diploma, typed):
    assert _find(typed, "李四") is not None
    assert PublicCheck.get().diploma_id == old_diploma.id


@pytest.mark.parametrize("typed", ["买买提·艾力", "买买提•艾力", "买买提・艾力", " 买买提 · 艾力 ",
                                   "买买提．艾力".replace("．", "\u30fb")])
def test_name_compared_after_normalisation(diploma, typed):
    assert _find(NUMBER, typed) is not None


def test_full_width_certificate_number(diploma):
    assert _find("１０９９９１２０１９０５０００００１", "买买提·艾力") is not None


@pytest.mark.parametrize("number, name", [
    (NUMBER, "买买提"),            # wrong name
    ("109991201905000002", "买买提·艾力"),  # unknown number
])
def test_not_found_is_none_and_not_logged(diploma, number, name):
    assert _find(number, name) is None
    assert PublicCheck.select().count() == 0


def test_withdrawn_record_is_not_found(diploma):
    Diploma.update(withdrawn_at=utcnow(), withdrawn_reason="x").where(
        Diploma.id == diploma.id).execute()
    assert _find(NUMBER, "买买提·艾力") is None
    assert PublicCheck.select().count() == 0


def test_owner_switched_off_means_not_found(diploma, make_account):
    owner = make_account(real_name="买买提·艾力")
    _bind(diploma, owner)
    assert public_checks.set_allowed(owner, False, ip="10.0.0.1") is True
    assert _find(NUMBER, "买买提·艾力") is None
    assert PublicCheck.select().count() == 0
    public_checks.set_allowed(owner, True)
    assert _find(NUMBER, "买买提·艾力") is not None


def test_malformed_number_is_a_format_problem(ctx):
    with pytest.raises(identity.IdentityError):
        _find("证书", "张三")


def test_unbound_diploma_is_found_and_logged_for_nobody(diploma, make_account):
    other = make_account(real_name="张三")
    assert _find(NUMBER, "买买提·艾力") is not None
    assert PublicCheck.select().count() == 1
    assert public_checks.for_owner(other) == []


def test_owner_sees_checks_since_binding_masked(diploma, make_account):
    owner = make_account(real_name="买买提·艾力")
    stranger = make_account(real_name="王五", id_number="440524188001010014")
    _find(NUMBER, "买买提·艾力", ip="198.51.100.23")        # before binding: not shown
    _bind(diploma, owner, at=utcnow() + datetime.timedelta(seconds=1))
    PublicCheck.create(diploma=diploma, ip="2001:db8:85a3::8a2e:370:7334",
                       at=utcnow() + datetime.timedelta(seconds=2))
    PublicCheck.create(diploma=diploma, ip="203.0.113.77",
                       at=utcnow() + datetime.timedelta(seconds=3))
    checks = public_checks.for_owner(owner)
    assert [check.ip for check in checks] == ["203.0.113.*", "2001:db8:85a3:*"]
    assert checks[0].certificate == NUMBER and checks[0].major == "汉语言文学"
    assert public_checks.for_owner(stranger) == []


def test_withdrawn_diploma_checks_leave_the_owner_list(diploma, make_account):
    owner = make_account(real_name="买买提·艾力")
    _bind(diploma, owner, at=utcnow() - datetime.timedelta(minutes=1))
    _find(NUMBER, "买买提·艾力")
    assert len(public_checks.for_owner(owner)) == 1
    Diploma.update(withdrawn_at=utcnow()).where(Diploma.id == diploma.id).execute()
    assert public_checks.for_owner(owner) == []


@pytest.mark.parametrize("ip, shown", [("203.0.113.9", "203.0.113.*"),
                                       ("2001:db8::1", "2001:db8:0:*"),
                                       ("", ""), ("not an address", "")])
def test_masked_ip(ip, shown):
    assert public_checks.masked_ip(ip) == shown


def test_switch_is_audited_once_per_change(ctx, make_account):
    owner = make_account()
    assert owner.public_checks is True
    assert public_checks.set_allowed(owner, True) is False
    assert public_checks.set_allowed(owner, False, ip="10.0.0.1") is True
    assert public_checks.set_allowed(owner, False) is False
    assert Account.get_by_id(owner.id).public_checks is False
    assert public_checks.set_allowed(owner, True) is True
    actions = [entry.action for entry in AuditEntry.select().where(
        AuditEntry.action.startswith("account.public_checks")).order_by(AuditEntry.id)]
    assert actions == ["account.public_checks_off", "account.public_checks_on"]
