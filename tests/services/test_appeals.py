"""申诉: deciding an appeal frees the ID number and tells both people."""
import datetime
import io

import pytest
from PIL import Image

from models import Account, Appeal, AuditEntry
from services import appeals
from tests.factories import PASSWORD, resident_id, sign_in_staff, walk_to


def file_appeal(client, id_number="11010519491231002X"):
    buffer = io.BytesIO()
    Image.new("RGB", (30, 40)).save(buffer, "JPEG")
    buffer.seek(0)
    response = client.post("/register/appeal", content_type="multipart/form-data", data=dict(
        real_name="周八", id_type="居民身份证", id_number=id_number,
        contact_email="zhou@example.com", photo=(buffer, "me.jpg")))
    assert response.status_code == 200
    return Appeal.get(Appeal.contact_email == "zhou@example.com")


@pytest.fixture
def squatter(make_account):
    return make_account(username="squat@example.edu.cn", real_name="周八",
                        id_number="11010519491231002X", phone="13812345678")


def decide(app, appeal, approve, reason):
    return appeals.decide(appeal, approve, reason, actor="registrar",
                          postman=app.extensions["postman"])


def test_approval_frees_the_id_and_ends_the_old_sessions(app, client, squatter, outbox, db):
    old_session = app.test_client()
    old_session.post("/login", data={"login": "squat@example.edu.cn", "password": PASSWORD})
    appeal = file_appeal(client)
    decide(app, appeal, True, "")
    owner = Account.get_by_id(squatter.id)
    assert owner.id_number is None and owner.id_number_index is None
    assert old_session.get("/account/").status_code == 302
    sms, mail = outbox.messages()[-2:]
    assert sms["channel"] == "sms" and sms["to"] == "+8613812345678" and "解除" in sms["body"]
    assert mail["channel"] == "email" and mail["to"] == "zhou@example.com"
    assert appeal.reference in mail["body"] and "已通过" in mail["body"]
    actions = {e.action for e in AuditEntry.select()}
    assert {"appeal.filed", "appeal.approved", "account.id_released"} <= actions


def test_after_approval_the_appellant_can_register(app, client, squatter, outbox):
    appeal = file_appeal(client)
    decide(app, appeal, True, "")
    walk_to(client, outbox, "confirm", real_name="周八")
    assert client.post("/register/confirm", data={"yes": "1"}).status_code == 303
    page = client.get("/account/appeals").get_data(as_text=True)
    assert appeal.reference in page and "已通过" in page


def test_rejection_needs_a_reason_and_keeps_the_account(app, client, squatter, outbox, db):
    appeal = file_appeal(client)
    with pytest.raises(appeals.AppealError):
        decide(app, appeal, False, "  ")
    decide(app, appeal, False, "照片看不清证件号码")
    assert Account.get_by_id(squatter.id).id_number == "11010519491231002X"
    assert "照片看不清证件号码" in outbox.last()["body"]
    with pytest.raises(appeals.AppealError):
        decide(app, appeal, True, "")


def test_status_lookup_needs_reference_and_id(client, db):
    appeal = file_appeal(client)
    typed = appeal.reference.lower().replace("-", " ")
    found = client.post("/register/appeal/status", data={"reference": typed,
                                                         "id_number": "110105491231002"})
    assert found.status_code == 200 and "待处理" in found.get_data(as_text=True)
    wrong_id = client.post("/register/appeal/status", data={"reference": appeal.reference,
                                                            "id_number": "440524188001010014"})
    assert wrong_id.status_code == 422 and "没有找到" in wrong_id.get_data(as_text=True)
    empty = client.post("/register/appeal/status", data={"reference": "", "id_number": ""})
    assert empty.status_code == 422


def test_cli_decides_an_appeal(app, client, runner, squatter, db):
    appeal = file_appeal(client)
    result = runner.invoke(args=["decide-appeal", appeal.reference, "--approve"])
    assert result.exit_code == 0, result.output
    assert Appeal.get_by_id(appeal.id).status == Appeal.APPROVED
    again = runner.invoke(args=["decide-appeal", appeal.reference, "--reject", "--reason", "x"])
    assert again.exit_code != 0 and "已经处理过" in again.output
    missing = runner.invoke(args=["decide-appeal", "SS20000101-XXXXXX", "--approve"])
    assert missing.exit_code != 0


