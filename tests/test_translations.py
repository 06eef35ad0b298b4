"""The English catalog covers every UI string, and pages really render in English.

If a test here fails after you added a string: `make translations-update`, translate
the empty msgstr in translations/en/LC_MESSAGES/messages.po, `make translations`
(see translations/README.md).
"""
import os
import re
from pathlib import Path
from urllib.parse import urlparse

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"
EN_PO = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def _read_po(path, locale=None):
    with open(path, "rb") as fh:
        return read_po(fh, locale=locale, abort_invalid=True)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """Every translatable string in the code, extracted with babel.cfg as `make` does."""
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    status = CommandLineInterface().run([
        "pybabel", "-q", "extract", "-F", str(ROOT / "babel.cfg"),
        "-k", "_l", "-k", "lazy_gettext", "-o", str(pot), str(ROOT)])
    assert status in (0, None), f"pybabel extract failed ({status})"
    return _read_po(pot)


def _relative(file):
    return Path(os.path.relpath(file, ROOT)).as_posix()


def _where(message):
    return ", ".join(f"{_relative(file)}:{line}" for file, line in message.locations)


# --- (a) the catalog -------------------------------------------------------

def test_extraction_finds_the_ui_strings(extracted):
    ids = {message.id for message in extracted if message.id}
    # One from each kind of source: a template, a view, a form (lazy), a service.
    assert {"学信档案", "用户名或密码不正确。", "用户名", "请填写证件号码。"} <= ids
    files = {_relative(file) for message in extracted for file, _ in message.locations}
    assert not [f for f in files if f.startswith((".venv", "tests/"))], files


def test_every_string_is_translated_into_english(extracted):
    english = _read_po(EN_PO, locale="en")
    assert not english.fuzzy, f"{EN_PO}: the header is marked fuzzy; remove '#, fuzzy'"
    problems = []
    for message in extracted:
        if not message.id:
            continue
        entry = english.get(message.id, message.context)
        if entry is None:
            problems.append(f"missing       {message.id!r}  ({_where(message)})")
        elif entry.fuzzy:
            problems.append(f"fuzzy         {message.id!r}  ({_where(message)})")
        elif not entry.string or (isinstance(entry.string, tuple) and not all(entry.string)):
            problems.append(f"untranslated  {message.id!r}  ({_where(message)})")
    assert not problems, (
        f"{len(problems)} UI string(s) lack an English translation. Run "
        f"`make translations-update`, fill in {EN_PO.relative_to(ROOT)}, then `make translations`:\n  "
        + "\n  ".join(problems))


def test_english_catalog_keeps_placeholders():
    english = _read_po(EN_PO, locale="en")
    errors = [f"line {message.lineno}: {message.id!r}: {error}"
              for message, found in english.check() for error in found]
    assert not errors, "\n".join(errors)


# --- (b) pages in English and in Chinese ------------------------------------

ENGLISH_PAGES = {
    "/": ["Student Records", "Real-name registration", "Log in"],
    "/login": ["Log in to Student Records", "Username", "Password", "Keep me logged in on this device"],
    "/register/": ["Step 1: Before you register", "Agree and continue", "Registration steps"],
}


def _chinese_left(html):
    # The language switch reads 中文 on purpose: it is for people who read Chinese.
    return sorted(set(re.findall(r"[^<>\n]*" + CJK.pattern + r"[^<>\n]*", html.replace("中文", ""))))


@pytest.mark.parametrize("path", sorted(ENGLISH_PAGES))
def test_pages_render_in_english_with_the_cookie(client, path):
    client.set_cookie("lang", "en")
    response = client.get(path)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<html lang="en">' in html
    for text in ENGLISH_PAGES[path]:
        assert text in html
    assert _chinese_left(html) == []


def test_login_labels_are_english_not_chinese(client):
    client.set_cookie("lang", "en")
    html = client.get("/login").get_data(as_text=True)
    assert "Username" in html
    assert "用户名" not in html and "密码" not in html


def test_lazy_form_errors_are_english(client):
    client.set_cookie("lang", "en")
    response = client.post("/login", data={"login": "", "password": ""})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Please enter your username, mobile number or ID number." in html
    assert "Please enter your password." in html
    assert _chinese_left(html) == []


def test_error_page_is_english(client):
    client.set_cookie("lang", "en")
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


def test_without_cookie_the_page_is_chinese(client):
    html = client.get("/login").get_data(as_text=True)
    assert '<html lang="zh-CN">' in html
    assert "登录学信档案" in html and "用户名" in html
    assert "Username" not in html


def test_unknown_language_falls_back_to_chinese(client):
    client.set_cookie("lang", "fr")
    html = client.get("/").get_data(as_text=True)
    assert "实名注册" in html and "Real-name registration" not in html


# --- (c) the language switch -----------------------------------------------

def test_language_switch_sets_cookie_and_redirects_back(client):
    response = client.post("/lang", data={"lang": "en", "next": "/login"})
    assert response.status_code == 303
    assert urlparse(response.headers["Location"]).path == "/login"
    cookie = client.get_cookie("lang")
    assert cookie is not None and cookie.value == "en"
    assert "Username" in client.get("/login").get_data(as_text=True)

    response = client.post("/lang", data={"lang": "zh", "next": "/"})
    assert response.status_code == 303
    assert client.get_cookie("lang").value == "zh"
    assert "实名注册" in client.get("/").get_data(as_text=True)


def test_language_switch_refuses_offsite_next(client):
    response = client.post("/lang", data={"lang": "en", "next": "//evil.example/"})
    assert response.status_code == 303
    assert urlparse(response.headers["Location"]).netloc in ("", "localhost")
    assert urlparse(response.headers["Location"]).path == "/"
