"""services.reports: the report lifecycle with a frozen clock."""
import datetime
import json

import pytest
import time_machine

import crypto
from models import Report, Verification
from services import files, reports
from services.reports import ReportError
from tests.factories import issue_report, report_renderer

T0 = datetime.datetime(2026, 11, 28, 8, 0, 0)


@pytest.fixture
def owner(make_account):
    return make_account(username="li@example.edu.cn", real_name="张三")


@pytest.fixture
def diploma(owner, make_record):
    return make_record("diploma", account=owner.id)


@pytest.fixture
def issue(app):
    """Issue with the real signed PDF, at T0 unless told otherwise."""
    render = report_renderer(app)

    def issue(owner, record, months=3, kind="diploma", now=T0):
        return issue_report(app, owner, record, render=render, kind=kind, months=months, now=now)
    return issue


def test_code_alphabet_and_grouping():
    codes = {reports.new_code() for _ in range(2000)}
    assert len(codes) == 2000
    assert all(len(c) == 16 and set(c) <= set(reports.ALPHABET) for c in codes)
    assert not set("01IO") & set(reports.ALPHABET)
    assert reports.grouped("ABCDEFGHJKLMNPQR") == "ABCD EFGH JKLM NPQR"


@pytest.mark.parametrize("typed, expected", [
    ("ABCDEFGHJKLMNPQR", "ABCDEFGHJKLMNPQR"),
    ("abcd-efgh-jklm-npqr", "ABCDEFGHJKLMNPQR"),
    (" abcd efgh jklm npqr ", "ABCDEFGHJKLMNPQR"),
    ("ＡＢＣＤ ＥＦＧＨ ＪＫＬＭ ＮＰＱＲ", "ABCDEFGHJKLMNPQR"),
    ("ABCDEFGHJKLMNPQ", None), ("ABCDEFGHJKLMNPQRS", None), ("ABCD!FGHJKLMNPQR", None), ("", None),
])
def test_codes_typed_any_usual_way(typed, expected):
    assert reports.normalize_code(typed) == expected


def test_add_months_clamps_to_the_month_end():
    assert reports.add_months(datetime.datetime(2026, 1, 31), 1) == datetime.datetime(2026, 2, 28)
    assert reports.add_months(datetime.datetime(2026, 11, 28), 3) == datetime.datetime(2027, 2, 28)
    assert reports.add_months(datetime.datetime(2026, 12, 15), 12) == datetime.datetime(2027, 12, 15)


def test_issue_snapshot_code_pdf_and_expiry(app, db, owner, diploma, issue):
    report = issue(owner, diploma)
    assert report.expires_at == datetime.datetime(2027, 2, 28, 8, 0, 0)
    snapshot = reports.snapshot_of(report)
    assert snapshot["code"] == report.code and snapshot["kind"] == "diploma"
    assert snapshot["title"]["zh"] == "示范大学 学历证书电子注册备案表"
    assert "教育部" not in json.dumps(snapshot, ensure_ascii=False)
    keys = [item["key"] for item in snapshot["fields"]]
    assert "id_number" not in keys and "certificate_number" in keys   # the diploma hides the ID
    assert snapshot["verify_url"] == f"http://portal.test/verify/{report.code}"
    assert files.read(report.pdf_path).startswith(b"%PDF-")    # sealed in the database
    sealed = db.execute_sql("SELECT data FROM storedfile WHERE name = ?", (report.pdf_path,)).fetchone()[0]
    assert crypto.is_sealed(bytes(sealed)) and b"%PDF-" not in bytes(sealed)
    raw = db.execute_sql("SELECT code, code_index FROM report").fetchone()
    assert report.code not in raw[0] and raw[1] != report.code


def test_enrollment_report_shows_the_id_number_masked(app, db, owner, make_record, issue):
    record = make_record("enrollment", account=owner.id)
    snapshot = reports.snapshot_of(issue(owner, record, kind="enrollment"))
    # Masked unless the owner chose the full number (tests/services/test_id_match.py).
    assert {"key": "id_number", "zh": "证件号码", "en": "ID number",
            "value": "1101**********002X", "value_en": "1101**********002X"} in snapshot["fields"]


@pytest.mark.parametrize("months", [0, 7, 13, "x", None])
def test_validity_must_be_within_the_schools_range(app, db, owner, diploma, issue, months):
    with pytest.raises(ReportError, match="有效期应为 1 到 6 个月"):
        issue(owner, diploma, months=months)


