"""The real 证件类型 (issue 11) across the services: imports, matching by number
whatever the type, birth dates only from numbers that carry them, and corrections
of the ID pair (证件类型 + 证件号码)."""
import pytest

from models import CorrectionRequest, Diploma, Enrollment
from services import accounts, binding, corrections, search
from services.columns import KINDS
from services.corrections import CorrectionError
from tests.factories import EXAMPLE_ID, csv_bytes, enrollment, rejected

RESIDENCE_PERMIT = "810000199001010019"      # Hong Kong, born 1990-01-01, 男


# --- imports ------------------------------------------------------------------------

def test_an_import_row_may_carry_a_passport(run):
    result = run("enrollment", csv_bytes([
        enrollment(证件类型="护照", 证件号码="e1234 5678", 出生日期="1995-05-05", 性别="女"),
        enrollment(学号="2019002", 证件类型="港澳居民来往内地通行证", 证件号码="h12345678"),
        enrollment(学号="2019003", 证件类型="港澳台居民居住证", 证件号码=RESIDENCE_PERMIT,
                   出生日期="1990-01-01", 性别="男"),
        enrollment(学号="2019004", 证件类型="其他", 证件号码="X1234567"),
    ]))
    assert result.created == 4
    stored = Enrollment.get(Enrollment.student_number == "2019001")
    # A passport says nothing about birth date or sex: neither is checked against it.
    assert (stored.id_type, stored.id_number) == ("护照", "E12345678")
    assert Enrollment.get(Enrollment.student_number == "2019002").id_number == "H12345678"
    assert Enrollment.get(Enrollment.id_number.matches("E12345678")).student_number == "2019001"


def test_an_import_checks_each_type_by_its_own_rule(run):
    errors = rejected(run, "enrollment", csv_bytes([
        enrollment(证件类型="护照", 证件号码="ABCDEFGH"),
        enrollment(学号="2019002", 证件类型="港澳台居民居住证", 证件号码=RESIDENCE_PERMIT,
                   出生日期="1990-01-02", 性别="女"),
        enrollment(学号="2019003", 证件类型="驾驶证", 证件号码="E12345678"),
    ]))
    assert errors[0].startswith("第 2 行「证件号码」：") and "护照号码" in errors[0]
    assert any(e.startswith("第 3 行「出生日期」：") and "1990-01-01" in e for e in errors)
    assert any(e.startswith("第 3 行「性别」：") for e in errors)
    assert any(e.startswith("第 4 行「证件类型」：") and "港澳台居民居住证" in e for e in errors)
    assert Enrollment.select().count() == 0


# --- matching by number, whatever the type ---------------------------------------------

def test_a_record_of_other_binds_to_a_passport_account(app, make_account, make_record, db):
    record = make_record("diploma", name="John Smith", id_type="其他", id_number="E12345678")
    account = make_account(real_name="john smith", id_type="护照", id_number="E12345678")
    assert binding.matches_account(record, account)
    assert [r.id for r in binding.waiting(account, 1991)] == [record.id]


def test_birth_dates_come_only_from_numbers_that_carry_them(make_account, make_record, db):
    record = make_record("diploma", name="陈大文", id_number=None, birth_date="1990-01-01")
    permit = make_account(real_name="陈大文", id_type="港澳台居民居住证", id_number=RESIDENCE_PERMIT)
    assert binding.matches_account(record, permit)
    other_birth = make_record("diploma", name="陈大文", id_number=None, birth_date="1991-01-01")
    assert not binding.matches_account(other_birth, permit)
    # A passport number holds no birth date: the name decides, as for a record without one.
    passport = make_account(real_name="陈大文", id_type="护照", id_number="K12345678")
    assert binding.matches_account(other_birth, passport)


def test_look_ups_by_number_ignore_the_type(app, make_account, db):
    account = make_account(id_type="护照", id_number="E12345678")
    assert accounts.find_for_login("e1234 5678").id == account.id
    assert "E12345678" in search.lookups("e12345678").id_numbers
    assert accounts.id_number_taken("E12345678")


# --- corrections of the ID pair --------------------------------------------------------

@pytest.fixture
def owner(make_account):
    return make_account(username="zhang@example.edu.cn", real_name="张三")


@pytest.fixture
def record(owner, make_record):
    return make_record("diploma", account=owner.id)       # 居民身份证 EXAMPLE_ID


def file(app, owner, record, field, proposed):
    with app.test_request_context():
        return corrections.file_request(owner, KINDS["diploma"], record, field, proposed,
                                        "与护照一致", None,
                                        max_bytes=2 * 1024 * 1024)


def decide(app, request, approve=True):
    with app.test_request_context():
        return corrections.decide(request, approve, "", actor="office",
                                  postman=app.extensions["postman"])


def test_a_corrected_number_is_checked_by_the_records_type(app, owner, record):
    with pytest.raises(CorrectionError, match="居民身份证号码应为 18 位") as caught:
        file(app, owner, record, "id_number", "E12345678")
    assert caught.value.field == "proposed_value"
    with pytest.raises(CorrectionError, match="校验位"):
        file(app, owner, record, "id_number", "110105194912310021")
    with pytest.raises(CorrectionError, match="不是可选的值"):
        file(app, owner, record, "id_type", "驾驶证")
    assert CorrectionRequest.select().count() == 0


@pytest.mark.parametrize("first", ["id_type", "id_number"])
def test_both_halves_corrected_are_checked_and_adopted_as_a_pair(app, owner, record, first):
    type_request = file(app, owner, record, "id_type", "护照")
    # The number is checked by the corrected type while that correction waits.
    with pytest.raises(CorrectionError, match="护照号码"):
        file(app, owner, record, "id_number", "ABCDEFGH")
    number_request = file(app, owner, record, "id_number", "e1234 5678")
    assert number_request.proposed_value == "E12345678"
    # Either half can be adopted first: the other half's proposal makes the pair valid.
    order = [type_request, number_request] if first == "id_type" else [number_request, type_request]
    decide(app, order[0])
    decide(app, CorrectionRequest.get_by_id(order[1].id))
    stored = Diploma.get_by_id(record.id)
    assert (stored.id_type, stored.id_number) == ("护照", "E12345678")


def test_half_a_pair_that_fits_alone_is_adopted_alone(app, owner, record):
    file(app, owner, record, "id_type", "其他")
    # 其他 takes a resident ID's number as well; nothing waits on the number.
    number_request = file(app, owner, record, "id_number", "E12345678")
    decide(app, CorrectionRequest.get(CorrectionRequest.field == "id_type"))
    assert Diploma.get_by_id(record.id).id_number == EXAMPLE_ID
    decide(app, CorrectionRequest.get_by_id(number_request.id))
    assert Diploma.get_by_id(record.id).id_number == "E12345678"
