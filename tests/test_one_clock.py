"""One clock: every time shown is the school's local time (issue 11).

The clock is frozen at 2026-06-30 23:30 UTC, which is 2026-07-01 07:30 in
Shanghai (the default zone): every surface must say 07-01 / 07:30, never
06-30 / 23:30. A second zone set through the settings service changes what
is shown.
"""
import csv
import datetime
import io
import re

import pytest
import time_machine
from pypdf import PdfReader

import models
from models import Appeal, BindAttempt, Report
from services import binding, clock, reports
from services import settings as settings_service
from tests.factories import EXAMPLE_ID, signed_in_staff

T = datetime.datetime(2026, 6, 30, 23, 30)  # naive UTC, as stored
HX = {"HX-Request": "true"}
UTC_TRACES = ("2026-06-30", "23:30")


def text(response):
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def local_only(page: str) -> None:
    """The page shows the local day and time and none of the UTC ones."""
    for trace in UTC_TRACES:
        assert trace not in page, trace


@pytest.fixture
def frozen():
    with time_machine.travel(T.replace(tzinfo=datetime.timezone.utc), tick=False) as traveller:
        yield traveller


@pytest.fixture
def scene(app, client, frozen, make_account, make_record, login, db):
    """At T: a student who registered, logged in and issued a report on their diploma."""
    owner = make_account(username="zhang@example.edu.cn", real_name="张三")
    diploma = make_record("diploma", account=owner.id)
    login("zhang@example.edu.cn")
    response = client.post(f"/reports/new/diploma/{diploma.id}", data={"months": "3"})
    assert response.status_code == 303, response.get_data(as_text=True)
    return dict(owner=owner, diploma=diploma, report=Report.get())


def set_zone(app, zone):
    with app.app_context():
        settings_service.save({"TIMEZONE": zone}, defaults=app.config, actor="admin")


# --- the clock itself -----------------------------------------------------------

def test_clock_reads_stored_utc_in_the_school_zone():
    assert clock.local_date(T, "Asia/Shanghai") == datetime.date(2026, 7, 1)
    assert clock.iso(T, "Asia/Shanghai") == "2026-07-01T07:30:00+08:00"
    assert clock.iso(T, "Europe/Berlin") == "2026-07-01T01:30:00+02:00"
    assert clock.today("America/Los_Angeles", T) == datetime.date(2026, 6, 30)
    # Local midnight of 07-01 in Shanghai is 16:00 UTC the day before.
    assert clock.day_start("Asia/Shanghai", T) == datetime.datetime(2026, 6, 30, 16, 0)
    assert clock.stamp("Asia/Shanghai", T) == "20260701-073000"
    # A bad zone name never breaks a page: the default zone is used.
    assert clock.iso(T, "Not/AZone") == "2026-07-01T07:30:00+08:00"
    assert clock.parse_utc("2026-06-30T23:30:00Z") == T


# --- the student's pages ----------------------------------------------------------

def test_record_page_shows_the_local_update_date(client, scene):
    for headers in ({}, HX):
        page = text(client.get(f"/records/diploma/{scene['diploma'].id}", headers=headers))
        assert "2026-07-01" in page
        local_only(page)
    listing = text(client.get("/records/"))
    assert "更新日期 2026-07-01" in listing
    local_only(listing)


def test_reports_pages_show_local_issue_and_expiry(client, scene):
    report = scene["report"]
    listing = text(client.get("/reports/"))
    # 3 months: expires 2026-09-30 23:30 UTC, 2026-10-01 07:30 in Shanghai.
    assert "2026-10-01" in listing and "2026-09-30" not in listing
    for headers in ({}, HX):
        page = text(client.get(f"/reports/{report.id}", headers=headers))
        assert "2026-07-01 07:30" in page and "2026-10-01 07:30" in page
        local_only(page)


def test_login_history_on_account_is_local(client, scene):
    page = text(client.get("/account/logins"))
    assert "2026-07-01 07:30" in page
    local_only(page)
    account = text(client.get("/account/"))
    assert "2026-07-01" in account
    local_only(account)


# --- what a verifier reads -----------------------------------------------------------

