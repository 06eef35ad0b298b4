"""下载我的数据: the export holds every table of one person, as the database has it,
and nobody else's; the ZIP is written a chunk at a time; a right code buys one download."""
import csv
import datetime
import io
import json
import os
import threading
import tracemalloc
import zipfile

import pytest

import models
from models import (Account, Appeal, AuditEntry, Challenge, CorrectionRequest, LoginEvent,
                    LoginSession, PublicCheck, Report, Verification, utcnow)
from services import challenges, files, my_data, reports
from services.columns import KINDS

TZ = "Asia/Shanghai"
OTHER_ID = "440524188001010014"


def export(account, **options) -> zipfile.ZipFile:
    data = b"".join(my_data.zip_stream(my_data.entries(account, tz=TZ, school="示范大学", **options),
                                       tz=TZ))
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.testzip() is None
    return archive


def read_json(archive, name):
    return json.loads(archive.read(name).decode("utf-8"))


def read_csv(archive, name):
    return list(csv.reader(io.StringIO(archive.read(name).decode("utf-8-sig"))))


def add_report(account, record, kind="diploma", pdf=b"%PDF-1.7 signed", **fields):
    code = reports.new_code()
    report = Report.create(account=account, kind=kind, record_id=record.id, code=code,
                           snapshot=json.dumps({"code": code, "kind": kind, "fields": []}),
                           expires_at=utcnow() + datetime.timedelta(days=30), **fields)
    if pdf is not None:
        report.pdf_path = files.put(f"reports/{report.id}-x.pdf", pdf)
        report.save(only=[Report.pdf_path])
    return report


@pytest.fixture
def person(db, make_account, make_record):
    """One person with something in every table, and a second person beside them."""
    account = make_account(username="qian@example.edu.cn", real_name="张三", phone="13812345678")
    other = make_account(username="sun@example.edu.cn", id_number=OTHER_ID, phone="13900009999")
    enrollment = make_record("enrollment", account=account.id,
                             photo=files.put("photos/enrollment/1.jpg", b"\xff\xd8 photo"))
    diploma = make_record("diploma", account=account.id, major="=计算机")
    make_record("degree", account=account.id)
    make_record("admission", account=account.id)
    make_record("aid", account=account.id)
    hidden = make_record("diploma", account=account.id, withdrawn_at=utcnow(),
                         withdrawn_reason="撤销", major="被撤销的专业")
    theirs = make_record("diploma", account=other.id, id_number=OTHER_ID, major="别人的专业")
    report = add_report(account, diploma)
    closed = add_report(account, enrollment, kind="enrollment", closed_at=utcnow(), pdf=None)
    other_report = add_report(other, theirs, pdf=b"%PDF other")
    Verification.create(report=report, channel="web", organisation="=HYPERLINK(1)",
                        purpose="入职", ip="1.2.3.4", outcome="valid")
    Verification.create(report=closed, channel="api", ip="1.2.3.5", outcome="closed")
    Verification.create(report=other_report, channel="web", organisation="别人的单位", ip="9.9.9.9")
    PublicCheck.create(diploma=diploma, ip="5.6.7.8")
    PublicCheck.create(diploma=theirs, ip="9.9.9.8")
    CorrectionRequest.create(account=account, kind="diploma", record_id=diploma.id, field="major",
                             current_value="=计算机", proposed_value="计算机科学", reason="拼写",
                             evidence_path=files.put("evidence/abc.pdf", b"%PDF evidence"))
    Appeal.create(reference="A2026-0001", real_name="李四", id_type="居民身份证",
                  id_number=account.id_number, contact_email="appellant@example.com",
                  contact_phone="+8613700001111", photo_path="appeals/A2026-0001.png",
                  holder_answer="这是我的证件号码。")
    for success in (True, False, True):
        LoginEvent.create(account=account, ip="10.0.0.1", user_agent="Firefox", success=success)
    LoginEvent.create(account=other, ip="10.9.9.9", user_agent="Other", success=True)
    LoginSession.create(token_hash="a" * 64, account=account, ip="10.0.0.1", user_agent="Firefox")
    LoginSession.create(token_hash="b" * 64, account=other, ip="10.9.9.9", user_agent="Other")
    return dict(account=Account.get_by_id(account.id), other=other, report=report, closed=closed,
                other_report=other_report, hidden=hidden, diploma=diploma)


