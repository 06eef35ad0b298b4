"""No silent dead ends: records older than the eligibility year are named plainly
(at the end of registration, on /records, at binding by certificate or number),
with the registrar's contacts and a link to the help, and nothing of a record."""
import datetime

import pytest

from models import BindAttempt
from services import binding, settings
from tests.factories import walk_to

HX = {"HX-Request": "true"}
CONTACTS = dict(SCHOOL_OFFICE="学生处学籍管理科", SCHOOL_PHONE="010-12345678",
                SCHOOL_CONTACT="registrar@demo.edu.cn", SCHOOL_ADDRESS="行政楼 201 室",
                SCHOOL_HOURS="工作日 8:30–11:30")


def text(response):
    return response.get_data(as_text=True)


@pytest.fixture
def app(app_factory):
    return app_factory(ELIGIBLE_SINCE_YEAR=2001, **CONTACTS)


def old_diploma(make_record, **fields):
    return make_record("diploma", graduation_date=datetime.date(1995, 7, 1),
                       certificate_number="NO.0012345", **fields)


def assert_plain_answer(body):
    assert "早于 2001 年" in body and "不在网上查询范围内" in body
    for value in CONTACTS.values():
        assert value in body
    assert 'href="/help/records"' in body


def assert_nothing_of_the_record(body):
    assert "1995" not in body and "0012345" not in body and "汉语言文学" not in body


# --- the service ----------------------------------------------------------------

def test_only_before_needs_matching_records_all_before_the_year(app, db, make_account, make_record):
    account = make_account()
    assert not binding.only_before(account, 2001)           # no records at all
    old = old_diploma(make_record)
    assert binding.only_before(account, 2001)
    assert not binding.only_before(account, 1991)            # the school shows 1995 then
    make_record("diploma", name="李四")                       # someone else's name: not counted
    assert binding.only_before(account, 2001)
    recent = make_record("degree")                           # 2019: waits to bind, not "too early"
    assert not binding.only_before(account, 2001)
    type(recent).delete().where(type(recent).id == recent.id).execute()
    type(old).update(account=account).where(type(old).id == old.id).execute()
    assert not binding.only_before(account, 2001)            # it has a record: not a dead end


def test_staff_and_accounts_without_an_id_are_never_told(app, db, make_account, make_record):
    old_diploma(make_record)
    assert not binding.only_before(make_account(id_number=None, username="x@example.edu.cn",
                                                phone="13900000001"), 2001)


# --- registration ------------------------------------------------------------------

def test_registration_ends_with_the_plain_answer(client, outbox, db, make_record):
    old_diploma(make_record, name="王𠮷")
    walk_to(client, outbox, "confirm")
    assert client.post("/register/confirm", data={"yes": "1"}).status_code == 303
    body = text(client.get("/register/done"))
    assert "注册成功" in body and "records-early" in body
    assert_plain_answer(body)
    assert_nothing_of_the_record(body)
    assert "自动找到并绑定" not in body


def test_registration_with_recent_records_is_not_told_anything_else(client, outbox, db,
                                                                      make_record):
    make_record("diploma", name="王𠮷")
    walk_to(client, outbox, "confirm")
    client.post("/register/confirm", data={"yes": "1"})
    body = text(client.get("/register/done"))
    assert "records-early" not in body and "自动找到并绑定" in body


# --- /records -----------------------------------------------------------------------

@pytest.mark.parametrize("headers", [{}, HX])
def test_records_page_says_why_it_is_empty(client, db, make_account, make_record, login, headers):
    make_account(username="zhang@example.edu.cn")
    old_diploma(make_record)
    make_record("admission", year=1990, candidate_number="90420106150001")
    login("zhang@example.edu.cn")
    response = client.get("/records/", headers=headers)
    body = text(response)
    assert response.status_code == 200
    assert ("<!doctype html>" in body) == (not headers)
    assert_plain_answer(body)
    assert_nothing_of_the_record(body)
    assert "records-empty-help" not in body


def test_records_page_without_any_record_keeps_the_general_hint(client, db, make_account, login):
    make_account(username="zhang@example.edu.cn")
    login("zhang@example.edu.cn")
    body = text(client.get("/records/"))
    assert "records-empty-help" in body and "records-early" not in body


# --- binding by hand ------------------------------------------------------------------

@pytest.mark.parametrize("headers", [{}, HX])
def test_a_certificate_year_before_the_limit_is_answered_plainly(client, db, make_account,
                                                                 make_record, login, headers):
    account = make_account(username="zhang@example.edu.cn", id_number=None)
    login("zhang@example.edu.cn")
    response = client.post("/records/bind", headers=headers, data=dict(
        kind="diploma", certificate_number="0099999", year="1998", school="示范大学"))
    body = text(response)
    assert response.status_code == 422
    assert ("<!doctype html>" in body) == (not headers)
    assert "你填写的年份 1998 早于 2001 年" in body and 'id="year-error"' in body
    for value in CONTACTS.values():
        assert value in body
    assert BindAttempt.select().where(BindAttempt.account == account.id).count() == 0


def test_bind_page_says_it_upfront_when_all_records_are_old(client, db, make_account,
                                                            make_record, login):
    make_account(username="zhang@example.edu.cn")
    old_diploma(make_record)
    login("zhang@example.edu.cn")
    body = text(client.get("/records/bind"))
    assert "bind-early" in body and "2001 年以前的学历、学位记录不在网上查询范围内" in body
    assert_nothing_of_the_record(body)


def test_number_check_names_the_year_instead_of_nothing_waiting(app, client, db, make_account,
                                                                 make_record, login):
    settings.save({"BIND_MODE": "number"}, defaults=app.config, actor="admin")
    account = make_account(username="zhang@example.edu.cn")
    old_diploma(make_record)
    login("zhang@example.edu.cn")
    with pytest.raises(binding.TooEarly, match="早于 2001 年"):
        binding.check_number(account, "0012345", since_year=2001, mode="number",
                             config={**app.config, "BIND_MODE": "number"})
    response = client.post("/records/number-check", data={"number": "0012345"})
    assert response.status_code == 422
    assert_plain_answer(text(response))          # the page around it says why
    assert BindAttempt.select().count() == 0