def test_verify_page_shows_local_dates(app, scene):
    page = text(app.test_client().get(f"/verify/{scene['report'].code}"))
    assert "2026-07-01" in page and "2026-10-01" in page
    local_only(page)


def test_new_snapshot_keeps_utc_times_but_the_local_update_date(scene, db):
    snapshot = reports.snapshot_of(Report.get_by_id(scene["report"].id))
    assert snapshot["issued_at"] == "2026-06-30T23:30:00Z"  # signed: stays UTC
    assert snapshot["record_updated_at"] == "2026-07-01"


def test_pdf_text_is_local(client, scene):
    response = client.get(f"/reports/{scene['report'].id}/pdf")
    assert response.status_code == 200
    page = PdfReader(io.BytesIO(response.data)).pages[0].extract_text()
    assert "2026-07-01 07:30" in page and "2026-10-01 07:30" in page
    assert "UTC+8" in page
    assert re.search(r"更新日期.*2026-07-01", page)
    local_only(page)


def test_api_times_carry_the_school_offset(app, scene):
    body = app.test_client().get(f"/api/v1/reports/{scene['report'].code}").get_json()
    assert body["status"] == "valid"
    assert body["issued_at"] == "2026-07-01T07:30:00+08:00"
    assert body["expires_at"] == "2026-10-01T07:30:00+08:00"
    assert body["record_updated_at"] == "2026-07-01"


# --- texts sent to people -----------------------------------------------------------

def test_expiry_reminder_sms_says_the_local_date(app, runner, frozen, make_account, make_record,
                                                 outbox, db):
    owner = make_account(username="li@example.edu.cn", phone="13900001111")
    record = make_record("diploma", account=owner.id)
    # Expires 2026-07-03 23:30 UTC: 2026-07-04 in Shanghai, within the 7 days.
    Report.create(account=owner, kind="diploma", record_id=record.id, code="ABCDEFGHJKLMNPQR",
                  snapshot='{"title": {"zh": "学历证书电子注册备案表", "en": "x"}}',
                  issued_at=T - datetime.timedelta(days=30),
                  expires_at=datetime.datetime(2026, 7, 3, 23, 30))
    result = runner.invoke(args=["send-reminders"])
    assert "1 reminder(s) sent" in result.output, result.output
    body = outbox.last()["body"]
    assert "将于 2026-07-04 到期" in body and "2026-07-03" not in body


def test_expiry_reminder_follows_the_zone_setting(app, runner, frozen, make_account, make_record,
                                                  outbox, db):
    set_zone(app, "America/Los_Angeles")
    owner = make_account(username="li@example.edu.cn", phone="13900001111")
    record = make_record("diploma", account=owner.id)
    # 2026-07-04 06:30 UTC is still 2026-07-03 (23:30) in Los Angeles.
    Report.create(account=owner, kind="diploma", record_id=record.id, code="ABCDEFGHJKLMNPQR",
                  snapshot='{"title": {"zh": "学历证书电子注册备案表", "en": "x"}}',
                  issued_at=T - datetime.timedelta(days=30),
                  expires_at=datetime.datetime(2026, 7, 4, 6, 30))
    runner.invoke(args=["send-reminders"])
    assert "将于 2026-07-03 到期" in outbox.last()["body"]


def test_appeal_reference_carries_the_local_date(app, frozen, db):
    from tests.factories import file_appeal, png_bytes
    file_appeal(app, "周八", EXAMPLE_ID, "zhou@example.com", png_bytes((30, 40)))
    appeal = Appeal.get()
    assert appeal.reference.startswith("SS20260701-")
    status = app.test_client().post("/register/appeal/status", data={
        "reference": appeal.reference, "id_number": EXAMPLE_ID})
    page = text(status)
    assert "2026-07-01 07:30" in page
    local_only(page.replace(appeal.reference, ""))


# --- the staff's pages and files ------------------------------------------------------

def test_admin_person_page_record_page_and_audit_log(app, scene):
    staff = signed_in_staff(app, "root", models.Account.ADMIN)
    owner, diploma = scene["owner"], scene["diploma"]
    for headers in ({}, HX):
        person = text(staff.get(f"/admin/people/{owner.id}", headers=headers))
        assert "2026-07-01 07:30" in person  # registered, last login, reports, login history
        local_only(person)
    record = text(staff.get(f"/admin/records/diploma/{diploma.id}"))
    assert "2026-07-01" in record
    local_only(record)
    log = text(staff.get("/admin/audit"))
    assert "2026-07-01 07:30:00" in log
    local_only(log.replace("2026-06-30T23:30:00Z", ""))  # <time datetime> stays UTC, machine-read


