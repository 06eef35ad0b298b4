"""注销账号 (services.closing): what closing does at once, what purge erases later,
and the races (a report issued meanwhile, two closes at once)."""
import datetime
import threading

import pytest

from models import (Account, AuditEntry, BindRequest, Challenge, CorrectionRequest, Diploma,
                    Enrollment, LoginEvent, LoginSession, OneTimeCode, Report, StoredFile, utcnow)
from services import accounts, binding, challenges, closing, files, reports, retention
from services.errors import ServiceError
from tests.factories import (EXAMPLE_ID, PASSWORD, issue_report, minimal_pdf, run_together,
                             staff_account)


def fake_render(snapshot):
    return minimal_pdf()


@pytest.fixture
def student(db, make_account):
    return make_account(username="zhang@example.edu.cn", phone="13812340001")


@pytest.fixture
def bound(db, student, make_record):
    """The student's diploma and enrollment, bound as at registration."""
    diploma = make_record("diploma")
    enrollment = make_record("enrollment")
    binding.auto_bind(student, since_year=1949)
    return Diploma.get_by_id(diploma.id), Enrollment.get_by_id(enrollment.id)


def verified(account, postman, fixed_code):
    challenge, shown = closing.start(account, PASSWORD, postman=postman, ip="10.0.0.1")
    challenges.check_code(challenge, fixed_code)
    return challenge


def close(app, account, postman, fixed_code, now=None):
    with app.test_request_context():
        return closing.close(verified(account, postman, fixed_code), retention_days=30,
                             postman=postman, ip="10.0.0.1", now=now)


def actions(action):
    return list(AuditEntry.select().where(AuditEntry.action == action))


def test_the_code_goes_to_the_bound_phone(student, postman, outbox, fixed_code):
    challenge, shown = closing.start(student, PASSWORD, postman=postman, ip="")
    assert shown == "+86 138****0001" and challenge.purpose == "close_account"
    last = outbox.last()
    assert last["to"] == "+8613812340001" and "注销学信档案账号" in last["body"]
    assert fixed_code in last["body"]


def test_a_wrong_password_sends_nothing(student, postman, outbox):
    with pytest.raises(accounts.AccountError) as raised:
        closing.start(student, "wrong-pass-1", postman=postman, ip="")
    assert raised.value.field == "current_password"
    assert outbox.messages() == [] and not Challenge.select().exists()


def test_without_sms_abroad_the_code_goes_to_the_edu_cn_username(app, db, make_account, postman,
                                                                   outbox):
    app.config["INTERNATIONAL_SMS"] = False   # what the postman reads outside a request
    abroad = make_account(username="wang@pku.edu.cn", phone="+85251234567")
    challenge, shown = closing.start(abroad, PASSWORD, postman=postman, ip="")
    assert challenge.payload["channel"] == "email" and outbox.last()["to"] == "wang@pku.edu.cn"
    assert shown == closing.sent_to(challenge)
    elsewhere = make_account(username="li@example.com", phone="+85251234568",
                             id_number="110105200102030123")
    with pytest.raises(closing.ClosingError):
        closing.start(elsewhere, PASSWORD, postman=postman, ip="")


def test_staff_cannot_close_their_own_account(db, postman):
    admin = staff_account("root")
    with pytest.raises(closing.ClosingError):
        closing.start(admin, "irrelevant", postman=postman, ip="")


def test_a_close_needs_the_right_code(app, student, postman, fixed_code):
    challenge, _ = closing.start(student, PASSWORD, postman=postman, ip="")
    with pytest.raises(ServiceError):
        challenges.check_code(challenge, "999999")
    with pytest.raises(closing.ClosingError):
        closing.close(challenge, retention_days=30, postman=postman, ip="")
    assert Account.get_by_id(student.id).closed_at is None


def test_closing_closes_reports_unbinds_records_and_frees_the_identity(
        app, student, bound, postman, outbox, fixed_code):
    diploma, enrollment = bound
    report = issue_report(app, student, diploma, render=fake_render)
    accounts.start_login_session(student, ip="", user_agent="")
    CorrectionRequest.create(account=student, kind="diploma", record_id=diploma.id,
                             field="major", proposed_value="法学", reason="x",
                             pending_key=f"diploma:{diploma.id}:major")
    BindRequest.create(account=student, pending_key=str(student.id))
    now = utcnow()
    done = close(app, student, postman, fixed_code, now=now)

    assert (done.reports, done.records) == (1, 2)
    assert reports.lookup(report.code).outcome == reports.CLOSED
    for record in (Diploma.get_by_id(diploma.id), Enrollment.get_by_id(enrollment.id)):
        assert (record.account_id, record.bound_by, record.bound_at) == (None, None, None)
    account = Account.get_by_id(student.id)
    assert account.closed_at == now and account.erase_after == now + datetime.timedelta(days=30)
    assert account.id_number is None and account.id_number_index is None
    assert account.username == f"#closed-{student.id}"
    assert account.real_name == "张三" and account.phone == "+8613812340001"  # until erasure
    assert account.session_version == student.session_version + 1
    assert not LoginSession.select().where(LoginSession.ended_at.is_null()).exists()
    correction = CorrectionRequest.get()
    assert correction.status == "rejected" and correction.pending_key is None
    assert BindRequest.get().status == "rejected"
    assert not accounts.id_number_taken(EXAMPLE_ID)
    assert not accounts.username_taken("zhang@example.edu.cn")
    [entry] = actions("account.closed")
    assert entry.account_id == student.id and entry.actor == "zhang@example.edu.cn"
    assert "reports closed 1" in entry.detail and "records unbound 2" in entry.detail
    sent = {(m["channel"], m["to"]) for m in outbox.messages() if "账号已注销" in m["body"]}
    assert sent == {("sms", "+8613812340001"), ("email", "zhang@example.edu.cn")}