def test_every_table_is_there_and_matches_the_database(person):
    account = person["account"]
    archive = export(account)
    names = set(archive.namelist())
    assert {"README.txt", "profile.json", "records.json", "reports.json", "verifications.json",
            "verifications.csv", "corrections.json", "appeals.json", "logins.json", "logins.csv",
            "sessions.json", "sessions.csv"} <= names
    assert {f"records/{key}.csv" for key in KINDS} <= names

    profile = read_json(archive, "profile.json")
    assert profile["id_number"] == "11010519491231002X" and profile["phone"] == "+8613812345678"
    assert profile["username"] == "qian@example.edu.cn" and profile["timezone"] == TZ
    assert profile["created_at"].endswith("+08:00")

    found = read_json(archive, "records.json")
    for kind in KINDS.values():
        rows = list(kind.model.select().where(kind.model.account == account.id,
                                              kind.model.withdrawn_at.is_null()))
        assert [r["id"] for r in found[kind.key]] == [row.id for row in rows]
        for exported, row in zip(found[kind.key], rows):
            assert exported["id_number"] == row.id_number
            assert exported["updated_at"].endswith("+08:00")
        table = read_csv(archive, f"records/{kind.key}.csv")
        assert len(table) == len(rows) + 1 and table[0][0] == "记录编号 / Record id"
    assert person["hidden"].id not in [r["id"] for r in found["diploma"]]
    enrollment = found["enrollment"][0]
    assert archive.read(enrollment["photo"]) == b"\xff\xd8 photo"
    assert found["aid"][0]["amount"] == "3000.00"

    exported_reports = read_json(archive, "reports.json")
    mine = Report.select().where(Report.account == account.id).order_by(Report.issued_at, Report.id)
    assert [r["code"] for r in exported_reports] == [r.code for r in mine]
    by_code = {r["code"]: r for r in exported_reports}
    report, closed = person["report"], person["closed"]
    assert by_code[report.code]["status"] == "valid" and by_code[closed.code]["status"] == "closed"
    assert by_code[report.code]["snapshot"] == reports.snapshot_of(report)
    assert archive.read(f"reports/{report.code}.pdf") == files.read(report.pdf_path)
    assert by_code[closed.code]["pdf"] is None

    checks = read_json(archive, "verifications.json")
    assert [(c["type"], c.get("report_code"), c["ip"]) for c in checks] == [
        ("report", report.code, "1.2.3.4"), ("report", closed.code, "1.2.3.5"),
        ("public_check", None, "5.6.7.8")]
    assert checks[2]["certificate_number"] == person["diploma"].certificate_number
    assert len(read_csv(archive, "verifications.csv")) == 1 + 3

    corrections = read_json(archive, "corrections.json")
    assert corrections[0]["proposed_value"] == "计算机科学" and corrections[0]["field_label"] == "专业"
    assert archive.read(corrections[0]["evidence"]) == b"%PDF evidence"

    appeals = read_json(archive, "appeals.json")
    assert appeals == [{"reference": None, "status": "pending",
                        "created_at": appeals[0]["created_at"], "decided_at": None,
                        "holder_answer": "这是我的证件号码。", "holder_answered_at": None}]

    logins = read_json(archive, "logins.json")
    assert [e["success"] for e in logins] == [True, False, True]
    assert len(read_csv(archive, "logins.csv")) == 1 + 3
    sessions = read_json(archive, "sessions.json")
    assert len(sessions) == 1 and "token_hash" not in sessions[0]
    readme = archive.read("README.txt").decode("utf-8")
    assert "Asia/Shanghai" in readme and "profile.json" in readme and "+08:00" in readme


def test_another_persons_data_is_absent(person):
    archive = export(person["account"])
    everything = b"".join(archive.read(name) for name in archive.namelist()).decode("utf-8", "replace")
    for theirs in ("sun@example.edu.cn", OTHER_ID, "13900009999", person["other_report"].code,
                   "别人的专业", "别人的单位", "9.9.9.9", "9.9.9.8", "10.9.9.9", "%PDF other",
                   # the appellant's details and the withdrawn record
                   "appellant@example.com", "13700001111", "李四", "A2026-0001", "被撤销的专业"):
        assert theirs not in everything, theirs


