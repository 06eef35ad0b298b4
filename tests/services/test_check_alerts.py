"""services.check_alerts: 查验提醒, at most one message an hour per report, no check lost."""
import datetime
import threading

import pytest

import models
from models import AuditEntry, Report, Verification
from services import check_alerts, reports
from services.check_alerts import COUNTED, FAILED, OFF, SENT
from services.messaging import HttpSmsGateway, OutboxBackend
from services.postman import Postman
from tests.factories import Outbox, create_account

T0 = datetime.datetime(2026, 11, 28, 8, 0, 0)  # 16:00 in Shanghai
MINUTE = datetime.timedelta(minutes=1)


@pytest.fixture
def owner(make_account):
    return make_account(username="li@example.edu.cn", real_name="李四", phone="+8613812345678")


@pytest.fixture
def report(owner, make_record, db):
    diploma = make_record("diploma", account=owner.id)
    return Report.create(account=owner, kind="diploma", record_id=diploma.id,
                         code=reports.new_code(), snapshot="{}", issued_at=T0,
                         expires_at=T0 + datetime.timedelta(days=90), alert_checks=True)


def check(report, postman, at, organisation="华东某科技有限公司", purpose="入职核验",
          channel=Verification.WEB):
    """One check as views.log_check makes it: the 查验记录 line, then the alert."""
    verification = reports.log_verification(report, channel, organisation=organisation,
                                            purpose=purpose, ip="203.0.113.9",
                                            outcome=reports.VALID)
    Verification.update(at=at).where(Verification.id == verification.id).execute()
    verification.at = at
    return check_alerts.checked(report, verification, postman=postman, now=at)


def state(report):
    row = Report.get_by_id(report.id)
    return row.alerted_at, row.alerts_pending


def test_no_alert_while_it_is_off(report, postman, outbox):
    Report.update(alert_checks=False).execute()
    report.alert_checks = False
    assert check(report, postman, T0) == OFF
    assert outbox.messages() == [] and state(report) == (None, 0)


def test_the_first_check_sends_an_sms_with_what_the_verifier_typed(report, postman, outbox):
    assert check(report, postman, T0, channel=Verification.API) == SENT
    message = outbox.last()
    assert (message["channel"], message["to"]) == ("sms", "+8613812345678")
    assert message["body"] == (
        "【示范大学】你的《学历证书电子注册备案表》于 2026-11-28 16:00 经API被查验，"
        "查验方自填单位：华东某科技有限公司，用途：入职核验。详情见学信档案查验记录。")
    assert state(report) == (T0, 0)


def test_checks_within_the_hour_are_counted_and_told_by_the_next_message(report, postman, outbox):
    assert check(report, postman, T0) == SENT
    assert check(report, postman, T0 + 10 * MINUTE) == COUNTED
    assert check(report, postman, T0 + 59 * MINUTE, organisation="") == COUNTED
    assert len(outbox.messages()) == 1 and state(report) == (T0, 2)
    later = T0 + 61 * MINUTE
    assert check(report, postman, later, organisation="乙公司", purpose="背景调查") == SENT
    body = outbox.last()["body"]
    assert "2026-11-28 17:01" in body and "乙公司" in body and "背景调查" in body
    assert "此前另有 2 次查验。" in body
    assert len(outbox.messages()) == 2 and state(report) == (later, 0)


def test_send_due_sums_up_the_checks_no_later_check_told(report, postman, outbox):
    check(report, postman, T0)
    check(report, postman, T0 + 5 * MINUTE, organisation="甲公司")
    check(report, postman, T0 + 20 * MINUTE, organisation="丙公司", purpose="资格审查")
    assert check_alerts.send_due(postman=postman, now=T0 + 59 * MINUTE) == 0
    assert check_alerts.send_due(postman=postman, now=T0 + 61 * MINUTE) == 1
    body = outbox.last()["body"]
    # The latest check, and the one before it since the last message.
    assert "2026-11-28 16:20" in body and "丙公司" in body and "资格审查" in body
    assert "此前另有 1 次查验。" in body
    assert state(report) == (T0 + 61 * MINUTE, 0)
    assert check_alerts.send_due(postman=postman, now=T0 + 3 * 60 * MINUTE) == 0
    assert len(outbox.messages()) == 2


