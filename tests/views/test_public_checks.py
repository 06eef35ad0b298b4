"""公开查询: /verify/diploma for anyone, and 账户 › 公开查询 (the switch and the checks)."""
import re

import pytest

from models import Account, AuditEntry, Diploma, PublicCheck, utcnow
from tests.factories import EXAMPLE_ID, create_record

HX = {"HX-Request": "true"}
NUMBER = "109991201905000001"
OTHER_ID = "440524188001010014"


def text(response):
    return response.get_data(as_text=True)


def outcome(response):
    """The outcome line alone (the form below it keeps what was typed)."""
    match = re.search(r'<p class="flash[^"]*" id="diploma-outcome"[^>]*>(.*?)</p>',
                      text(response), re.S)
    return match and match.group(1).strip()


@pytest.fixture
def diploma(db, make_record):
    return make_record("diploma", name="买买提·艾力", certificate_number=NUMBER,
                       photo="diploma/1.jpg")


@pytest.fixture
def old_diploma(db, make_record):
    return make_record("diploma", name="李四", certificate_number="NO.00298959",
                       school_number="982456", graduation_date="1998-07-01")


@pytest.fixture
def owner(db, make_account, diploma):
    account = make_account(username="owner@example.edu.cn", real_name="买买提·艾力")
    Diploma.update(account=account, bound_by="auto", bound_at=utcnow()).where(
        Diploma.id == diploma.id).execute()
    return account


def check(client, number=NUMBER, name="买买提·艾力", headers=None):
    return client.post("/verify/diploma", data={"number": number, "name": name},
                       headers=headers or {})


# --- the public page -----------------------------------------------------------------

@pytest.mark.parametrize("headers", [{}, HX])
def test_the_form(client, headers):
    response = client.get("/verify/diploma", headers=headers)
    page = text(response)
    assert response.status_code == 200 and response.vary.find("HX-Request") >= 0
    assert ("<html" in page) == (not headers)
    assert 'id="diploma-check"' in page and 'name="number"' in page and 'name="name"' in page
    assert 'action="/verify/diploma"' in page and 'hx-post="/verify/diploma"' in page


def test_linked_from_verify_and_help(client):
    assert 'href="/verify/diploma"' in text(client.get("/verify/"))
    assert 'href="/verify/diploma"' in text(client.get("/help/verifying"))


@pytest.mark.parametrize("headers", [{}, HX])
def test_found_shows_five_fields_and_never_the_id_or_birth_date(client, diploma, headers):
    response = check(client, headers=headers)
    page = text(response)
    assert response.status_code == 200
    assert ("<html" in page) == (not headers)
    assert "查到了与该证书编号和姓名相符的学历。" in outcome(response)
    found = re.search(r'<dl class="facts bilingual" id="diploma-found">(.*?)</dl>', page, re.S).group(1)
    assert found.count("<dt>") == 5
    for shown in ("示范大学", "本科", "汉语言文学", "2019-07-01", "毕业"):
        assert shown in found
    for hidden in (EXAMPLE_ID, EXAMPLE_ID[:6], EXAMPLE_ID[-4:], "1949", "<img", "/photo"):
        assert hidden not in page, hidden
    for label in ("出生日期", "证件号码", "性别", "姓名"):
        assert label not in found, label
    assert "no-store" in response.headers["Cache-Control"]
    assert PublicCheck.select().count() == 1


@pytest.mark.parametrize("typed", ["NO.00298959", "No.00298959", "00298959", "298959",
                                   "２９８９５９", "982456", "NO.0982456", "９８２４５６"])
def test_found_by_either_pre_2001_number(client, old_diploma, typed):
    response = check(client, typed, "李四")
    assert response.status_code == 200 and "1998-07-01" in text(response)


def test_found_with_a_full_width_number_and_another_middle_dot(client, diploma):
    assert check(client, "１０９９９１２０１９０５０００００１", "买买提•艾力").status_code == 200


def test_every_miss_is_the_same_neutral_not_found(client, diploma, owner, make_record, login):
    withdrawn = make_record("diploma", name="王五", certificate_number="109991201905000077",
                            withdrawn_at=utcnow(), withdrawn_reason="x")
    misses = [check(client, NUMBER, "买买提"),                       # wrong name
              check(client, "109991201905009999", "买买提·艾力"),     # unknown number
              check(client, withdrawn.certificate_number, "王五")]    # withdrawn
    login("owner@example.edu.cn")
    client.post("/account/public-checks", data={})                   # switched off
    client.post("/logout")
    misses.append(check(client))
    assert {response.status_code for response in misses} == {404}
    assert len({outcome(response) for response in misses}) == 1
    assert "没有查到与该证书编号和姓名相符的学历。" in outcome(misses[0])
    assert PublicCheck.select().count() == 0


