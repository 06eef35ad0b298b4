"""services.keeping: one record by hand, 撤销 / 恢复, binding by hand, and what
withdrawing means for binding and reports."""
import threading

import pytest

from models import Account, AuditEntry, Degree, Diploma, Enrollment, Record, Report, utcnow
from services import binding, keeping, records, reports
from services.columns import KINDS
from tests.factories import EXAMPLE_ID, issue_report, report_renderer, staff_account


def edit(record, original=None, postman=None, **changes):
    kind = records.kind_of(record)
    shown = keeping.form_values(kind, record) if original is None else original
    return keeping.update(kind, record, dict(shown, **changes), original=shown, actor="desk",
                          postman=postman, max_photo_bytes=2_000_000)


def test_form_values_show_every_column_as_typed(make_record, db):
    record = make_record("aid", amount="3000.5")
    values = keeping.form_values(KINDS["aid"], record)
    assert values["amount"] == "3,000.50" or values["amount"] == "3000.50"
    assert values["paid_on"] == "2016-11-01" and values["id_number"] == EXAMPLE_ID
    assert keeping.form_values(KINDS["aid"], None)["program"] == ""


def test_update_writes_only_changed_columns_and_derived_keys(app, make_record, tmp_path, db):
    record = make_record("diploma")
    changed = edit(record, certificate_number="109991201905000777",
                   school_number="no.0029", major="历史学")
    assert changed == ["certificate_number", "major", "school_number"]
    stored = Diploma.get_by_id(record.id)
    assert stored.certificate_key == "109991201905000777"
    assert (stored.school_number, stored.school_number_key) == ("NO.0029", "29")
    entry = AuditEntry.get(AuditEntry.action == "record.changed")
    assert entry.changes["fields"]["certificate_number"] == ["109991201905000001",
                                                            "109991201905000777"]
    assert entry.changes["fields"]["school_number"] == ["", "NO.0029"]
    assert entry.account is None


def test_an_id_number_change_moves_its_look_up_index(app, make_record, tmp_path, db):
    record = make_record("degree", id_number=None)
    edit(record, id_number="11010519491231002x")
    assert Degree.get(Degree.id_number.matches(EXAMPLE_ID)).id == record.id


def test_invalid_values_name_their_fields(app, make_record, tmp_path, db):
    record = make_record("enrollment")
    with app.test_request_context(), pytest.raises(keeping.RecordInvalid) as caught:
        edit(record, gender="男", expected_graduation="someday")
    fields = dict(caught.value.problems)
    assert "gender" in fields and "与身份证号码不一致" in fields["gender"]
    assert "expected_graduation" in fields
    assert Enrollment.get_by_id(record.id).gender == "女"


