"""注销账号 on /account/close: password, 校验码, the close; with JS off and with htmx."""
import pytest

from models import Account, Diploma, Report
from tests.factories import (EXAMPLE_ID, PASSWORD, issue_report, minimal_pdf, sign_in,
                             signed_in_staff, walk_to)

HX = {"HX-Request": "true"}


def text(response):
    return response.get_data(as_text=True)


@pytest.fixture
def student(make_account):
    return make_account(username="wang@example.edu.cn", real_name="王𠮷",
                        id_number=EXAMPLE_ID, phone="13812345678")


@pytest.fixture
def diploma(make_record):
    return make_record("diploma", name="王𠮷")


@pytest.fixture
def signed_in(client, student, diploma):
    sign_in(client, "wang@example.edu.cn")   # binds the diploma (name + ID number)
    return client


def error_of(page, field):
    return page.split(f'id="{field}-error">', 1)[1].split("</p>", 1)[0]


def test_the_profile_leads_to_closing(signed_in):
    assert 'href="/account/close"' in text(signed_in.get("/account/"))


@pytest.mark.parametrize("headers", [{}, HX])
def test_the_page_explains_the_consequences(signed_in, headers):
    response = signed_in.get("/account/close", headers=headers)
    page = text(response)
    assert response.status_code == 200 and ("<html" in page) == (not headers)
    assert 'id="close-consequences"' in page and "30 天后删除" in page
    assert "仍可通过学历公开查询核实" in page  # the diplomas stay publicly checkable
    assert 'name="current_password"' in page


@pytest.mark.parametrize("headers", [{}, HX])
def test_a_wrong_password_is_shown_beside_it(signed_in, outbox, headers):
    response = signed_in.post("/account/close", data={"current_password": "wrong-pass-1"},
                              headers=headers)
    assert response.status_code == 422
    assert "当前密码不正确" in error_of(text(response), "current-password")
    assert not any("注销" in message["body"] for message in outbox.messages())


def test_staff_have_no_close_page(app, db):
    staff = signed_in_staff(app, "root")
    assert staff.get("/account/close").status_code == 404
    assert 'href="/account/close"' not in text(staff.get("/account/"))


def test_closing_with_js_off(app, signed_in, outbox, diploma):
    report = issue_report(app, Account.get(), Diploma.get_by_id(diploma.id),
                          render=lambda snapshot: minimal_pdf())
    response = signed_in.post("/account/close", data={"current_password": PASSWORD})
    assert response.status_code == 303 and response.headers["Location"] == "/account/close"
    assert "注销学信档案账号" in outbox.last()["body"]
    page = text(signed_in.get("/account/close"))
    assert 'id="close-account-confirm"' in page and "+86 138****5678" in page

    wrong = signed_in.post("/account/close/check", data={"code": "000000", "channel": "sms"})
    assert wrong.status_code == 422 and "校验码" in error_of(text(wrong), "code")
    assert signed_in.post("/account/close/send", data={"channel": "sms"}).status_code in (200, 422)

    code = [m for m in outbox.messages() if "注销" in m["body"]][-1]["body"].split("校验码 ")[1][:6]
    done = signed_in.post("/account/close/check", data={"code": code, "channel": "sms"})
    assert done.status_code == 303 and done.headers["Location"] == "/login"
    assert "账号已注销" in text(signed_in.get("/login"))
    assert signed_in.get("/account/").status_code == 302   # this session ended

    again = app.test_client().post("/login", data={"login": "wang@example.edu.cn",
                                                   "password": PASSWORD})
    assert again.status_code == 422 and "用户名或密码不正确" in text(again)
    verified = app.test_client().get(f"/verify/{report.code}")
    assert verified.status_code == 410 and "该报告已被本人关闭" in text(verified)
    assert Diploma.get_by_id(diploma.id).account_id is None
    assert "账号已注销" in outbox.last()["body"]


def test_closing_with_htmx(signed_in, outbox, fixed_code):
    response = signed_in.post("/account/close", data={"current_password": PASSWORD}, headers=HX)
    assert response.status_code == 200 and response.headers["HX-Push-Url"] == "/account/close"
    assert "<html" not in text(response) and 'id="close-account-confirm"' in text(response)
    wrong = signed_in.post("/account/close/check", data={"code": "000000", "channel": "sms"},
                           headers=HX)
    assert wrong.status_code == 422 and 'id="code-error"' in text(wrong)
    done = signed_in.post("/account/close/check", data={"code": fixed_code, "channel": "sms"},
                          headers=HX)
    assert done.status_code == 200 and done.headers["HX-Redirect"] == "/login"
    assert Account.get().closed_at is not None


def test_cancel_leaves_the_account_open(signed_in, outbox):
    signed_in.post("/account/close", data={"current_password": PASSWORD})
    assert signed_in.post("/account/close/cancel").status_code == 303
    assert 'name="current_password"' in text(signed_in.get("/account/close"))
    assert signed_in.post("/account/close/check", data={"code": "000042"}).status_code == 303
    assert Account.get().closed_at is None


def test_the_same_person_registers_again_and_the_records_come_back(app, signed_in, outbox,
                                                                    diploma, fixed_code):
    signed_in.post("/account/close", data={"current_password": PASSWORD})
    signed_in.post("/account/close/check", data={"code": fixed_code})
    old = Account.get(Account.closed_at.is_null(False))

    client = app.test_client()
    walk_to(client, outbox, "confirm")   # the same username, name, ID number and phone
    response = client.post("/register/confirm", data={"yes": "1"})
    assert response.status_code == 303, text(response)
    new = Account.get(Account.username == "wang@example.edu.cn")
    assert new.id != old.id and new.id_number == EXAMPLE_ID
    assert Diploma.get_by_id(diploma.id).account_id == new.id
    assert not Report.select().where(Report.account == new.id).exists()
    assert "汉语言文学" in text(client.get("/records/"))
