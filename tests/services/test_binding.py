"""services.binding: automatic and certificate binding, with many vectors."""
import pytest

from models import BindAttempt, Diploma, Enrollment, Record
from services import binding
from services.binding import BindingError

SINCE = 1991


@pytest.fixture
def account(make_account):
    return make_account(username="zhang@example.edu.cn", real_name="张三",
                        id_number="11010519491231002X")


def bind(app, account, number, year, school="示范大学", kind="diploma"):
    with app.test_request_context():
        return binding.bind_by_certificate(account, kind, number, year, school, config=app.config)


def refused(app, account, number, year, school, kind="diploma"):
    with app.test_request_context():
        with pytest.raises(BindingError) as caught:
            binding.bind_by_certificate(account, kind, number, year, school, config=app.config)
        return str(caught.value)


# --- automatic -------------------------------------------------------------

def test_auto_bind_takes_every_kind_with_matching_id_and_name(db, account, make_record):
    for kind in ("enrollment", "diploma", "degree", "admission", "aid"):
        make_record(kind)
    assert binding.auto_bind(account, since_year=SINCE) == 5
    assert Enrollment.get().bound_by == Record.AUTO and Enrollment.get().account_id == account.id
    assert binding.auto_bind(account, since_year=SINCE) == 0


def test_auto_bind_skips_other_names_other_ids_and_bound_records(db, account, make_account,
                                                                make_record):
    make_record("diploma", name="张叁")
    make_record("diploma", id_number="440524188001010014")
    other = make_account(username="x@example.edu.cn", id_number="440524188001010014")
    make_record("diploma", account=other.id)
    assert binding.auto_bind(account, since_year=SINCE) == 0


def test_auto_bind_treats_middle_dot_variants_as_the_same_name(db, make_account, make_record):
    account = make_account(real_name="买买提·艾力", id_number="11010519491231002X")
    make_record("enrollment", name="买买提・艾力")
    assert binding.auto_bind(account, since_year=SINCE) == 1


def test_graduates_before_the_eligibility_year_are_never_offered(db, account, make_record):
    make_record("diploma", graduation_date="1990-07-01", certificate_number="00123")
    make_record("degree", award_date="1990-07-01")
    make_record("diploma", graduation_date="1991-07-01", certificate_number="00124")
    assert binding.auto_bind(account, since_year=SINCE) == 1
    assert Diploma.get(Diploma.certificate_number == "00124").account_id == account.id


def test_records_stored_from_legacy_ids_bind_to_the_18_digit_account(db, make_account, make_record):
    from services import identity
    make_record("diploma", id_number=identity.normalize_resident_id("110105491231002"))
    account = make_account(id_number="11010519491231002X", real_name="张三")
    assert binding.auto_bind(account, since_year=SINCE) == 1


# --- by certificate ------------------------------------------------------------

@pytest.fixture
def old_diploma(make_record):
    """A 1994 diploma under a former name, with two numbers and no ID number."""
    return make_record("diploma", id_number=None, birth_date="1949-12-31",
                       graduation_date="1994-07-01", school_name="示范学院",
                       certificate_number="00298959", school_number="982456")


@pytest.mark.parametrize("typed", ["NO.00298959", "No.00298959", "NO 00298959", "00298959",
                                   "298959", "００２９８９５９", "no.298959", "982456", "0982456"])
def test_either_number_in_any_usual_form_binds(app, db, account, old_diploma, typed):
    record = bind(app, account, typed, 1994, "示范学院")
    assert record.id == old_diploma.id
    stored = Diploma.get_by_id(old_diploma.id)
    assert stored.account_id == account.id and stored.bound_by == Record.CERTIFICATE


@pytest.mark.parametrize("school", ["示范学院", "示范大学"])
def test_former_or_current_school_name_is_accepted(app, db, account, old_diploma, school):
    assert bind(app, account, "982456", 1994, school).id == old_diploma.id


def test_a_name_the_school_did_not_have_that_year_is_refused(app, db, account, old_diploma):
    assert "没有找到" in refused(app, account, "982456", 1994, "示范师范专科学校")


def test_unknown_school_names_are_refused(app, db, account, old_diploma):
    assert "从列表中选择" in refused(app, account, "982456", 1994, "别的大学")


@pytest.mark.parametrize("number, year", [
    ("982457", 1994),          # wrong number
    ("982456", 1995),          # wrong year
    ("2984959", 1994),         # near miss
])
def test_wrong_number_or_year_gets_the_neutral_answer(app, db, account, old_diploma, number, year):
    assert refused(app, account, number, year, "示范学院") == str(binding.NEUTRAL)


def test_name_mismatch_is_neutral(app, db, make_account, old_diploma):
    other = make_account(username="li@example.edu.cn", real_name="李四", id_number="440524188001010014")
    assert refused(app, other, "982456", 1994, "示范学院") == str(binding.NEUTRAL)


def test_birth_date_must_match_when_the_record_has_no_id(app, db, make_account, old_diploma):
    # Same name, but born 1880 according to the account's ID.
    other = make_account(username="z2@example.edu.cn", real_name="张三", id_number="440524188001010014")
    assert refused(app, other, "982456", 1994, "示范学院") == str(binding.NEUTRAL)


def test_id_must_match_when_the_record_has_one(app, db, make_account, make_record):
    make_record("diploma", graduation_date="1998-07-01", certificate_number="00777",
                id_number="440524188001010014")
    account = make_account(username="z3@example.edu.cn", real_name="张三", id_number="11010519491231002X")
    assert refused(app, account, "777", 1998, "示范学院") == str(binding.NEUTRAL)


def test_record_bound_elsewhere_is_refused_neutrally(app, db, account, make_account, old_diploma):
    other = make_account(username="o@example.edu.cn", real_name="张三", id_number="440524188001010014")
    Diploma.update(account=other.id).execute()
    assert refused(app, account, "982456", 1994, "示范学院") == str(binding.NEUTRAL)


def test_record_already_mine_says_so(app, db, account, old_diploma):
    bind(app, account, "982456", 1994, "示范学院")
    assert "已经在你的档案中" in refused(app, account, "982456", 1994, "示范学院")


def test_pre_eligibility_diplomas_never_bind_by_certificate(app, db, account, make_record):
    make_record("diploma", id_number=None, graduation_date="1989-07-01", school_name="示范学院",
                certificate_number="00111")
    assert refused(app, account, "111", 1989, "示范学院") == str(binding.NEUTRAL)


def test_degree_binds_by_its_certificate_number(app, db, account, make_record):
    degree = make_record("degree", id_number=None, award_date="1996-07-01",
                         certificate_number="0099912345")
    assert bind(app, account, "99912345", 1996, kind="degree").id == degree.id


def test_attempts_are_limited_per_day(app, db, account, old_diploma):
    for _ in range(10):
        refused(app, account, "1", 1994, "示范学院")
    assert BindAttempt.select().count() == 10
    assert "次数已用完" in refused(app, account, "982456", 1994, "示范学院")
    assert Diploma.get_by_id(old_diploma.id).account_id is None
