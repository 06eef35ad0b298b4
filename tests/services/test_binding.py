"""services.binding: automatic and certificate binding, with many vectors."""
import pytest

from models import AuditEntry, BindAttempt, BindRequest, Degree, Diploma, Enrollment, Record
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
    assert len(binding.auto_bind(account, since_year=SINCE)) == 5
    assert Enrollment.get().bound_by == Record.AUTO and Enrollment.get().account_id == account.id
    assert len(binding.auto_bind(account, since_year=SINCE)) == 0


def test_auto_bind_skips_other_names_other_ids_and_bound_records(db, account, make_account,
                                                                make_record):
    make_record("diploma", name="张叁")
    make_record("diploma", id_number="440524188001010014")
    other = make_account(username="x@example.edu.cn", id_number="440524188001010014")
    make_record("diploma", account=other.id)
    assert len(binding.auto_bind(account, since_year=SINCE)) == 0


def test_auto_bind_treats_middle_dot_variants_as_the_same_name(db, make_account, make_record):
    account = make_account(real_name="买买提·艾力", id_number="11010519491231002X")
    make_record("enrollment", name="买买提・艾力")
    assert len(binding.auto_bind(account, since_year=SINCE)) == 1


def test_graduates_before_the_eligibility_year_are_never_offered(db, account, make_record):
    make_record("diploma", graduation_date="1990-07-01", certificate_number="00123")
    make_record("degree", award_date="1990-07-01")
    make_record("diploma", graduation_date="1991-07-01", certificate_number="00124")
    assert len(binding.auto_bind(account, since_year=SINCE)) == 1
    assert Diploma.get(Diploma.certificate_number == "00124").account_id == account.id


def test_records_stored_from_legacy_ids_bind_to_the_18_digit_account(db, make_account, make_record):
    from services import identity
    make_record("diploma", id_number=identity.normalize_resident_id("110105491231002"))
    account = make_account(id_number="11010519491231002X", real_name="张三")
    assert len(binding.auto_bind(account, since_year=SINCE)) == 1


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
    # The year typed is before the eligibility year: said plainly (it follows from what
    # was typed), nothing is looked up and no attempt is counted; the record stays unbound.
    answer = refused(app, account, "111", 1989, "示范学院")
    assert "1989 早于 1991 年" in answer and "不在网上查询范围内" in answer
    assert Diploma.get().account_id is None
    assert BindAttempt.select().count() == 0


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


# --- how much more than name + ID number (BIND_MODE) ------------------------------


def number(app, account, typed, mode=binding.NUMBER, **config):
    """check_number as the view calls it; a refusal comes back as its message."""
    with app.test_request_context():
        try:
            return binding.check_number(account, typed, since_year=SINCE, mode=mode,
                                        config={**app.config, **config},
                                        postman=app.extensions["postman"])
        except BindingError as error:
            return str(error)


def test_an_unknown_mode_holds_records_for_approval():
    assert binding.mode_of("auto") == "auto" and binding.mode_of("number") == "number"
    assert binding.mode_of("aproval") == binding.mode_of(None) == binding.APPROVAL


@pytest.mark.parametrize("mode", [binding.NUMBER, binding.APPROVAL])
def test_stricter_modes_bind_nothing_by_name_and_id_alone(db, account, make_record, mode):
    make_record("enrollment")
    make_record("diploma")
    assert binding.auto_bind(account, since_year=SINCE, mode=mode) == []
    assert Enrollment.get().account_id is None and Diploma.get().account_id is None
    state = binding.hold_of(account, since_year=SINCE, mode=mode).state
    assert state == ("number" if mode == binding.NUMBER else "pending")
    assert BindRequest.select().count() == (1 if mode == binding.APPROVAL else 0)
    # Nothing waiting: nothing to say, nothing held.
    assert binding.hold_of(account, since_year=SINCE, mode=binding.AUTO).state == ""


@pytest.mark.parametrize("typed", ["S0001", "s0001", "Ｓ0001", " S0001 ", "NO.109991201905000002",
                                   "109991201905000002", "1099942019000003"])
def test_a_student_or_certificate_number_binds_every_waiting_record(app, db, account, make_record,
                                                                   outbox, typed):
    make_record("enrollment", student_number="S0001")
    make_record("diploma", certificate_number="109991201905000002")
    make_record("degree", certificate_number="1099942019000003")
    make_record("aid")
    bound = number(app, account, typed)
    assert sorted(type(r).__name__ for r in bound) == ["Aid", "Degree", "Diploma", "Enrollment"]
    assert {r.bound_by for r in Enrollment.select()} == {Record.NUMBER}
    assert binding.confirmed(account)
    assert BindAttempt.get().success
    assert AuditEntry.get(AuditEntry.action == "records.bound_by_number").account_id == account.id
    sms, email = outbox.messages()[-2:]
    assert sms["channel"] == "sms" and sms["to"] == account.phone
    assert email["channel"] == "email" and email["to"] == "zhang@example.edu.cn"
    assert "学号或证书编号验证通过，以下 4 条记录已绑定" in sms["body"]
    assert "学历：示范大学 · 本科 · 汉语言文学 · 毕业 · 2019-07-01" in sms["body"]
    assert "11010519491231002X" not in sms["body"] + email["body"]


def test_once_confirmed_later_records_bind_at_login(app, db, account, make_record, outbox):
    make_record("enrollment", student_number="S0001")
    number(app, account, "S0001")
    make_record("diploma")
    bound = binding.auto_bind(account, since_year=SINCE, mode=binding.NUMBER,
                              postman=app.extensions["postman"])
    assert [type(r) for r in bound] == [Diploma]
    assert "按你的姓名和证件号码，以下 1 条记录已绑定" in outbox.last()["body"]