def test_school_may_allow_up_to_twelve_months(app, db, owner, diploma, issue):
    app.config["REPORT_MAX_MONTHS"] = 24
    with pytest.raises(ReportError, match="1 到 12"):
        issue(owner, diploma, months=13)
    assert issue(owner, diploma, months=12).expires_at.year == 2027


def test_one_valid_report_per_record_offers_the_existing_one(app, db, owner, diploma, issue):
    first = issue(owner, diploma)
    with pytest.raises(ReportError) as caught:
        issue(owner, diploma)
    assert caught.value.existing.id == first.id


def test_only_own_records_and_reportable_kinds(app, db, owner, make_account, make_record, issue):
    stranger = make_account(username="s@example.edu.cn", id_number="440524188001010014")
    theirs = make_record("diploma", account=stranger.id)
    with pytest.raises(ReportError):
        issue(owner, theirs)
    aid = make_record("aid", account=owner.id)
    with pytest.raises(ReportError):
        issue(owner, aid, kind="aid")


def test_lifecycle_issue_verify_extend_expire_close(app, db, owner, diploma, issue):
    report = issue(owner, diploma, months=1)
    with time_machine.travel(T0 + datetime.timedelta(days=10), tick=False):
        assert reports.lookup(report.code).outcome == reports.VALID
        with app.test_request_context():
            reports.extend(report, 2, config=app.config)
        assert report.expires_at == datetime.datetime(2027, 2, 8, 8, 0, 0)
    with time_machine.travel(datetime.datetime(2027, 2, 8, 8, 0, 1), tick=False):
        assert reports.lookup(report.code).outcome == reports.EXPIRED
        with app.test_request_context(), pytest.raises(ReportError, match="只能延长仍然有效"):
            reports.extend(report, 1, config=app.config)
        # An expired report no longer blocks a new one for the same record.
        again = issue(owner, diploma, now=datetime.datetime(2027, 2, 8, 9, 0, 0))
    with app.test_request_context():
        reports.close(again, now=datetime.datetime(2027, 2, 9))
    assert reports.lookup(again.code, now=datetime.datetime(2027, 2, 9, 1)).outcome == reports.CLOSED


def test_lookup_outcomes(app, db, owner, diploma, issue):
    report = issue(owner, diploma)
    assert reports.lookup("not a code").outcome == reports.MALFORMED
    assert reports.lookup("ABCDEFGHJKLMNPQR").outcome == reports.UNKNOWN
    found = reports.lookup(reports.grouped(report.code, "-").lower(), now=T0)
    assert found.outcome == reports.VALID and found.report.id == report.id


def test_latest_data_after_the_record_changed(app, db, owner, diploma, issue):
    issued = diploma.updated_at + datetime.timedelta(days=1)
    report = issue(owner, diploma, now=issued)
    assert reports.latest_view(report)["changed_at"] is None
    diploma.major = "汉语言文学（师范）"
    diploma.updated_at = issued + datetime.timedelta(days=3)
    diploma.save()
    view = reports.latest_view(report)
    assert view["changed_at"] == diploma.updated_at
    assert {"key": "major", "zh": "专业", "en": "Major", "value": "汉语言文学（师范）",
            "value_en": "汉语言文学（师范）"} in view["fields"]   # no English name for it yet
    assert reports.snapshot_of(report)["fields"] != view["fields"]      # the snapshot stays


def test_api_body_says_only_the_outcome_unless_valid(app, db, owner, diploma, issue):
    report = issue(owner, diploma)
    with app.test_request_context():
        reports.close(report)
    assert reports.api_body(reports.lookup(report.code)) == {"status": "closed"}


def test_reminders_go_once_seven_days_before_expiry(app, db, owner, diploma, outbox, issue):
    report = issue(owner, diploma, months=1)
    postman = app.extensions["postman"]
    with app.test_request_context():
        assert reports.send_reminders(postman=postman, now=T0 + datetime.timedelta(days=20)) == 0
        late = report.expires_at - datetime.timedelta(days=6)
        assert reports.send_reminders(postman=postman, now=late) == 1
        assert reports.send_reminders(postman=postman, now=late) == 0
    message = outbox.last()
    assert message["to"] == owner.phone and reports.grouped(report.code) in message["body"]
    assert "2026-12-28" in message["body"]


def test_send_reminders_command(app, runner, db, owner, diploma, outbox, issue):
    issue(owner, diploma, months=1, now=datetime.datetime.now(datetime.timezone.utc)
          .replace(tzinfo=None) - datetime.timedelta(days=27))
    result = runner.invoke(args=["send-reminders"])
    assert result.exit_code == 0 and "1 reminder(s) sent" in result.output
    assert Verification.select().count() == 0 and Report.select().count() == 1