def test_approval_unbinds_the_records_that_carry_the_id(app, client, squatter, make_record, db):
    from services import binding
    make_record("diploma", name="周八")
    binding.auto_bind(squatter, since_year=1991)
    from models import Diploma
    assert Diploma.get().account_id == squatter.id
    appeal = file_appeal(client)
    decide(app, appeal, True, "")
    assert Diploma.get().account_id is None and Diploma.get().bound_by is None


# --- the ID holder's side (issue 9, item 14) ----------------------------------

def holder_client(app, username="squat@example.edu.cn"):
    holder = app.test_client()
    assert holder.post("/login", data={"login": username, "password": PASSWORD}).status_code == 303
    return holder


def test_the_holder_sees_a_notice_without_the_reference(app, client, squatter, db):
    appeal = file_appeal(client)
    page = holder_client(app).get("/account/appeals").get_data(as_text=True)
    assert "有人提交了关于你的证件号码的申诉，学校正在核实。" in page
    assert appeal.reference not in page
    assert "zhou@example.com" not in page and "周八" not in page.split('id="appeal-list"')[1]


def test_the_holder_answers_and_staff_see_it(app, client, squatter, db):
    appeal = file_appeal(client)
    holder = holder_client(app)
    empty = holder.post(f"/account/appeals/{appeal.id}/answer", data={"answer": "  "})
    assert empty.status_code == 422 and "请填写你的说明" in empty.get_data(as_text=True)
    long = holder.post(f"/account/appeals/{appeal.id}/answer", data={"answer": "长" * 501})
    assert long.status_code == 422 and "最多 500 字" in long.get_data(as_text=True)
    assert Appeal.get_by_id(appeal.id).holder_answer is None
    done = holder.post(f"/account/appeals/{appeal.id}/answer",
                       data={"answer": "这是我本人的证件号码，2019 年入学时登记。"})
    assert done.status_code == 303 and done.headers["Location"] == "/account/appeals"
    stored = Appeal.get_by_id(appeal.id)
    assert stored.holder_answer == "这是我本人的证件号码，2019 年入学时登记。"
    assert stored.holder_answered_at is not None and stored.status == Appeal.PENDING
    raw = db.execute_sql("SELECT holder_answer FROM appeal WHERE id = ?", (appeal.id,)).fetchone()[0]
    assert "本人" not in raw  # encrypted at rest
    assert "2019 年入学时登记" in holder.get("/account/appeals").get_data(as_text=True)
    assert AuditEntry.select().where(AuditEntry.action == "appeal.answered").count() == 1
    # Staff see it on the appeal page.
    from services import accounts
    accounts.create_or_reset_admin("office", "Desk-pass-2026")
    staff = app.test_client()
    sign_in_staff(staff, "office", "Desk-pass-2026")
    page = staff.get(f"/admin/appeals/{appeal.id}").get_data(as_text=True)
    assert "2019 年入学时登记" in page.split('id="appeal-holder-answer"')[1][:200]


def test_a_stranger_cannot_answer(app, client, squatter, make_account, db):
    appeal = file_appeal(client)
    make_account(username="other@example.edu.cn", id_number=resident_id(), phone="13900001111")
    stranger = holder_client(app, "other@example.edu.cn")
    for data in ({"answer": "不是他的"}, {"answer": ""}):
        response = stranger.post(f"/account/appeals/{appeal.id}/answer", data=data)
        assert response.status_code == 404
    assert "有人提交" not in stranger.get("/account/appeals").get_data(as_text=True)
    assert Appeal.get_by_id(appeal.id).holder_answer is None
    anonymous = app.test_client().post(f"/account/appeals/{appeal.id}/answer", data={"answer": "x"})
    assert anonymous.status_code == 302


