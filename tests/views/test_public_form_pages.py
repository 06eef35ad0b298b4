"""/login and /verify for a visitor who is not signed in: the page is rendered once
and kept (views.render_public_form), yet each visitor gets a CSRF token of their own,
a settings change shows on the next request (also when made by another app server,
that is straight in the database), and nothing personal is ever kept."""
import re

import pytest

import views
from models import Setting
from services import settings

HX = {"HX-Request": "true"}
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def tokens(page: str) -> set:
    return {a or b for a, b in TOKEN.findall(page)}


@pytest.fixture
def csrf_app(app_factory):
    return app_factory(WTF_CSRF_ENABLED=True)


@pytest.mark.parametrize("path", ["/login", "/verify"])
def test_each_visitor_gets_a_token_of_their_own_that_works(csrf_app, path):
    first, second = csrf_app.test_client(), csrf_app.test_client()
    pages = [client.get(path).get_data(as_text=True) for client in (first, second, first)]
    assert all(page.startswith("<!doctype html>") for page in pages)
    mine, theirs, again = (tokens(page) for page in pages)
    assert len(mine) == 1 and len(theirs) == 1 and mine != theirs
    assert not any(views._TOKEN_MARK in page for page in pages)  # no placeholder left behind
    # The kept page carries a real token: sending the form with it passes the CSRF check.
    response = second.post(path, data={"csrf_token": theirs.pop(), "login": "nobody",
                                       "password": "x", "code": "x"})
    assert response.status_code == 422 and b"CSRF" not in response.data
    refused = first.post(path, data={"login": "nobody", "password": "x", "code": "x"})
    assert refused.status_code == 400


def test_htmx_gets_the_fragment_and_english_the_english_page(client):
    page = client.get("/login").get_data(as_text=True)
    fragment = client.get("/login", headers=HX).get_data(as_text=True)
    assert "<html" in page and "<html" not in fragment and 'action="/login' in fragment
    client.set_cookie("lang", "en")
    assert "Log in" in client.get("/login").get_data(as_text=True)
    client.delete_cookie("lang")
    assert "登录学信档案" in client.get("/login").get_data(as_text=True)


def test_next_is_kept_per_address(client):
    assert 'action="/login?next=/records/"' in client.get("/login?next=/records/").get_data(as_text=True)
    assert 'action="/login"' in client.get("/login").get_data(as_text=True)
    assert 'action="/login?next=/reports/"' in client.get("/login?next=/reports/").get_data(as_text=True)


def test_a_settings_change_in_the_database_shows_at_once(client, db):
    assert "示范大学" in client.get("/verify").get_data(as_text=True)
    # As another app server writes it: straight into the table, nothing in this process told.
    Setting.create(key="SCHOOL_NAME", value='"示范理工大学"', updated_by="other-server")
    assert "示范理工大学" in client.get("/verify").get_data(as_text=True)
    Setting.update(value='"示范工业大学"').where(Setting.key == "SCHOOL_NAME").execute()
    assert "示范工业大学" in client.get("/login").get_data(as_text=True)
    assert settings.current({})["SCHOOL_NAME"] == "示范工业大学"


def test_a_flash_message_is_shown_not_kept(client, make_account):
    make_account(username="zhang@example.edu.cn")
    client.get("/login")  # kept without the message
    with client.session_transaction() as session:
        session["_flashes"] = [("info", "一条只给这位访客的消息")]
    assert "一条只给这位访客的消息" in client.get("/login").get_data(as_text=True)
    assert "一条只给这位访客的消息" not in client.get("/login").get_data(as_text=True)


def test_a_signed_in_student_is_sent_on_and_never_served_a_kept_page(client, make_account, login):
    make_account(username="zhang@example.edu.cn", real_name="张三")
    client.get("/verify")
    login("zhang@example.edu.cn")
    assert client.get("/login").status_code == 303
    page = client.get("/verify").get_data(as_text=True)
    assert "张三" in page and "退出" in page
