"""The flask commands that the README promises."""
from models import Account
from services import accounts


def test_init_db_is_repeatable(runner):
    first = runner.invoke(args=["init-db"])
    assert first.exit_code == 0 and "database ready" in first.output
    assert "0 migration(s) applied" in runner.invoke(args=["init-db"]).output


def test_create_admin_then_reset_its_password(runner, db):
    created = runner.invoke(args=["create-admin", "office", "--password", "Desk-pass-2026"])
    assert created.exit_code == 0 and "created admin office" in created.output
    admin = Account.get(Account.username == "office")
    assert admin.is_admin and accounts.check_password(admin.password_hash, "Desk-pass-2026")
    updated = runner.invoke(args=["create-admin", "office", "--password", "Another-pass-2027"])
    assert updated.exit_code == 0 and "updated" in updated.output
    assert accounts.check_password(Account.get_by_id(admin.id).password_hash, "Another-pass-2027")


def test_create_admin_refuses_weak_passwords_and_student_names(runner, make_account):
    weak = runner.invoke(args=["create-admin", "office", "--password", "short"])
    assert weak.exit_code != 0 and "至少 8 位" in weak.output
    make_account(username="student@example.edu.cn")
    clash = runner.invoke(args=["create-admin", "student@example.edu.cn", "--password", "Office-pass-2026"])
    assert clash.exit_code != 0 and "student account" in clash.output


def test_seed_demo_is_idempotent(runner, db):
    assert "admin registrar" in runner.invoke(args=["seed-demo"]).output
    assert "already present" in runner.invoke(args=["seed-demo"]).output
    assert "skipped" in runner.invoke(args=["seed-demo", "--if-empty"]).output


def test_sqlite_runs_with_wal_and_foreign_keys(app, db):
    assert db.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1


def test_create_admin_stores_the_username_as_logins_look_it_up(runner, db):
    result = runner.invoke(args=["create-admin", "Office", "--password", "Desk-pass-2026"])
    assert result.exit_code == 0, result.output
    assert accounts.find_for_login("OFFICE").username == "office"
