"""Fixtures: a fresh app on a temporary SQLite file per test, clients, factories."""
import json
import re
from pathlib import Path

import pytest

import models
from app import create_app
from cli import migration_router
from services import accounts

PASSWORD = "secret-pass-1"


@pytest.fixture
def app_factory(tmp_path):
    """Build an app on its own instance folder; migrations create the schema."""
    made = []

    def build(**config):
        settings = dict(TESTING=True, WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False,
                        INSTANCE_DIR=str(tmp_path / "instance"),
                        PORTAL_BASE_URL="http://portal.test")
        settings.update(config)
        app = create_app(settings)
        with app.app_context(), models.db.connection_context():
            migration_router().run()
        made.append(app)
        return app

    yield build
    if not models.db.is_closed():
        models.db.close()


@pytest.fixture
def app(app_factory):
    return app_factory()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def db(app):
    """An open connection for tests that use models directly.

    No Flask context is pushed: requests made by the test client must each get
    their own, as in production.
    """
    with models.db.connection_context():
        yield models.db


class Outbox:
    def __init__(self, path):
        self.path = Path(path)

    def messages(self):
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text("utf-8").splitlines()]

    def last(self):
        messages = self.messages()
        assert messages, "nothing was sent"
        return messages[-1]

    def last_code(self):
        match = re.search(r"\b(\d{6})\b", self.last()["body"])
        assert match, self.last()["body"]
        return match.group(1)


@pytest.fixture
def outbox(app):
    return Outbox(app.config["OUTBOX_PATH"])


@pytest.fixture
def make_account(app):
    counter = iter(range(1, 10_000))

    def make(**fields):
        n = next(counter)
        values = dict(username=f"student{n}@example.edu.cn", real_name="张三",
                      id_type="居民身份证", id_number="11010519491231002X",
                      phone=f"1381234{n:04d}", password_hash=accounts.hash_password(PASSWORD))
        values.update(fields)
        with app.app_context(), models.db.connection_context():
            return accounts.create_student(**values)

    return make


@pytest.fixture
def login(client):
    def do(username, password=PASSWORD):
        response = client.post("/login", data={"login": username, "password": password})
        assert response.status_code == 303, response.get_data(as_text=True)
        return response

    return do