def test_concurrent_edits_each_write_their_own_columns(app, make_record, tmp_path, db):
    """Two registrars opened the form at once and change different fields: both stay."""
    record = make_record("enrollment")
    kind = KINDS["enrollment"]
    shown = keeping.form_values(kind, record)
    barrier = threading.Barrier(2)
    errors = []

    def save(changes):
        db.connect(reuse_if_open=True)
        try:
            mine = Enrollment.get_by_id(record.id)
            barrier.wait()
            keeping.update(kind, mine, dict(shown, **changes), original=shown, actor="desk",
                           max_photo_bytes=2_000_000)
        except Exception as error:  # noqa: BLE001 # reported below
            errors.append(error)
        finally:
            db.close()

    for _round in range(3):
        threads = [threading.Thread(target=save, args=({"major": "历史学"},)),
                   threading.Thread(target=save, args=({"class_name": "3班", "status": "休学"},))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors
        stored = Enrollment.get_by_id(record.id)
        assert (stored.major, stored.class_name, stored.status) == ("历史学", "3班", "休学")
        Enrollment.update(major="汉语言文学", class_name=None, status="不在籍（毕业）").where(
            Enrollment.id == record.id).execute()
    assert AuditEntry.select().where(AuditEntry.action == "record.changed").count() == 6


def test_two_creates_with_one_number_leave_one_record(app, tmp_path, db):
    kind = KINDS["admission"]
    posted = dict(name="李四", id_type="居民身份证", id_number="", candidate_number="15420106150009",
                  year="2015", batch="", major="汉语言文学", level="本科")
    barrier = threading.Barrier(2)
    outcomes = []

    def create():
        db.connect(reuse_if_open=True)
        try:
            barrier.wait()
            with app.test_request_context():
                keeping.create(kind, posted, actor="desk", max_photo_bytes=2_000_000)
                outcomes.append("created")
        except keeping.KeepingError as error:
            with app.test_request_context():
                outcomes.append((error.field, str(error)))
        finally:
            db.close()

    threads = [threading.Thread(target=create) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(map(str, outcomes))[-1] == "created" and len(outcomes) == 2
    refused = next(outcome for outcome in outcomes if outcome != "created")
    assert refused[0] == "candidate_number" and "已被另一条记录" in refused[1]
    assert KINDS["admission"].model.select().count() == 1


def test_withdrawn_records_do_not_bind(app, make_record, make_account, db):
    record = make_record("enrollment")
    keeping.withdraw(KINDS["enrollment"], record, "核实中", actor="desk")
    account = make_account()   # same ID and name: would bind automatically
    assert Enrollment.get_by_id(record.id).account_id is None
    keeping.restore(KINDS["enrollment"], record, actor="desk")
    assert [bound.id for bound in binding.auto_bind(account, since_year=1991)] == [record.id]


def test_withdrawn_diplomas_do_not_bind_by_certificate(app, make_record, make_account, db):
    account = make_account(id_number=None)
    record = make_record("diploma", id_number=None)
    keeping.withdraw(KINDS["diploma"], record, "核实中", actor="desk")
    config = dict(app.config, BIND_ATTEMPTS_PER_DAY=10)
    with app.test_request_context(), pytest.raises(binding.BindingError):
        binding.bind_by_certificate(account, "diploma", record.certificate_number, 2019,
                                    app.config["SCHOOL_NAMES"][0]["name"], config=config)
    assert Diploma.get_by_id(record.id).account_id is None


def test_reports_of_a_withdrawn_record_verify_as_withdrawn_until_restored(app, make_record,
                                                                          make_account, db):
    owner = make_account()
    record = make_record("diploma", account=owner.id)
    report = issue_report(app, owner, record, render=report_renderer(app))
    kind = KINDS["diploma"]
    keeping.withdraw(kind, record, "核实中", actor="desk")
    assert reports.lookup(report.code).outcome == reports.WITHDRAWN
    assert reports.api_body(reports.lookup(report.code)) == {"status": "withdrawn"}
    with app.test_request_context(), pytest.raises(reports.ReportError):
        reports.extend(Report.get_by_id(report.id), 3, config=app.config)
    with app.test_request_context(), pytest.raises(reports.ReportError):
        reports.issue(owner, "diploma", Diploma.get_by_id(record.id), 3, config=app.config,
                      render=report_renderer(app))
    assert records.records_of(owner.id, kind) == []
    keeping.restore(kind, record, actor="desk")
    assert reports.lookup(report.code).outcome == reports.VALID
    # A report the school withdrew by itself (appeals) stays withdrawn, and is no
    # longer the record's current report.
    Report.update(withdrawn_at=utcnow()).where(Report.id == report.id).execute()
    assert reports.lookup(report.code).outcome == reports.WITHDRAWN
    assert reports.current_report("diploma", record.id) is None


def test_withdraw_and_restore_are_guarded(app, make_record, db):
    record = make_record("aid")
    kind = KINDS["aid"]
    with app.test_request_context():
        with pytest.raises(keeping.KeepingError) as caught:
            keeping.withdraw(kind, record, " ", actor="desk")
        assert caught.value.field == "reason"
        with pytest.raises(keeping.KeepingError):
            keeping.withdraw(kind, record, "x" * 501, actor="desk")
        with pytest.raises(keeping.KeepingError):
            keeping.restore(kind, record, actor="desk")
        keeping.withdraw(kind, record, "重复发放", actor="desk")
        with pytest.raises(keeping.KeepingError):
            keeping.withdraw(kind, record, "again", actor="desk")
    assert AuditEntry.select().where(AuditEntry.action == "record.withdrawn").count() == 1


def test_bind_and_unbind_by_hand(app, make_record, make_account, db):
    student = make_account(username="li@example.edu.cn", id_number=None, real_name="李四")
    record = make_record("degree")
    kind = KINDS["degree"]
    with app.test_request_context():
        assert keeping.bind(kind, record, "LI@example.edu.cn", "原件核实", actor="desk").id == student.id
        with pytest.raises(keeping.KeepingError) as caught:
            keeping.bind(kind, record, "li@example.edu.cn", "again", actor="desk")
        assert caught.value.field == "username"
        staff_account("office-desk")
        with pytest.raises(keeping.KeepingError):
            keeping.bind(kind, make_record("degree"), "office-desk", "x", actor="desk")
    stored = Degree.get_by_id(record.id)
    assert (stored.account_id, stored.bound_by) == (student.id, Record.REGISTRAR)
    assert keeping.unbind(kind, record, "绑错", actor="desk").id == student.id
    stored = Degree.get_by_id(record.id)
    assert stored.account_id is None and stored.bound_by == Record.REGISTRAR
    # No rule binds it again; the registrar still can.
    assert Degree.select().where(binding.bindable(Degree), Degree.id == record.id).count() == 0
    with app.test_request_context():
        keeping.bind(kind, record, "li@example.edu.cn", "核实无误", actor="desk")
    assert Degree.get_by_id(record.id).account_id == student.id
    assert [entry.action for entry in AuditEntry.select().where(
        AuditEntry.action.startswith("record.")).order_by(AuditEntry.id)] == [
        "record.bound", "record.unbound", "record.bound"]
    assert Account.get_by_id(student.id).role == Account.STUDENT
