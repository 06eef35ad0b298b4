"""查验提醒 through the test client: the switch on the report page and the issue form,
and the owner's messages when verifiers check the report on the web and the API."""
import pytest

from models import AuditEntry, Report
from tests.factories import sign_in

HX = {"HX-Request": "true"}


def text(response):
    return response.get_data(as_text=True)


@pytest.fixture
def owner(make_account):
    return make_account(username="zhang@example.edu.cn", real_name="张三", phone="13912345678")


def alerts_on(report):
    return Report.get_by_id(report.id).alert_checks


def test_the_report_page_offers_the_switch_off_by_default(signed_in, report):
    page = text(signed_in.get(f"/reports/{report.id}"))
    assert 'id="report-alerts"' in page and "开启提醒" in page and "未开启" in page
    assert f'action="/reports/{report.id}/alerts"' in page and 'value="on"' in page
    assert not alerts_on(report)


def test_switching_without_javascript(signed_in, report):
    response = signed_in.post(f"/reports/{report.id}/alerts", data={"alert_checks": "on"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/reports/{report.id}")
    assert alerts_on(report)
    page = text(signed_in.get(f"/reports/{report.id}"))
    assert "查验提醒已开启" in page and "关闭提醒" in page and 'value="off"' in page
    assert signed_in.post(f"/reports/{report.id}/alerts",
                          data={"alert_checks": "off"}).status_code == 303
    assert not alerts_on(report)
    actions = [entry.action for entry in AuditEntry.select().where(
        AuditEntry.action.startswith("report.alerts")).order_by(AuditEntry.id)]
    assert actions == ["report.alerts_on", "report.alerts_off"]


def test_switching_with_htmx_returns_the_switch(signed_in, report):
    response = signed_in.post(f"/reports/{report.id}/alerts", data={"alert_checks": "on"},
                              headers=HX)
    body = text(response)
    assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]
    assert body.lstrip().startswith("<section") and "<html" not in body
    assert 'id="report-alerts"' in body and "查验提醒已开启" in body and "关闭提醒" in body
    assert alerts_on(report)


@pytest.mark.parametrize("headers", [{}, HX])
def test_a_post_without_a_choice_is_refused_beside_the_switch(signed_in, report, headers):
    response = signed_in.post(f"/reports/{report.id}/alerts", data={"alert_checks": "maybe"},
                              headers=headers)
    assert response.status_code == 422
    assert "请用页面上的按钮开启或关闭查验提醒。" in text(response)
    assert ("<html" in text(response)) is not bool(headers)
    assert not alerts_on(report)


def test_only_the_owner_can_switch(app, report, make_account):
    make_account(username="wang@example.edu.cn", real_name="王五", id_number="440524188001010014")
    stranger = app.test_client()
    sign_in(stranger, "wang@example.edu.cn")
    for headers in ({}, HX):
        response = stranger.post(f"/reports/{report.id}/alerts", data={"alert_checks": "on"},
                                 headers=headers)
        assert response.status_code == 404
    assert not alerts_on(report)
    assert app.test_client().post(f"/reports/{report.id}/alerts",
                                  data={"alert_checks": "on"}).status_code == 302


def test_the_issue_form_can_switch_it_on(signed_in, diploma, db):
    page = text(signed_in.get(f"/reports/new/diploma/{diploma.id}"))
    assert 'name="alert_checks"' in page and "checked" not in page.split('name="alert_checks"')[1][:40]
    response = signed_in.post(f"/reports/new/diploma/{diploma.id}",
                              data={"months": "3", "alert_checks": "y"})
    assert response.status_code == 303
    assert Report.get().alert_checks


def test_checks_on_the_web_and_the_api_tell_the_owner(app, signed_in, report, outbox):
    signed_in.post(f"/reports/{report.id}/alerts", data={"alert_checks": "on"})
    sent_before = len(outbox.messages())
    verifier = app.test_client()
    response = verifier.post("/verify/", data={"code": report.code,
                                               "organisation": "示例人力资源有限公司",
                                               "purpose": "入职背景调查"})
    assert response.status_code == 200
    messages = outbox.messages()[sent_before:]
    assert len(messages) == 1
    assert messages[0]["channel"] == "sms" and messages[0]["to"] == "+8613912345678"
    assert "示例人力资源有限公司" in messages[0]["body"]
    assert "入职背景调查" in messages[0]["body"] and "经网页被查验" in messages[0]["body"]
    # Within the hour: counted, no second message, the check itself unaffected.
    assert verifier.get(f"/api/v1/reports/{report.code}").status_code == 200
    assert len(outbox.messages()) == sent_before + 1
    assert Report.get_by_id(report.id).alerts_pending == 1


def test_a_verifiers_link_never_reaches_the_owner(app, signed_in, report, outbox):
    signed_in.post(f"/reports/{report.id}/alerts", data={"alert_checks": "on"})
    app.test_client().post("/verify/", data={"code": report.code,
                                             "organisation": "【学校】请登录 https://evil.example/x",
                                             "purpose": "www.evil.example"})
    body = outbox.last()["body"]
    assert "evil" not in body and "http" not in body and body.count("【") == 1
