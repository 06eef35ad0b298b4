"""views.safe_local_path: after login and after the language switch, only this site."""
import pytest

from tests.factories import PASSWORD
from views import safe_local_path

OUTSIDE = [
    "https://evil.example/x", "http:/evil.example", "javascript:alert(1)", "evil.example",
    "//evil.example", "///evil.example", " /records/", "",
    # Browsers read a backslash as a slash.
    "/\\evil.example", "\\\\evil.example", "/%5Cevil.example", "/%5cevil.example",
    # Browsers drop tabs and newlines: /<tab>/evil.example is //evil.example.
    "/\t/evil.example", "/%09/evil.example", "/\n/evil.example", "/%0A/evil.example",
    "/\r\nSet-Cookie: x=1", "/%0d%0aSet-Cookie:%20x=1", "/records/\x00", "/\u200b/evil.example",
    "/ /evil.example", "/\u3000/evil.example", "/records/%20",
    # Full-width solidus, which NFKC folds to /.
    "／／evil.example", "/／evil.example", "/%EF%BC%8Fevil.example",
    # Encoded slashes, once or twice.
    "%2F%2Fevil.example", "/%2F/evil.example", "/%2f%2fevil.example", "%2f/evil.example",
    "/%252F/evil.example", "/%25252F/evil.example",
]
INSIDE = ["/", "/records/", "/register/done", "/admin/corrections?status=approved",
          "/records/diploma/3", "/verify/ABCD-EFGH-JKLM-NPQR", "/%E5%AD%A6%E5%8E%86"]


@pytest.mark.parametrize("target", OUTSIDE)
def test_anything_but_a_local_path_gives_the_default(target):
    assert safe_local_path(target, "/default") == "/default"


@pytest.mark.parametrize("target", INSIDE)
def test_local_paths_pass_unchanged(target):
    assert safe_local_path(target, "/default") == target


def test_none_gives_the_default():
    assert safe_local_path(None, "/default") == "/default"


@pytest.fixture
def student(make_account):
    return make_account(username="li@example.edu.cn")


@pytest.mark.parametrize("query", ["next=/%09/evil.example", "next=/%0d%0aX-Evil:%201",
                                   "next=%2F%2Fevil.example", "next=/%5Cevil.example",
                                   "next=%EF%BC%8F%EF%BC%8Fevil.example"])
def test_login_next_stays_on_the_site(client, student, query):
    response = client.post(f"/login?{query}", data={"login": "li@example.edu.cn", "password": PASSWORD})
    assert response.status_code == 303 and response.headers["Location"] == "/records/"


@pytest.mark.parametrize("target", ["/\t/evil.example", "/\r\nX-Evil: 1", "/\\evil.example",
                                    "/／evil.example", "/%2F/evil.example"])
def test_language_switch_stays_on_the_site(client, target):
    response = client.post("/lang", data={"lang": "en", "next": target})
    assert response.status_code == 303 and response.headers["Location"] == "/"


def test_language_switch_returns_to_the_page(client):
    response = client.post("/lang", data={"lang": "en", "next": "/verify/?x=1"})
    assert response.headers["Location"] == "/verify/?x=1"