def test_send_due_skips_reports_whose_alerts_were_switched_off(report, postman, outbox):
    check(report, postman, T0)
    check(report, postman, T0 + MINUTE)
    assert check_alerts.set_alerts(report, False) is True
    assert state(report) == (T0, 0)
    assert check_alerts.send_due(postman=postman, now=T0 + 2 * 60 * MINUTE) == 0
    assert len(outbox.messages()) == 1


def test_the_send_alerts_command(app, runner, report, postman, outbox):
    now = models.utcnow()
    check(report, postman, now - 2 * 60 * MINUTE)
    check(report, postman, now - 100 * MINUTE, organisation="丁公司")
    result = runner.invoke(args=["send-alerts"])
    assert result.exit_code == 0 and "1 check alert(s) sent" in result.output
    assert "丁公司" in outbox.last()["body"]
    assert runner.invoke(args=["send-alerts"]).output.startswith("0 check alert(s) sent")


def test_switching_is_audited_once_per_change(report):
    assert check_alerts.set_alerts(report, True) is False  # already on
    assert check_alerts.set_alerts(report, False, ip="198.51.100.7") is True
    assert check_alerts.set_alerts(report, False) is False
    assert check_alerts.set_alerts(report, True) is True
    entries = AuditEntry.select().where(AuditEntry.action.startswith("report.alerts"))
    assert [(entry.action, entry.detail) for entry in entries.order_by(AuditEntry.id)] == [
        ("report.alerts_off", str(report.id)), ("report.alerts_on", str(report.id))]


def test_an_sms_that_cannot_go_is_not_lost(app, report, outbox):
    """A refused gateway: the check still succeeds, and its count waits for send_due."""
    broken = Postman({"sms": HttpSmsGateway(url="http://127.0.0.1:9/sms", timeout=2),
                      "email": OutboxBackend(app.config["OUTBOX_PATH"])}, "示范大学")
    assert check(report, broken, T0) == FAILED
    assert state(report) == (T0, 1)
    assert check(report, broken, T0 + MINUTE) == COUNTED
    assert check_alerts.send_due(postman=app.extensions["postman"], now=T0 + 61 * MINUTE) == 1
    assert "此前另有 1 次查验。" in outbox.last()["body"]


def test_without_sms_abroad_the_alert_goes_by_e_mail(app_factory):
    app = app_factory(INTERNATIONAL_SMS=False)
    owner = create_account(app, 1, username="abroad@example.com", phone="+447911123456")
    with app.app_context(), models.db.connection_context():
        report = Report.create(account=owner, kind="degree", record_id=1,
                               code=reports.new_code(), snapshot="{}", issued_at=T0,
                               expires_at=T0 + datetime.timedelta(days=30), alert_checks=True)
        assert check(report, app.extensions["postman"], T0, purpose="签证材料") == SENT
    message = Outbox(app.config["OUTBOX_PATH"]).last()
    assert (message["channel"], message["to"]) == ("email", "abroad@example.com")
    assert message["subject"] == "示范大学 学信档案查验提醒"
    assert "《学位在线验证报告》" in message["body"] and "用途：签证材料" in message["body"]


@pytest.mark.parametrize("typed, limit, expected", [
    ("  华东某科技\n有限公司 ", 20, "华东某科技 有限公司"),
    ("请访问 http://evil.example/x 领奖", 100, "请访问 … 领奖"),
    ("退款点evil.cn/pay即可", 100, "…"),  # no spaces in Chinese: the whole run goes
    ("www.evil.com", 100, "…"),
    ("【某银行】您的账户异常", 100, "某银行您的账户异常"),
    ("Acme Co., Ltd.", 100, "Acme Co., Ltd."),
    ("abc\u202edef\u0000", 100, "abc def"),
    ("一二三四五六七八九十一二三四五六七八九十一二", 20, "一二三四五六七八九十一二三四五六七八九…"),
    (None, 20, ""),
])
def test_the_verifiers_words_are_neutralised(typed, limit, expected):
    assert check_alerts.neutral(typed, limit) == expected


def test_concurrent_checks_send_one_message_and_count_the_rest(app, report, outbox):
    """N checks at the same moment, each on its own connection to the SQLite file."""
    n = 8
    barrier = threading.Barrier(n)
    results, postman = [], app.extensions["postman"]

    def run():
        with models.db.connection_context():
            barrier.wait()
            results.append(check(report, postman, T0, organisation="并发单位"))

    threads = [threading.Thread(target=run) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(results) == sorted([SENT] + [COUNTED] * (n - 1))
    assert len(outbox.messages()) == 1
    assert state(report) == (T0, n - 1)