@pytest.mark.parametrize("number, name, field, message", [
    ("", "张三", "number", "请填写证书编号。"),
    ("1" * 41, "张三", "number", "证书编号最多 40 个字符。"),
    ("证书", "张三", "number", "请填写证书编号（只含数字，可带“NO.”）。"),
    (NUMBER, "", "name", "请填写持证人姓名。"),
    (NUMBER, "张" * 31, "name", "姓名应为 2 到 30 个字。"),
    (NUMBER, "张三3", "name", "姓名只能包含汉字、间隔号“·”或英文字母。"),
])
@pytest.mark.parametrize("headers", [{}, HX])
def test_bad_input_is_422_beside_the_field(client, diploma, number, name, field, message,
                                           headers):
    response = check(client, number, name, headers=headers)
    page = text(response)
    assert response.status_code == 422
    assert ("<html" in page) == (not headers)
    assert f'<p class="error" id="{field}-error">{message}' in page
    assert 'id="diploma-outcome"' not in page
    assert PublicCheck.select().count() == 0


def test_rate_limited_with_the_other_checks(app_factory):
    app = app_factory(RATELIMIT_ENABLED=True, RATELIMIT_VERIFY="3 per minute")
    create_record("diploma", certificate_number=NUMBER)
    verifier = app.test_client()
    for _ in range(5):
        assert verifier.get("/verify/diploma").status_code == 200
    assert check(verifier, NUMBER, "张三").status_code == 200
    assert check(verifier, NUMBER, "李四").status_code == 404
    assert verifier.post("/verify/", data={"code": "ABCD"}).status_code == 422
    assert check(verifier, NUMBER, "张三").status_code == 429
    assert verifier.get("/verify/diploma").status_code == 200


def test_records_the_address(client, diploma):
    client.post("/verify/diploma", data={"number": NUMBER, "name": "买买提·艾力"},
                environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert PublicCheck.get().ip == "203.0.113.9"


# --- the owner's side ---------------------------------------------------------------

@pytest.mark.parametrize("headers", [{}, HX])
def test_the_owner_sees_the_checks_masked(client, owner, login, make_account, headers):
    client.post("/verify/diploma", data={"number": NUMBER, "name": "买买提·艾力"},
                environ_base={"REMOTE_ADDR": "203.0.113.9"})
    login("owner@example.edu.cn")
    response = client.get("/account/public-checks", headers=headers)
    page = text(response)
    assert response.status_code == 200 and ("<html" in page) == (not headers)
    assert 'id="public-check-list"' in page
    assert "203.0.113.*" in page and "203.0.113.9" not in page
    assert NUMBER in page and "checked" in page   # the switch shows it is on


def test_another_student_does_not_see_them(client, owner, make_account, login):
    make_account(username="other@example.edu.cn", real_name="王五", id_number=OTHER_ID)
    check(client)
    login("other@example.edu.cn")
    page = text(client.get("/account/public-checks"))
    assert 'id="public-check-none"' in page and NUMBER not in page


def test_an_unbound_diploma_is_found_and_logged_for_nobody(client, diploma, make_account, login):
    make_account(username="someone@example.edu.cn", real_name="买买提·艾力")
    assert check(client).status_code == 200
    assert PublicCheck.select().count() == 1
    login("someone@example.edu.cn")
    assert 'id="public-check-none"' in text(client.get("/account/public-checks"))


def test_the_account_page_links_the_section(client, owner, login):
    login("owner@example.edu.cn")
    assert 'href="/account/public-checks"' in text(client.get("/account/"))


@pytest.mark.parametrize("headers", [{}, HX])
def test_the_switch(client, owner, login, headers):
    login("owner@example.edu.cn")
    off = client.post("/account/public-checks", data={}, headers=headers)
    if headers:
        assert off.status_code == 200 and off.headers["HX-Redirect"] == "/account/public-checks"
    else:
        assert off.status_code == 303 and off.headers["Location"] == "/account/public-checks"
    assert Account.get_by_id(owner.id).public_checks is False
    page = text(client.get("/account/public-checks"))
    assert "公开查询已关闭" in page and 'id="allowed" name="allowed" type="checkbox" value="y">' in page
    assert check(client).status_code == 404
    on = client.post("/account/public-checks", data={"allowed": "y"}, headers=headers)
    assert on.status_code in (200, 303)
    assert Account.get_by_id(owner.id).public_checks is True
    assert check(client).status_code == 200
    actions = [entry.action for entry in AuditEntry.select().where(
        AuditEntry.account == owner.id, AuditEntry.action.startswith("account.public_checks"))
        .order_by(AuditEntry.id)]
    assert actions == ["account.public_checks_off", "account.public_checks_on"]


def test_strangers_are_sent_to_log_in(client):
    response = client.get("/account/public-checks")
    assert response.status_code in (302, 303) and "/login" in response.headers["Location"]
