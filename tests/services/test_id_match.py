"""services.id_match: matching a typed ID number against a report, and the daily tries;
services.reports: the masked ID number of a report issued without full_id."""
import datetime
import io
import json

import pytest
import time_machine
from pypdf import PdfReader

from models import Report, Verification, utcnow
from services import files, id_match, reports
from services.identity import IdentityError
from tests.factories import EXAMPLE_ID, issue_report, report_renderer

MASKED = "1101**********002X"


@pytest.fixture
def owner(make_account):
    return make_account(username="li@example.edu.cn", real_name="张三")


@pytest.fixture
def enrollment(owner, make_record):
    return make_record("enrollment", account=owner.id, id_type="居民身份证")


@pytest.fixture
def issue(app, db):
    def issue(owner, record, kind="enrollment", full_id=False, render=None):
        with app.test_request_context():
            return reports.issue(owner, kind, record, 3, config=app.config,
                                 render=render or (lambda snapshot: b"%PDF-1.7"), full_id=full_id)
    return issue


def _logger(report):
    def log(outcome):
        reports.log_verification(report, Verification.MATCH, outcome=outcome)
    return log


def _try(app, report, typed, record=None):
    with app.test_request_context():
        return id_match.attempt(report, typed, record=record, log=_logger(report))


def _id_value(fields):
    return next(item for item in fields if item["key"] == "id_number")


# --- the masked number --------------------------------------------------------------

def test_a_new_report_masks_the_id_number_in_its_snapshot_and_pdf(app, db, owner, enrollment):
    report = issue_report(app, owner, enrollment, kind="enrollment", render=report_renderer(app))
    assert report.full_id is False
    snapshot = reports.snapshot_of(report)
    assert _id_value(snapshot["fields"]) == {"key": "id_number", "zh": "证件号码", "en": "ID number",
                                             "value": MASKED, "value_en": MASKED}
    assert EXAMPLE_ID not in json.dumps(snapshot)
    page = PdfReader(io.BytesIO(files.read(report.pdf_path))).pages[0].extract_text()
    assert MASKED in page and EXAMPLE_ID not in page


def test_the_owner_may_show_the_full_number(app, db, owner, enrollment, issue):
    report = issue(owner, enrollment, full_id=True, render=report_renderer(app))
    assert Report.get_by_id(report.id).full_id is True
    assert _id_value(reports.snapshot_of(report)["fields"])["value"] == EXAMPLE_ID
    page = PdfReader(io.BytesIO(files.read(report.pdf_path))).pages[0].extract_text()
    assert EXAMPLE_ID in page


def test_the_latest_view_masks_also_a_changed_record(app, db, owner, enrollment, issue):
    report = issue(owner, enrollment)
    type(enrollment).update(major="历史学", updated_at=utcnow() + datetime.timedelta(minutes=5)).execute()
    with app.test_request_context():
        view = reports.latest_view(report)
    assert view["changed_at"] is not None
    assert _id_value(view["fields"])["value"] == MASKED
    # A report issued before migration 020 (full_id true) keeps showing the full number.
    Report.update(full_id=True).execute()
    with app.test_request_context():
        view = reports.latest_view(Report.get_by_id(report.id))
    assert _id_value(view["fields"])["value"] == EXAMPLE_ID


# --- matching ---------------------------------------------------------------------------

@pytest.mark.parametrize("typed", [
    EXAMPLE_ID, "11010519491231002x", "110105491231002", "１１０１０５１９４９１２３１００２Ｘ",
    " 110105 19491231 002X ", "110105-19491231-002x"])
def test_the_right_number_typed_any_usual_way_matches(app, db, owner, enrollment, issue, typed):
    report = issue(owner, enrollment)
    assert _try(app, report, typed) is True
    assert Verification.get().outcome == Verification.MATCHED


def test_a_wrong_number_does_not_match(app, db, owner, enrollment, issue):
    report = issue(owner, enrollment)
    assert _try(app, report, "440524188001010014") is False
    assert [(v.channel, v.outcome) for v in Verification.select()] == [("match", "mismatch")]


@pytest.mark.parametrize("typed", ["", "garbage", "11010519491231002", "110105194912310021",
                                   "1101051949123100"])
def test_an_invalid_number_is_no_try(app, db, owner, enrollment, issue, typed):
    report = issue(owner, enrollment)
    with pytest.raises(IdentityError):
        _try(app, report, typed)
    assert Verification.select().count() == 0


def test_a_full_report_matches_the_number_it_shows(app, db, owner, enrollment, issue):
    report = issue(owner, enrollment, full_id=True)
    # The record's number changed after issue: the report still stands for the number it shows.
    type(enrollment).update(id_number="440524188001010014").execute()
    assert _try(app, report, EXAMPLE_ID) is True


def test_a_masked_report_matches_the_records_number(app, db, owner, enrollment, issue):
    report = issue(owner, enrollment)
    assert id_match.number_of(report) == ("居民身份证", EXAMPLE_ID)


def test_a_diploma_report_matches_the_records_number(app, db, owner, make_record, issue):
    diploma = make_record("diploma", account=owner.id)
    report = issue(owner, diploma, kind="diploma")
    assert _try(app, report, "110105491231002") is True


def test_a_record_stored_with_the_15_digit_number_matches_the_18(app, db, owner, make_record, issue):
    diploma = make_record("diploma", account=owner.id, id_number="110105491231002")
    report = issue(owner, diploma, kind="diploma")
    assert _try(app, report, EXAMPLE_ID) is True


def test_a_passport_is_normalised_by_its_own_rule(app, db, owner, make_record, issue):
    record = make_record("enrollment", account=owner.id, id_type="护照", id_number="E12345678")
    report = issue(owner, record)
    assert _id_value(reports.snapshot_of(report)["fields"])["value"] == "E1*****78"
    assert _try(app, report, "e1234 5678") is True
    with pytest.raises(IdentityError, match="护照号码"):
        _try(app, report, "!!")


def test_no_number_no_match(app, db, owner, make_record, issue):
    record = make_record("diploma", account=owner.id, id_number=None)
    report = issue(owner, record, kind="diploma")
    assert id_match.number_of(report) is None
    with pytest.raises(id_match.MatchError):
        _try(app, report, EXAMPLE_ID)


def test_five_tries_in_any_24_hours(app, db, owner, enrollment, issue):
    report = issue(owner, enrollment)
    start = datetime.datetime(2026, 3, 1, 15, 0, tzinfo=datetime.timezone.utc)
    with time_machine.travel(start, tick=False) as traveller:
        for _ in range(5):
            _try(app, report, "440524188001010014")
        with pytest.raises(id_match.TooManyTries, match="最多核对 5 次"):
            _try(app, report, EXAMPLE_ID)
        # Past the school's midnight the window still holds them.
        traveller.shift(datetime.timedelta(hours=12))
        with pytest.raises(id_match.TooManyTries):
            _try(app, report, EXAMPLE_ID)
        traveller.shift(datetime.timedelta(hours=12, seconds=1))
        assert _try(app, report, EXAMPLE_ID) is True
    assert Verification.select().count() == 6
