"""The staff overview's numbers, against data whose counts are known."""
import datetime

from models import (Account, Appeal, CorrectionRequest, Enrollment, Report, Verification, db,
                    utcnow)
from services import dashboard
from tests.factories import create_account, create_record, staff_account

NOW = datetime.datetime(2026, 5, 1, 12, 0)


def known_data(app):
    """3 students (1 registered 40 days ago), 1 staff account; 学籍 2 bound + 1 unbound
    + 1 withdrawn, 学历 1 unbound; corrections 2 pending (oldest 3 days) + 1 decided;
    appeals 1 pending (5 hours); reports 2 recent + 1 old; checks web 3, pdf 1, api 2
    recent and 1 old web check."""
    students = [create_account(app, n, id_number=None) for n in (1, 2, 3)]
    Account.update(created_at=NOW - datetime.timedelta(days=40)).where(
        Account.id == students[0].id).execute()
    Account.update(created_at=NOW - datetime.timedelta(days=2)).where(
        Account.id != students[0].id).execute()
    staff_account("office")
    for n, owner in ((1, students[0]), (2, students[1]), (3, None), (4, None)):
        create_record("enrollment", n, account=owner.id if owner else None)
    Enrollment.update(withdrawn_at=NOW, withdrawn_reason="重复").where(
        Enrollment.student_number == "S0004").execute()
    create_record("diploma", 1)
    for days, status in ((3, "pending"), (1, "pending"), (9, "approved")):
        CorrectionRequest.create(account=students[0], kind="enrollment", record_id=1, field="major",
                                 proposed_value="数学", reason="x", status=status,
                                 created_at=NOW - datetime.timedelta(days=days, minutes=5))
    Appeal.create(reference="A1", real_name="张三", id_type="居民身份证",
                  id_number="11010519491231002X", contact_email="a@example.com", photo_path="p.png",
                  created_at=NOW - datetime.timedelta(hours=5, minutes=10))
    reports = []
    for n, days in enumerate((1, 20, 45)):
        reports.append(Report.create(
            account=students[0], kind="enrollment", record_id=1, code=f"CODE{n}", snapshot="{}",
            issued_at=NOW - datetime.timedelta(days=days), expires_at=NOW + datetime.timedelta(days=30)))
    for channel, count in (("web", 3), ("pdf", 1), ("api", 2)):
        for _ in range(count):
            Verification.create(report=reports[0], channel=channel, at=NOW - datetime.timedelta(days=1))
    Verification.create(report=reports[2], channel="web", at=NOW - datetime.timedelta(days=44))


def test_overview_counts(app, db):
    known_data(app)
    overview = dashboard.overview(NOW)
    assert (overview.students, overview.new_students) == (3, 2)
    by_kind = {item.key: (item.total, item.bound, item.unbound) for item in overview.records}
    assert by_kind == {"enrollment": (3, 2, 1), "diploma": (1, 0, 1), "degree": (0, 0, 0),
                       "admission": (0, 0, 0), "aid": (0, 0, 0)}
    assert overview.corrections.pending == 2
    assert dashboard.age(overview.corrections.oldest, NOW) == ("days", 3)
    assert overview.appeals.pending == 1
    assert dashboard.age(overview.appeals.oldest, NOW) == ("hours", 5)
    assert overview.reports_issued == 2
    assert overview.verifications == {"web": 3, "pdf": 1, "api": 2}
    assert overview.verifications_total == 6


def test_an_empty_portal(app, db):
    overview = dashboard.overview(utcnow())
    assert (overview.students, overview.new_students, overview.reports_issued) == (0, 0, 0)
    assert overview.corrections == dashboard.Queue(0, None)
    assert dashboard.age(None, NOW) is None


def test_a_handful_of_queries(app, db):
    known_data(app)
    queries = []
    original = db.obj.execute_sql

    def counting(sql, *args, **kwargs):
        queries.append(sql)
        return original(sql, *args, **kwargs)

    db.obj.execute_sql = counting
    try:
        dashboard.overview(NOW)
    finally:
        del db.obj.execute_sql
    assert len(queries) <= 10, queries