def test_a_closed_account_cannot_log_in_and_answers_as_unknown(app, student, postman, fixed_code):
    close(app, student, postman, fixed_code)
    for login in ("zhang@example.edu.cn", "13812340001", f"#closed-{student.id}", EXAMPLE_ID):
        assert accounts.find_for_login(login) is None
        result = accounts.authenticate(login, PASSWORD, ip="10.0.0.9", user_agent="t")
        assert not result.ok and not result.disabled


def test_purge_erases_after_the_retention_period_and_not_before(
        app, student, bound, postman, fixed_code, tmp_path):
    diploma, _ = bound
    report = issue_report(app, student, diploma, render=fake_render)
    pdf_name = Report.get_by_id(report.id).pdf_path
    evidence = files.put("evidence/closing-test.pdf", minimal_pdf(), "application/pdf")
    CorrectionRequest.create(account=student, kind="diploma", record_id=diploma.id,
                             field="major", proposed_value="法学", reason="x",
                             evidence_path=evidence, status="approved")
    accounts.authenticate("zhang@example.edu.cn", PASSWORD, ip="10.0.0.1", user_agent="t")
    accounts.start_login_session(student, ip="", user_agent="")
    closed_at = utcnow()
    close(app, student, postman, fixed_code, now=closed_at)

    def purge(days):
        return retention.purge(outbox_path=tmp_path / "outbox.jsonl", outbox_days=30,
                               now=closed_at + datetime.timedelta(days=days))

    assert purge(29).closed_accounts == 0
    account = Account.get_by_id(student.id)
    assert account.phone and account.real_name and not actions("account.erased")
    assert purge(30).closed_accounts == 1
    account = Account.get_by_id(student.id)
    assert (account.real_name, account.latin_name, account.phone, account.phone_index) == (
        None, None, None, None)
    assert account.erase_after is None and account.closed_at == closed_at
    assert not accounts.check_password(account.password_hash, PASSWORD)
    for model in (LoginEvent, LoginSession, Challenge):
        assert not model.select().where(model.account == student.id).exists()
    assert not OneTimeCode.select().where(OneTimeCode.purpose == "close_account").exists()
    erased = Report.get_by_id(report.id)
    assert erased.pdf_path is None and reports.snapshot_of(erased) == {"erased": True}
    assert not StoredFile.select().where(StoredFile.name.in_([pdf_name, evidence])).exists()
    assert CorrectionRequest.get().evidence_path is None
    assert reports.lookup(report.code).outcome == reports.CLOSED
    [entry] = actions("account.erased")
    assert entry.account_id == student.id and entry.actor == "cli"
    assert actions("account.closed") and actions("report.issued")  # the trail stays
    assert purge(60).closed_accounts == 0  # once


def test_a_report_issued_while_the_account_closes_does_not_stay_open(
        app, student, bound, postman, fixed_code):
    """The report is rendered before its transaction: the close lands in between."""
    diploma, _ = bound
    challenge = verified(student, postman, fixed_code)
    rendering, closed = threading.Event(), threading.Event()

    def slow_render(snapshot):
        rendering.set()
        closed.wait(20)
        return minimal_pdf()

    def issue():
        return issue_report(app, student, diploma, render=slow_render)

    def close_now():
        rendering.wait(20)
        try:
            return closing.close(challenge, retention_days=30, postman=postman, ip="")
        finally:
            closed.set()

    issued, done = run_together(issue, close_now, app=app)
    assert isinstance(issued, reports.ReportError) and "已注销" in str(issued)
    assert isinstance(done, closing.Closed)
    assert not Report.select().exists()


@pytest.mark.parametrize("attempt", range(3))
def test_issue_and_close_at_once_leave_no_open_report(app, student, bound, postman, fixed_code,
                                                      attempt):
    diploma, _ = bound
    challenge = verified(student, postman, fixed_code)
    issued, done = run_together(
        lambda: issue_report(app, student, diploma, render=fake_render),
        lambda: closing.close(challenge, retention_days=30, postman=postman, ip=""), app=app)
    assert isinstance(done, closing.Closed)
    assert isinstance(issued, (Report, reports.ReportError))
    assert not Report.select().where(Report.closed_at.is_null()).exists()
    assert Report.select().count() == (1 if isinstance(issued, Report) else 0) == done.reports


def test_two_closes_at_once_close_once(app, student, postman, outbox, fixed_code):
    first, second = verified(student, postman, fixed_code), verified(student, postman, fixed_code)
    results = run_together(
        *(lambda c=c: closing.close(c, retention_days=30, postman=postman, ip="")
          for c in (first, second)), app=app)
    assert sorted(type(r).__name__ for r in results) == ["Closed", "ClosingError"]
    assert len(actions("account.closed")) == 1
    assert len([m for m in outbox.messages() if "账号已注销" in m["body"]]) == 2  # SMS + e-mail
