"""Fixtures shared by the view tests that count what a page costs."""
import pytest

import models


@pytest.fixture
def counted(monkeypatch):
    """Every SQL statement the database runs, in order."""
    seen = []
    original = models.db.obj.execute_sql

    def execute_sql(sql, params=None, *args, **kwargs):
        seen.append(sql)
        return original(sql, params, *args, **kwargs)

    monkeypatch.setattr(models.db.obj, "execute_sql", execute_sql)
    return seen


@pytest.fixture
def signed_in_zhang(client, make_account, login):
    """张三, a student with an ID number, signed in on `client`."""
    account = make_account(username="zhang@example.edu.cn", real_name="张三",
                           id_number="11010519491231002X")
    login("zhang@example.edu.cn")
    return account


# --- a student with a diploma and a report, issued through the pages --------------
# (a module overrides `owner` or `diploma` where it needs a different one)

@pytest.fixture
def owner(make_account):
    return make_account(username="zhang@example.edu.cn", real_name="张三")


@pytest.fixture
def signed_in(client, owner, login):
    login("zhang@example.edu.cn")
    return client


@pytest.fixture
def diploma(owner, make_record):
    return make_record("diploma", account=owner.id)


@pytest.fixture
def report(signed_in, diploma, db):
    response = signed_in.post(f"/reports/new/diploma/{diploma.id}", data={"months": "3"})
    assert response.status_code == 303, response.get_data(as_text=True)
    return models.Report.get()