def test_a_wrong_number_is_refused_and_counted(app, db, account, make_record, make_account):
    make_record("enrollment", student_number="S0001")
    other = make_account(real_name="李四", id_number="440524188001010014")
    make_record("enrollment", name="李四", id_number="440524188001010014", student_number="S0009")
    assert "不符" in number(app, account, "S0009")   # someone else's number fits nothing
    assert "不符" in number(app, account, "S0002")
    assert "不符" in number(app, account, "NO.")       # not a certificate number either
    assert [a.success for a in BindAttempt.select()] == [False, False, False]
    assert Enrollment.get(Enrollment.student_number == "S0001").account_id is None
    assert not binding.confirmed(account) and not binding.confirmed(other)


def test_number_checks_share_the_daily_limit_with_certificate_binding(app, db, account,
                                                                     make_record, old_diploma):
    make_record("enrollment", student_number="S0001")
    for _ in range(7):
        refused(app, account, "1", 1994, "示范学院")
    for _ in range(3):
        assert "不符" in number(app, account, "S0002")
    assert "次数已用完" in number(app, account, "S0001")
    assert Enrollment.get().account_id is None and BindAttempt.select().count() == 10
    assert len(number(app, account, "S0001", BIND_ATTEMPTS_PER_DAY=11)) == 1


def test_the_number_check_needs_its_mode_and_something_waiting(app, db, account, make_record):
    assert "没有等待验证的记录" in number(app, account, "S0001")
    make_record("enrollment", student_number="S0001")
    assert "没有开启" in number(app, account, "S0001", mode=binding.AUTO)
    assert BindAttempt.select().count() == 0


def decide(app, request, approve, reason="", actor="office"):
    with app.test_request_context():
        try:
            return binding.decide(BindRequest.get_by_id(request.id), approve, reason, actor=actor,
                                  since_year=SINCE, postman=app.extensions["postman"])
        except BindingError as error:
            return str(error)


def test_approval_holds_then_the_registrar_approves(app, db, account, make_record, outbox):
    make_record("enrollment")
    make_record("degree")
    binding.auto_bind(account, since_year=SINCE, mode=binding.APPROVAL)
    binding.auto_bind(account, since_year=SINCE, mode=binding.APPROVAL)  # the next login
    request = BindRequest.get()
    assert BindRequest.select().count() == 1 and request.pending_key == str(account.id)
    bound = decide(app, request, True)
    assert len(bound) == 2 and {r.bound_by for r in bound} == {Record.APPROVAL}
    request = BindRequest.get_by_id(request.id)
    assert (request.status, request.settled_by, request.decided_by) == ("approved", "approval",
                                                                        "office")
    assert request.pending_key is None
    assert AuditEntry.get(AuditEntry.action == "bind_request.approved").actor == "office"
    assert "经学籍管理部门确认，以下 2 条记录已绑定" in outbox.last()["body"]
    assert "已经处理过了" in decide(app, request, True)
    assert [r.account_id for r in Degree.select()] == [account.id]


def test_a_declined_request_waits_for_the_student_to_ask_again(app, db, account, make_record,
                                                               outbox):
    make_record("enrollment")
    binding.auto_bind(account, since_year=SINCE, mode=binding.APPROVAL)
    request = BindRequest.get()
    assert "必须写明理由" in decide(app, request, False, "  ")
    assert decide(app, request, False, "请携带身份证到学籍科核实") == []
    assert "请携带身份证到学籍科核实" in outbox.last()["body"]
    hold = binding.hold_of(account, since_year=SINCE, mode=binding.APPROVAL)
    assert hold.state == "rejected" and hold.request.reason == "请携带身份证到学籍科核实"
    binding.auto_bind(account, since_year=SINCE, mode=binding.APPROVAL)  # no new request by itself
    assert BindRequest.select().count() == 1 and Enrollment.get().account_id is None
    binding.ask_again(account, since_year=SINCE, mode=binding.APPROVAL)
    assert binding.hold_of(account, since_year=SINCE, mode=binding.APPROVAL).state == "pending"
    with pytest.raises(BindingError):
        binding.ask_again(account, since_year=SINCE, mode=binding.APPROVAL)


def test_the_number_check_also_settles_a_pending_request(app, db, account, make_record):
    make_record("enrollment", student_number="S0001")
    binding.auto_bind(account, since_year=SINCE, mode=binding.APPROVAL)
    assert len(number(app, account, "S0001")) == 1
    request = BindRequest.get()
    assert (request.status, request.settled_by, request.pending_key) == ("approved", "number", None)


def test_an_appeal_release_closes_the_pending_request(db, account, make_record):
    make_record("enrollment")
    binding.auto_bind(account, since_year=SINCE, mode=binding.APPROVAL)
    binding.release(account, account.id_number)
    assert BindRequest.get().status == BindRequest.REJECTED and BindRequest.get().pending_key is None


def test_binding_by_certificate_tells_the_student(app, db, account, old_diploma, outbox):
    with app.test_request_context():
        binding.bind_by_certificate(account, "diploma", "982456", 1994, "示范学院",
                                    config=app.config, postman=app.extensions["postman"])
    assert "按你填写的证书编号，以下 1 条记录已绑定" in outbox.last()["body"]
    assert "示范学院 · 本科 · 汉语言文学 · 毕业 · 1994-07-01" in outbox.last()["body"]


def test_a_long_list_is_cut_in_the_notice(app, db, account, make_record, outbox):
    for n in range(12):
        make_record("aid", program=f"助学金{n}")
    binding.auto_bind(account, since_year=SINCE, postman=app.extensions["postman"])
    body = outbox.last()["body"]
    assert "以下 12 条记录" in body and body.count("资助：") == 10 and "另有 2 条" in body
