"""Migrations over a database that has data: 005 turns registration drafts into challenges."""
import json
import shutil

import peewee
import pytest

import crypto
import models
from app import create_app
from cli import migration_router
from tests.factories import (DRAFT_TYPED, add_draft_and_challenge, assert_draft_became_a_challenge,
                             roll_back_to)


@pytest.fixture
def app_at_004(tmp_path, signing_keys_dir):
    shutil.copytree(signing_keys_dir, tmp_path / "instance" / "keys")
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
    models.Challenge.create(token="draft-token", purpose="register", step="code",
                            payload=DRAFT_TYPED, password_hash="$argon2id$hash")
    roll_back_to(router, "004_reports")
    row = peewee.Table("registrationdraft").bind(models.db).select().get()
    assert row["token"] == "draft-token" and row["step"] == "code"
    assert json.loads(crypto.decrypt(row["data"])) == DRAFT_TYPED
    assert not peewee.Table("challenge").bind(models.db).select().count()


def test_020_keeps_every_row_and_fills_its_columns(app, db):
    """020 adds columns to account and report; a table rebuilt on SQLite would
    cascade-delete the reports, checks and logins that point at the old one."""
    from tests.factories import create_account, create_record, issue_report, minimal_pdf
    owner = create_account(app)
    record = create_record("diploma", account=owner)
    report = issue_report(app, owner, record, render=lambda snapshot: minimal_pdf())
    models.Verification.create(report=report, channel=models.Verification.WEB)
    models.LoginEvent.create(account=owner, ip="127.0.0.1", user_agent="test", success=True)
    router = migration_router()
    roll_back_to(router, "019_stored_files")
    router.run()
    assert models.Account.select().count() == 1
    assert (models.Report.select().count(), models.Verification.select().count(),
            models.LoginEvent.select().count()) == (1, 1, 1)
    migrated = models.Report.get_by_id(report.id)
    # Issued before 020: the PDF shows the full ID number.
    assert (migrated.full_id, migrated.alert_checks, migrated.alerts_pending) == (True, False, 0)
    assert models.Account.get_by_id(owner.id).public_checks is True
    assert models.Verification.get().outcome is None