def test_audit_export_cells_and_file_name_are_local(app, scene):
    staff = signed_in_staff(app, "root", models.Account.ADMIN)
    response = staff.get("/admin/audit/export.csv")
    assert response.status_code == 200
    assert "audit-20260701-073000.csv" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][0] == "时间（Asia/Shanghai）"
    assert rows[1][0] == "2026-07-01 07:30:00"
    search = staff.get("/admin/search/export.csv", query_string={"q": "张三"})
    assert "search-20260701-073000.csv" in search.headers["Content-Disposition"]


def test_import_history_is_local(app, frozen, db):
    from tests.factories import csv_bytes, diploma
    staff = signed_in_staff(app, "registrar", models.Account.REGISTRAR)
    response = staff.post("/admin/import", data={
        "kind": "diploma", "table": (io.BytesIO(csv_bytes([diploma()])), "d.csv")},
        content_type="multipart/form-data")
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    page = text(staff.get("/admin/imports"))
    assert "2026-07-01 07:30" in page
    local_only(page)


def test_a_date_of_the_local_today_is_not_in_the_future(app, frozen, db):
    """At 07:30 on 07-01 in Shanghai a record may carry 07-01 (UTC still says 06-30)."""
    staff = signed_in_staff(app, "registrar", models.Account.REGISTRAR)
    response = staff.post("/admin/records/aid/new", data=dict(
        name="张三", id_type="居民身份证", id_number=EXAMPLE_ID, school_year="2025-2026",
        program="国家助学金", amount="3000", paid_on="2026-07-01"))
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    late = staff.post("/admin/records/aid/new", data=dict(
        name="张三", id_type="居民身份证", id_number=EXAMPLE_ID, school_year="2025-2026",
        program="国家奖学金", amount="3000", paid_on="2026-07-02"))
    assert late.status_code == 422 and "晚于今天" in late.get_data(as_text=True)


def test_a_correction_may_propose_the_local_today(client, scene):
    """The student's correction is checked against the school's day too."""
    diploma = scene["diploma"]

    def correct(day):
        return client.post(f"/records/diploma/{diploma.id}/correct", content_type="multipart/form-data",
                           data=dict(field="graduation_date", shown_for="graduation_date",
                                     proposed_value=day, reason="与毕业证书一致"))

    assert correct("2026-07-02").status_code == 422
    assert correct("2026-07-01").status_code == 303


# --- per-day limits count the school's day -------------------------------------------

def test_bind_tries_count_from_local_midnight(app, make_account, db):
    account = make_account()
    # 15:59 UTC is 23:59 on 06-30 in Shanghai; 16:01 UTC is already 07-01.
    BindAttempt.create(account=account, success=False, at=datetime.datetime(2026, 6, 30, 15, 59))
    BindAttempt.create(account=account, success=False, at=datetime.datetime(2026, 6, 30, 16, 1))
    assert binding.attempts_today(account, now=T, timezone="Asia/Shanghai") == 1
    # In Berlin 07-01 started at 22:00 UTC: neither try is from today.
    assert binding.attempts_today(account, now=T, timezone="Europe/Berlin") == 0


# --- a second zone --------------------------------------------------------------------

def test_another_school_zone_changes_what_is_shown(app, client, scene):
    set_zone(app, "Europe/Berlin")
    page = text(client.get(f"/reports/{scene['report'].id}"))
    assert "2026-07-01 01:30" in page and "07:30" not in page
    body = app.test_client().get(f"/api/v1/reports/{scene['report'].code}").get_json()
    assert body["issued_at"] == "2026-07-01T01:30:00+02:00"
    set_zone(app, "America/Los_Angeles")
    page = text(client.get(f"/records/diploma/{scene['diploma'].id}"))
    assert "2026-06-30" in page and "2026-07-01" not in page
    logins = text(client.get("/account/logins"))
    assert "2026-06-30 16:30" in logins
