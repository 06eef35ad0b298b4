"""下载我的数据 on /account/data: 获取校验码 → 校验码 → the ZIP, with and without htmx."""
import io
import json
import re
import zipfile

import pytest

import models
from models import Account, AuditEntry
from tests.factories import PASSWORD, create_account, sign_in

HX = {"HX-Request": "true"}


def text(response):
    return response.get_data(as_text=True)


@pytest.fixture
def student(make_account):
    return make_account(username="qian@example.edu.cn", real_name="钱七",
                        id_number="11010519491231002X", phone="13812345678")


@pytest.fixture
def signed_in(client, student, login):
    login("qian@example.edu.cn")
    return client


def wrong(code):
    return f"{(int(code) + 1) % 10 ** 6:06d}"


def test_the_account_page_offers_it(signed_in):
    page = text(signed_in.get("/account/"))
    assert 'id="my-data-link"' in page and "/account/data" in page
    start = signed_in.get("/account/data")
    assert start.status_code == 200 and 'id="my-data-start"' in text(start)
    assert start.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("headers", [{}, HX])
def test_the_page_is_a_page_and_a_fragment(signed_in, headers):
    response = signed_in.get("/account/data", headers=headers)
    assert response.status_code == 200 and 'id="account-section"' in text(response)
    assert ("<html" in text(response)) == (not headers)


def test_the_download_needs_a_code(signed_in, outbox):
    response = signed_in.post("/account/data/download")
    assert response.status_code == 303 and response.headers["Location"] == "/account/data"
    signed_in.post("/account/data")
    again = signed_in.post("/account/data/download")          # a code sent, none typed
    assert again.status_code == 303 and again.headers["Content-Type"].startswith("text/html")
    assert AuditEntry.select().where(AuditEntry.action == "account.data_downloaded").count() == 0


def test_js_off_code_then_one_download(signed_in, outbox, db):
    sent = signed_in.post("/account/data")
    assert sent.status_code == 303 and sent.headers["Location"] == "/account/data"
    assert outbox.last()["to"] == "+8613812345678"
    code = outbox.last_code()
    page = text(signed_in.get("/account/data"))
    assert 'id="my-data-code"' in page and "138****5678" in page

    bad = signed_in.post("/account/data/check", data={"code": wrong(code)})
    assert bad.status_code == 422 and 'id="code-error"' in text(bad)
    empty = signed_in.post("/account/data/check", data={"code": ""})
    assert empty.status_code == 422

    right = signed_in.post("/account/data/check", data={"code": code})
    assert right.status_code == 303 and right.headers["Location"] == "/account/data"
    ready = text(signed_in.get("/account/data"))
    download_form = re.search(r'<form[^>]*id="my-data-download"[^>]*>', ready).group(0)
    assert "hx-post" not in download_form        # a file: the browser saves it, htmx would not

    response = signed_in.post("/account/data/download")
    assert response.status_code == 200 and response.is_streamed
    assert response.mimetype == "application/zip"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="my-data-')
    archive = zipfile.ZipFile(io.BytesIO(response.get_data()))
    profile = json.loads(archive.read("profile.json"))
    assert profile["id_number"] == "11010519491231002X" and profile["phone"] == "+8613812345678"
    entry = AuditEntry.get(AuditEntry.action == "account.data_downloaded")
    assert entry.account_id == Account.get().id

    twice = signed_in.post("/account/data/download")
    assert twice.status_code == 303 and twice.headers["Location"] == "/account/data"
    assert AuditEntry.select().where(AuditEntry.action == "account.data_downloaded").count() == 1
    assert 'id="my-data-start"' in text(signed_in.get("/account/data"))


def test_htmx_flow(signed_in, outbox):
    sent = signed_in.post("/account/data", headers=HX)
    assert sent.status_code == 200 and sent.headers["HX-Push-Url"] == "/account/data"
    assert 'id="my-data-code"' in text(sent) and "<html" not in text(sent)
    code = outbox.last_code()
    bad = signed_in.post("/account/data/check", data={"code": wrong(code)}, headers=HX)
    assert bad.status_code == 422 and "<html" not in text(bad) and "还可以再试" in text(bad)
    right = signed_in.post("/account/data/check", data={"code": code}, headers=HX)
    assert right.status_code == 200 and 'id="my-data-download"' in text(right)
    # The download itself is a plain form post (a file the browser saves).
    response = signed_in.post("/account/data/download")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    used = signed_in.post("/account/data/download", headers=HX)
    assert used.status_code == 200 and used.headers["HX-Redirect"] == "/account/data"


def test_resend_waits_and_cancel_starts_over(signed_in, outbox):
    signed_in.post("/account/data")
    response = signed_in.post("/account/data/send", data={"channel": "sms"})
    assert response.status_code == 422 and "秒后" in text(response)
    cancelled = signed_in.post("/account/data/cancel")
    assert cancelled.status_code == 303
    assert 'id="my-data-start"' in text(signed_in.get("/account/data"))


def test_another_account_cannot_use_the_challenge(app, signed_in, make_account, login, outbox):
    signed_in.post("/account/data")
    code = outbox.last_code()
    signed_in.post("/account/data/check", data={"code": code})
    make_account(username="sun@example.edu.cn", id_number="440524188001010014")
    other = app.test_client()
    other.post("/login", data={"login": "sun@example.edu.cn", "password": PASSWORD})
    with signed_in.session_transaction() as state:
        token = state["account_my_data"]
    with other.session_transaction() as state:
        state["account_my_data"] = token
    check = other.post("/account/data/check", data={"code": code})
    assert check.status_code == 303 and check.headers["Location"] == "/account/data"
    download = other.post("/account/data/download")
    assert download.status_code == 303 and download.mimetype != "application/zip"
    # The owner still has their download.
    assert signed_in.post("/account/data/download").mimetype == "application/zip"


def test_no_way_to_send_a_code_is_a_message_beside_the_button(app_factory):
    app = app_factory(INTERNATIONAL_SMS=False)
    create_account(app, 1, username="li@example.com", phone="+447911123456")
    client = app.test_client()
    sign_in(client, "li@example.com")
    response = client.post("/account/data")
    assert response.status_code == 422 and 'id="my-data-error"' in text(response)
    assert "联系学校" in text(response)


def test_the_stream_gives_its_connection_back(signed_in, outbox):
    """The ZIP is read from the database while it is sent (stream_with_context): the
    request's connection goes back to the pool when the last chunk is out, not before."""
    signed_in.post("/account/data")
    signed_in.post("/account/data/check", data={"code": outbox.last_code()})
    response = signed_in.post("/account/data/download")
    chunks = list(response.response)
    assert len(chunks) > 5 and zipfile.ZipFile(io.BytesIO(b"".join(chunks))).testzip() is None
    response.close()
    assert models.db.is_closed()
    # A client that goes away after the first chunk: the connection goes back too.
    signed_in.post("/account/data")
    signed_in.post("/account/data/check", data={"code": outbox.last_code()})
    response = signed_in.post("/account/data/download")
    next(iter(response.response))
    assert not models.db.is_closed()
    response.close()
    assert models.db.is_closed()