def test_no_answer_after_the_decision(app, client, squatter, db):
    appeal = file_appeal(client)
    decide(app, appeal, False, "照片看不清证件号码")
    holder = holder_client(app)
    page = holder.get("/account/appeals").get_data(as_text=True)
    assert "学校核实后没有通过" in page and "照片看不清" not in page and appeal.reference not in page
    response = holder.post(f"/account/appeals/{appeal.id}/answer", data={"answer": "补充"})
    assert response.status_code == 422 and "已经处理" in response.get_data(as_text=True)


# --- reports on the moved records are withdrawn (issue 10, queues) ------------------

def report_on(owner, kind, record, *, expires_in_days=30, closed=False):
    from models import Report, utcnow
    from services import reports
    now = utcnow()
    return Report.create(account=owner, kind=kind, record_id=record.id, code=reports.new_code(),
                         snapshot="{}", issued_at=now - datetime.timedelta(days=40),
                         expires_at=now + datetime.timedelta(days=expires_in_days),
                         closed_at=now - datetime.timedelta(days=1) if closed else None)


def test_approval_withdraws_the_previous_holders_valid_reports(app, client, squatter, make_record,
                                                               outbox, db):
    from models import Report
    from services import reports
    diploma = make_record("diploma", name="周八", account=squatter.id)
    degree = make_record("degree", name="周八", account=squatter.id)
    # A record bound to the squatter under another ID number stays theirs.
    own = make_record("enrollment", name="周八", account=squatter.id, id_number=resident_id(),
                      birth_date="2001-02-03", gender="男")
    valid = report_on(squatter, "diploma", diploma)
    also_valid = report_on(squatter, "degree", degree)
    expired = report_on(squatter, "diploma", diploma, expires_in_days=-3)
    closed = report_on(squatter, "degree", degree, closed=True)
    untouched = report_on(squatter, "enrollment", own)
    appeal = file_appeal(client)
    decide(app, appeal, True, "")

    def state(report):
        return reports.status_of(Report.get_by_id(report.id))
    assert (state(valid), state(also_valid)) == ("withdrawn", "withdrawn")
    assert Report.get_by_id(valid.id).withdrawn_at == Appeal.get_by_id(appeal.id).decided_at
    assert (state(expired), state(closed), state(untouched)) == ("expired", "closed", "valid")
    assert reports.lookup(valid.code).outcome == reports.WITHDRAWN
    # Verifiers are refused like for any report that no longer counts (wording: issue 10, reports).
    assert client.get(f"/verify/{valid.code}").status_code == 410
    assert client.get(f"/api/v1/reports/{valid.code}").get_json() == {"status": "withdrawn"}
    withdrawn = AuditEntry.select().where(AuditEntry.action == "report.withdrawn")
    assert sorted(int(e.detail.split()[0]) for e in withdrawn) == sorted([valid.id, also_valid.id])
    assert {e.account_id for e in withdrawn} == {squatter.id}
    # Both people are told: the holder (SMS, naming the withdrawn reports), the appellant (e-mail).
    sms, mail = outbox.messages()[-2:]
    assert sms["to"] == "+8613812345678" and "2 份在线验证报告" in sms["body"]
    assert "学历证书电子注册备案表" in sms["body"] and "学位在线验证报告" in sms["body"]
    assert mail["to"] == "zhou@example.com" and "已通过" in mail["body"]
    assert "报告" not in mail["body"]   # nothing about the previous holder's reports
    # The record is free for a new report once bound to the appellant.
    assert reports.current_report("diploma", diploma.id) is None


def test_a_rejected_appeal_withdraws_nothing(app, client, squatter, make_record, outbox, db):
    from services import reports
    diploma = make_record("diploma", name="周八", account=squatter.id)
    valid = report_on(squatter, "diploma", diploma)
    decide(app, file_appeal(client), False, "照片看不清证件号码")
    assert reports.lookup(valid.code).outcome == reports.VALID


def test_no_reports_no_mention(app, client, squatter, outbox, db):
    decide(app, file_appeal(client), True, "")
    sms = outbox.messages()[-2]
    assert sms["channel"] == "sms" and "报告" not in sms["body"]


def test_appeal_queue_and_count(client, db):
    file_appeal(client)
    items, total, page = appeals.queue(Appeal.PENDING)
    assert (len(items), total, page) == (1, 1, 1) and appeals.pending_count() == 1
