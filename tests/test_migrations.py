"""Migrations over a database that has data: 005 turns registration drafts into challenges."""
import datetime
import json

import peewee
import pytest

import models
from app import create_app
from cli import migration_router
from services import crypto

TYPED = dict(username="wang@example.edu.cn", real_name="王𠮷", id_type="居民身份证",
             id_number="11010519491231002X", phone="13812345678")


def add_draft_and_challenge(step="code"):
    """A draft mid-wizard and a verified password reset, as the schema before 005 held them."""
    now = models.utcnow().replace(microsecond=0)
    peewee.Table("registrationdraft").bind(models.db).insert(
        token="draft-token", step=step, data=crypto.encrypt(json.dumps(TYPED, ensure_ascii=False)),
        password_hash="$argon2id$hash", created_at=now - datetime.timedelta(minutes=5),
        updated_at=now).execute()
    peewee.Table("challenge").bind(models.db).insert(
        token="reset-token", purpose="reset_password", payload=crypto.encrypt("{}"),
        created_at=now, verified_at=now).execute()
    return now


def assert_draft_became_a_challenge(app, now, step="code"):
    """Same token, same data and step: the student's session carries on."""
    draft = models.Challenge.get(models.Challenge.token == "draft-token")
    assert (draft.purpose, draft.step, draft.payload) == ("register", step, TYPED)
    assert draft.password_hash == "$argon2id$hash" and draft.account is None
    assert draft.updated_at == now and draft.finished_at is None
    reset = models.Challenge.get(models.Challenge.token == "reset-token")
    assert reset.step == "new_password" and reset.updated_at == reset.created_at
    assert "registrationdraft" not in models.db.get_tables()

    client = app.test_client()
    with client.session_transaction() as session:
        session["register_draft"] = "draft-token"
    page = client.get("/register/").get_data(as_text=True)
    assert "第 3 步：获取校验码" in page and "138****5678" in page


@pytest.fixture
def app_at_004(tmp_path):
    app = create_app(dict(TESTING=True, WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False,
                          INSTANCE_DIR=str(tmp_path / "instance")))
    with models.db.connection_context():
        migration_router().run("004_reports")
        yield app


def test_a_draft_made_before_005_carries_on_as_a_challenge(app_at_004):
    now = add_draft_and_challenge()
    migration_router().run()
    assert_draft_became_a_challenge(app_at_004, now)


def test_a_draft_checked_before_005_is_verified(app_at_004):
    add_draft_and_challenge(step="confirm")
    migration_router().run()
    assert models.Challenge.get(models.Challenge.token == "draft-token").verified_at is not None


def test_005_rolls_back_to_drafts(app_at_004):
    router = migration_router()
    router.run()
    models.Challenge.create(token="draft-token", purpose="register", step="code", payload=TYPED,
                            password_hash="$argon2id$hash")
    router.rollback()
    row = peewee.Table("registrationdraft").bind(models.db).select().get()
    assert row["token"] == "draft-token" and row["step"] == "code"
    assert json.loads(crypto.decrypt(row["data"])) == TYPED
    assert not peewee.Table("challenge").bind(models.db).select().count()
