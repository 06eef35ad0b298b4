"""Fixtures: a fresh app on a temporary SQLite file per test, clients, factories."""
import json
import re
import shutil
from pathlib import Path

import pytest

import models
from app import create_app
from cli import migration_router
from services import accounts, signing

PASSWORD = "secret-pass-1"


@pytest.fixture(scope="session")
def signing_keys_dir(tmp_path_factory):
    """One school signing pair for the session: making an RSA 3072 key for each
    app would add minutes to the suite."""
    key_dir = tmp_path_factory.mktemp("signing")
    signing.load_or_create(key_dir, "示范大学", "Demonstration University")
    return key_dir


@pytest.fixture
def app_factory(tmp_path, signing_keys_dir):
    """Build an app on its own instance folder; migrations create the schema."""
    made = []
    shutil.copytree(signing_keys_dir, tmp_path / "instance" / "keys")

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


RECORD_DEFAULTS = {
    "enrollment": dict(name="张三", gender="女", birth_date="1949-12-31", school_name="示范大学",
                       level="本科", major="汉语言文学", student_number="S0001",
                       status="不在籍（毕业）", admission_date="2015-09-01",
                       expected_graduation="2019-07-01"),
    "diploma": dict(name="张三", gender="女", birth_date="1949-12-31", school_name="示范大学",
                    level="本科", major="汉语言文学", graduation_date="2019-07-01",
                    completion="毕业", certificate_number="109991201905000001"),
    "degree": dict(name="张三", gender="女", birth_date="1949-12-31", awarding_unit="示范大学",
                   degree="文学学士", discipline="汉语言文学", award_date="2019-07-01",
                   certificate_number="1099942019000001"),
    "admission": dict(name="张三", candidate_number="15420106150001", year=2015, major="汉语言文学",
                      level="本科"),
    "aid": dict(name="张三", school_year="2016-2017", program="国家助学金", amount="3000.00",
                paid_on="2016-11-01"),
}


@pytest.fixture
def make_record(app):
    """A record of one kind with believable defaults; id_number defaults to the test ID."""
    from services import identity
    from services.records import KINDS
    counter = iter(range(1, 100_000))

    def make(kind_key, **fields):
        n = next(counter)
        values = dict(RECORD_DEFAULTS[kind_key])
        values.setdefault("id_number", "11010519491231002X")
        for unique in ("student_number", "certificate_number", "candidate_number"):
            if unique in values and unique not in fields:
                values[unique] = values[unique][:-4] + f"{n:04d}"
        values.update(fields)
        model = KINDS[kind_key].model
        if kind_key in ("diploma", "degree"):
            if values.get("certificate_number"):
                values["certificate_key"] = identity.certificate_key(values["certificate_number"])
            if values.get("school_number"):
                values["school_number_key"] = identity.certificate_key(values["school_number"])
        with models.db.connection_context():
            # Read back, so dates and amounts have their Python types.
            return model.get_by_id(model.create(**values).id)

    return make


def pytest_collection_modifyitems(items):
    """Browser tests last: Playwright's sync API keeps an event loop running in the
    main thread while its browser is open, and pyHanko (PDF signing) calls
    asyncio.run(), which refuses to start inside a running loop."""
    items.sort(key=lambda item: "tests/browser/" in item.nodeid.replace("\\", "/"))
