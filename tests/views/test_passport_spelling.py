"""账户 › 护照姓名拼写: set, clear, bad input beside the field; staff see it read only."""
import pytest

from models import Account, AuditEntry
from tests.factories import signed_in_staff

HX = {"HX-Request": "true"}


def text(response):
    return response.get_data(as_text=True)


@pytest.fixture
def student(make_account):
    return make_account(username="lyu@example.edu.cn", real_name="吕布",
                        id_number="11010519491231002X", phone="13812345678")


@pytest.fixture
def signed_in(client, student, login):
    login("lyu@example.edu.cn")
    return client


def _stored(account_id):
    return Account.get_by_id(account_id)


@pytest.mark.parametrize("headers", [{}, HX])
def test_the_section_shows_what_reports_show(signed_in, headers):
    response = signed_in.get("/account/latin-name", headers=headers)
    page = text(response)
    assert response.status_code == 200
    assert ("<html" in page) == (not headers)
    assert 'id="account-section"' in page
    assert "护照姓名拼写" in page and "报告英文版显示为：LYU Bu" in page
    assert '<label for="latin-name">护照姓名拼写</label>' in page
    # Nothing to clear yet.
    assert "latin-name-clear" not in page


def test_the_profile_names_it(signed_in):
    page = text(signed_in.get("/account/"))
    assert 'id="profile-latin-name"' in page and "LYU Bu" in page
    assert 'href="/account/latin-name"' in page


@pytest.mark.parametrize("headers", [{}, HX])
def test_set_the_spelling(signed_in, student, headers, db):
    response = signed_in.post("/account/latin-name", data={"latin_name": " lu  bu "},
                              headers=headers)
    if headers:
        assert response.status_code == 200 and response.headers["HX-Redirect"] == "/account/"
    else:
        assert response.status_code == 303 and response.headers["Location"] == "/account/"
    assert _stored(student.id).latin_name == "LU BU"
    page = text(signed_in.get("/account/"))
    assert "报告英文版显示为：LU BU" in page
    section = text(signed_in.get("/account/latin-name"))
    assert 'value="LU BU"' in section and "latin-name-clear" in section
    entry = AuditEntry.get(AuditEntry.action == "account.latin_name_changed")
    assert entry.changes == {"latin_name": ["", "LU BU"]} and entry.account_id == student.id
    assert entry.ip == "127.0.0.1"


@pytest.mark.parametrize("headers", [{}, HX])
@pytest.mark.parametrize("value, message", [
    ("", "请填写护照上的姓名拼写"),
    ("吕布", "只能包含英文字母、空格和连字符"),
    ("Lu3 Bu", "只能包含英文字母、空格和连字符"),
])
def test_bad_spellings_are_refused_beside_the_field(signed_in, student, headers, value, message):
    response = signed_in.post("/account/latin-name", data={"latin_name": value}, headers=headers)
    page = text(response)
    assert response.status_code == 422
    assert ("<html" in page) == (not headers)
    assert 'id="latin-name-error"' in page and message in page
    assert 'aria-invalid="true"' in page
    assert _stored(student.id).latin_name is None


def test_bad_spelling_in_english(signed_in):
    signed_in.set_cookie("lang", "en")
    response = signed_in.post("/account/latin-name", data={"latin_name": "张"})
    assert response.status_code == 422
    assert "only Latin letters, spaces and hyphens" in text(response)


@pytest.mark.parametrize("headers", [{}, HX])
def test_clear_goes_back_to_pinyin(signed_in, student, headers, db):
    signed_in.post("/account/latin-name", data={"latin_name": "Lu Bu"})
    response = signed_in.post("/account/latin-name/clear", headers=headers)
    assert response.status_code == (200 if headers else 303)
    assert _stored(student.id).latin_name is None
    assert "报告英文版显示为：LYU Bu" in text(signed_in.get("/account/"))
    changes = [e.changes for e in AuditEntry.select().where(
        AuditEntry.action == "account.latin_name_changed").order_by(AuditEntry.id)]
    assert changes == [{"latin_name": ["", "LU BU"]}, {"latin_name": ["LU BU", ""]}]


def test_only_that_column_is_written(app, signed_in, student, db):
    # A change made elsewhere meanwhile (a new phone) is not undone by the save.
    Account.update(phone="13900000000").where(Account.id == student.id).execute()
    assert signed_in.post("/account/latin-name", data={"latin_name": "Lu Bu"}).status_code == 303
    stored = _stored(student.id)
    assert stored.phone == "13900000000" and stored.latin_name == "LU BU"


def test_strangers_are_sent_to_log_in(client):
    assert client.get("/account/latin-name").status_code == 302
    assert client.post("/account/latin-name/clear").status_code == 302


@pytest.mark.parametrize("role", ["viewer", "registrar"])
def test_staff_see_it_on_the_person_page(app, student, db, role):
    staff = signed_in_staff(app, f"{role}-desk", role)
    page = text(staff.get(f"/admin/people/{student.id}"))
    assert 'id="person-latin-name"' in page and "报告英文版显示为：LYU Bu" in page
    Account.update(latin_name="LU BU").where(Account.id == student.id).execute()
    page = text(staff.get(f"/admin/people/{student.id}"))
    assert "LU BU" in page
    # Read only: no form posts to the student's account page.
    assert "/account/latin-name" not in page
