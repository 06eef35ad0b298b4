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