def test_csv_cells_are_neutralised(person):
    archive = export(person["account"])
    checks = read_csv(archive, "verifications.csv")
    assert "'=HYPERLINK(1)" in checks[1]
    assert "'=计算机" in read_csv(archive, "records/diploma.csv")[1]
    # JSON keeps the value as it is.
    assert read_json(archive, "records.json")["diploma"][0]["major"] == "=计算机"


def test_an_approved_appeal_shows_its_reference_to_the_appellant(person):
    Appeal.update(status=Appeal.APPROVED, decided_at=utcnow()).execute()
    appeals = read_json(export(person["account"]), "appeals.json")
    assert appeals[0]["reference"] == "A2026-0001" and appeals[0]["decided_at"].endswith("+08:00")


# --- the code and the one download ------------------------------------------------------

def passed(account, postman, fixed_code):
    challenge, shown_to = my_data.start(account, postman=postman, ip="1.1.1.1")
    challenges.check_code(challenge, fixed_code)
    return Challenge.get_by_id(challenge.id), shown_to


def test_a_right_code_buys_one_download(person, postman, outbox, fixed_code):
    account = person["account"]
    challenge, shown_to = my_data.start(account, postman=postman, ip="1.1.1.1")
    assert shown_to.endswith("138****5678") and outbox.last()["to"] == "+8613812345678"
    assert "下载学信档案中的全部个人数据" in outbox.last()["body"]
    assert not my_data.claim(challenge, ip="1.1.1.1")        # no code yet
    challenges.check_code(challenge, fixed_code)
    assert my_data.ready(challenge)
    assert my_data.claim(challenge, ip="1.1.1.1")
    assert not my_data.claim(Challenge.get_by_id(challenge.id), ip="1.1.1.1")
    assert my_data.find(challenge.token, account) is None
    entries = AuditEntry.select().where(AuditEntry.action == "account.data_downloaded")
    assert [(e.account_id, e.ip) for e in entries] == [(account.id, "1.1.1.1")]


def test_the_challenge_is_the_accounts_own_and_expires(person, postman, fixed_code):
    challenge, _ = passed(person["account"], postman, fixed_code)
    assert my_data.find(challenge.token, person["other"]) is None
    later = utcnow() + challenges.MY_DATA.lifetime + datetime.timedelta(seconds=1)
    assert challenges.find(challenges.MY_DATA, challenge.token, now=later) is None


def test_two_downloads_at_once_one_wins(app, person, postman, fixed_code):
    """Two requests with the same verified challenge, on two connections at once."""
    challenge, _ = passed(person["account"], postman, fixed_code)
    barrier, results = threading.Barrier(2), []

    def download():
        with models.db.connection_context():
            mine = Challenge.get_by_id(challenge.id)
            barrier.wait()
            results.append(my_data.claim(mine, ip="2.2.2.2"))

    threads = [threading.Thread(target=download) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, True]
    assert AuditEntry.select().where(AuditEntry.action == "account.data_downloaded").count() == 1


def test_code_by_email_where_sms_does_not_reach(app_factory, make_account):
    app = app_factory(INTERNATIONAL_SMS=False)
    with app.app_context(), models.db.connection_context():
        abroad = make_account(username="wang@example.edu.cn", phone="+447911123456")
        _, shown_to = my_data.start(abroad, postman=app.extensions["postman"], ip="")
        assert "@" in shown_to
        nowhere = make_account(username="li@example.com", phone="+447911123457",
                               id_number=OTHER_ID)
        with pytest.raises(my_data.MyDataError):
            my_data.start(nowhere, postman=app.extensions["postman"], ip="")
        assert Challenge.select().where(Challenge.account == nowhere.id).count() == 0


# --- streaming ----------------------------------------------------------------------------

def test_the_zip_is_written_a_chunk_at_a_time(person):
    """Many large PDFs: the chunks come one entry part at a time and memory stays far
    below the size of the archive (nothing holds the whole ZIP)."""
    account, diploma = person["account"], person["diploma"]
    size, count = 256 * 1024, 40
    for n in range(count):
        add_report(account, diploma, pdf=os.urandom(size))
    tracemalloc.start()
    try:
        total = biggest = chunks = 0
        for chunk in my_data.zip_stream(my_data.entries(account, tz=TZ), tz=TZ):
            total += len(chunk)
            biggest = max(biggest, len(chunk))
            chunks += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total > size * count
    assert chunks > count and biggest < 2 * size
    assert peak < total / 4, (peak, total)
