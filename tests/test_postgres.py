"""The PostgreSQL path (DATABASE_URL): migrations, encrypted fields, the registration race.

A throwaway PostgreSQL server is started from Debian's `postgresql` package
(installed by `make test`) in a temporary folder, on a free loopback port
(the `postgres_server` fixture, in conftest.py: tests/test_backup.py uses it too).
"""
import datetime
import threading

import psycopg2
import pytest

from peewee import PostgresqlDatabase

import models
from cli import migration_router
from models import Account
from services.accounts import AccountError
from services import settings, signing
from tests.factories import (add_draft_and_challenge, assert_draft_became_a_challenge, roll_back_to,
                             csv_bytes, ec_signing_pair, enrollment, identity, png_bytes,
                             resident_id, walk_to)


@pytest.fixture
def app(postgres_server, app_factory, request):
    """Overrides the SQLite `app`, so client, outbox and factories use PostgreSQL."""
    name = "t_" + request.node.name.lower().replace("[", "_").replace("]", "")[:40]
    admin = psycopg2.connect(postgres_server + "/postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    return app_factory(DATABASE_URL=f"{postgres_server}/{name}")


def test_migrations_and_encrypted_fields_on_postgres(app, make_account):
    account = make_account(id_number="11010519491231002X", phone="13812345678")
    with models.db.connection_context():
        assert isinstance(models.db.obj, PostgresqlDatabase)
        found = Account.get(Account.id_number.matches("11010519491231002X"))
        assert found.id == account.id and found.phone == "+8613812345678"
    # The unique index is the last word; the service turns it into a message.
    with pytest.raises(AccountError, match="证件号码已被注册"):
        make_account(username="again@example.edu.cn", id_number="11010519491231002X")


def test_migration_005_keeps_drafts_on_postgres(app):
    """005 rolled back and run again over data, as an upgraded server runs it."""
    with models.db.connection_context():
        router = migration_router()
        roll_back_to(router, "004_reports")
        now = add_draft_and_challenge()
        router.run()
        assert_draft_became_a_challenge(app, now)


def test_logo_and_signing_rotation_on_postgres(app):
    """Migration 010: the logo's bytes (bytea) and the signing certificates."""
    logo = png_bytes()
    with models.db.connection_context():
        stored = settings.store_logo("image/png", logo)
        assert settings.logo(stored["sha256"]) == ("image/png", logo)
        keys = app.extensions["school_keys"]
        signing.rotate(*ec_signing_pair(), current=keys, actor="root")
        assert signing.active(keys) is not keys and len(signing.history()) == 2


def test_registration_and_race_on_postgres(app, outbox):
    first, second = app.test_client(), app.test_client()
    walk_to(first, outbox, "confirm")
    walk_to(second, outbox, "confirm", username="other@example.edu.cn", phone="13900001111")
    barrier = threading.Barrier(2)
    statuses = []

    def press_yes(client):
        barrier.wait()
        statuses.append(client.post("/register/confirm", data={"yes": "1"}).status_code)

    threads = [threading.Thread(target=press_yes, args=(c,)) for c in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [303, 422]
    winners = [a.username for a in Account.select().where(Account.role == "student")]
    assert len(winners) == 1 and winners[0] in (identity()["username"], "other@example.edu.cn")


def test_import_and_reimport_on_postgres(app, db_on_pg):
    """The importer's prepared batch INSERT and its look-ups work on PostgreSQL too."""
    from services import importer
    rows = [enrollment(**{"学号": f"2019{n:03d}", "证件号码": resident_id(sequence=n * 2 + 1)})
            for n in range(1, 51)]
    data = csv_bytes(rows)
    first = importer.import_file("enrollment", "e.csv", data)
    assert (first.created, first.updated) == (50, 0)
    rows[0]["专业"] = "软件工程"
    again = importer.import_file("enrollment", "e.csv", csv_bytes(rows))
    assert (again.created, again.updated, again.unchanged) == (0, 1, 49)
    found = models.Enrollment.get(models.Enrollment.id_number.matches(resident_id(sequence=3)))
    assert found.major == "软件工程"


@pytest.fixture
def db_on_pg(app):
    with models.db.connection_context():
        yield models.db


def test_import_batch_preview_and_commit_on_postgres(app, db_on_pg):
    """The sealed file round-trips through bytea; a batch commits once."""
    from services import importer
    data = csv_bytes([enrollment()])
    preview, batch = importer.stage("enrollment", "e.csv", data, uploaded_by="office")
    assert preview.ok and models.ImportBatch.get().file_data == data
    result, done = importer.commit(batch.token, actor="office")
    assert result.created == 1 and done.status == "committed"
    with pytest.raises(importer.BatchClosed):
        importer.commit(batch.token, actor="office")
    assert models.Enrollment.select().count() == 1
def test_two_admins_demoting_each_other_on_postgres(app):
    """FOR UPDATE on the enabled 管理员 rows: the second transaction waits, then finds
    that its actor is no longer a 管理员."""
    from services import staff_accounts
    from tests.factories import staff_account
    with models.db.connection_context():
        alpha, beta = staff_account("alpha"), staff_account("beta")
    barrier = threading.Barrier(2)
    outcomes = []

    def demote(actor, target):
        with app.app_context(), models.db.connection_context():
            barrier.wait()
            try:
                staff_accounts.change_role(target, Account.VIEWER, actor=actor)
                outcomes.append("done")
            except staff_accounts.StaffError:
                outcomes.append("refused")

    threads = [threading.Thread(target=demote, args=pair) for pair in ((alpha, beta), (beta, alpha))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == ["done", "refused"]
    with models.db.connection_context():
        assert Account.select().where(Account.role == Account.ADMIN).count() == 1
def test_search_on_postgres(app, db_on_pg, make_account, make_record):
    """services.search's casts, name ranges (a name beyond the BMP) and paging across
    kinds on PostgreSQL."""
    from services import search
    student = make_account(real_name="王𠮷")
    make_record("enrollment", name="王𠮷", account=student.id)
    make_record("diploma", name="张伟", id_number=None, certificate_number="00298959",
                graduation_date="1994-07-01", birth_date="1972-05-08", gender="男")
    for n in range(60):
        make_record("aid", name="王五", paid_on=f"2016-{n // 28 + 1:02d}-{n % 28 + 1:02d}")
    with app.test_request_context():
        names = [hit.name for hit in search.search(search.criteria(q="王𠮷")).hits]
        assert names == ["王𠮷", "王𠮷"]
        assert [hit.kind for hit in search.search(search.criteria(q="NO.298959")).hits] == ["diploma"]
        by_id = search.search(search.criteria(q="11010519491231002X"))
        assert len(by_id.hits) == 50 and by_id.has_next  # the account, its 学籍, 60 资助
        second = search.search(search.criteria(q="王"), page=2)
        assert len(second.hits) == 12 and not second.has_next
        assert search.search(search.criteria(year="1994")).hits[0].year == "1994"
        assert len(search.search(search.criteria(kind="aid", year="2016"), page=2).hits) == 10


def test_majors_english_names_on_postgres(app, db_on_pg, make_record):
    """services.names on PostgreSQL: the seed's conflict-ignoring insert, the loose
    index scan of the missing majors, ILIKE search, and the changes."""
    from services import names
    make_record("enrollment", major="自设专业乙")
    make_record("diploma", major="自设专业甲")
    make_record("degree", discipline="法学")
    assert names.seed_majors() == len(names.seed_rows())
    assert names.seed_majors() == 0
    assert names.missing_majors() == (["自设专业乙", "自设专业甲"], 2)
    row = names.add_major("自设专业甲", "Major A", actor="office")
    names.update_major(row.id, "Major Alpha", actor="office")
    assert names.majors_english(["自设专业甲", "法学"]) == {"自设专业甲": "Major Alpha",
                                                            "法学": "Law"}
    assert [r.major for r in names.majors_page("alpha").items] == ["自设专业甲"]
    names.delete_major(row.id, actor="office")
    assert names.missing_majors()[1] == 2


def test_records_page_in_one_union_on_postgres(app, client, make_account, make_record, login):
    """services.records.archive_of's UNION ALL (typed NULLs) and the joined session
    load on PostgreSQL: every kind, dates and amounts, newest first."""
    student = make_account(username="zhang@example.edu.cn", real_name="张三",
                           id_number="11010519491231002X")
    for key in ("enrollment", "diploma", "degree", "admission", "aid"):
        make_record(key, account=student.id)
    make_record("aid", account=student.id, paid_on="2017-11-01", school_year="2017-2018")
    login("zhang@example.edu.cn")
    page = client.get("/records/").get_data(as_text=True)
    assert "示范大学 · 本科 · 汉语言文学" in page and "3,000.00" in page
    assert page.index("2017-2018") < page.index("2016-2017")


def test_stored_files_on_postgres(app, db_on_pg, tmp_path):
    """Migration 019 on PostgreSQL: the sealed bytes in bytea, the upsert, the sweep,
    and the files moved back into folders and in again."""
    import crypto
    from services import files, retention
    files.put("evidence/a.pdf", b"%PDF-1 one")
    files.put("evidence/a.pdf", b"%PDF-1 two")
    assert files.read("evidence/a.pdf") == b"%PDF-1 two" and files.count() == (1, 10)
    raw = db_on_pg.execute_sql("SELECT data FROM storedfile").fetchone()[0]
    assert crypto.is_sealed(bytes(raw)) and b"%PDF" not in bytes(raw)
    record = make_record_with_photo()
    with app.app_context():
        roll_back_to(migration_router(), "018_appeal_phone")
        migration_router().run()
    assert files.read(record.photo) == b"\xff\xd8\xff photo"
    models.StoredFile.update(created_at=models.utcnow() - datetime.timedelta(days=2)).execute()
    done = retention.purge(outbox_path=tmp_path / "outbox.jsonl", outbox_days=30)
    assert done.stored_files == 0  # evidence/a.pdf was in no folder: 019 moved what rows name
    assert [s.name for s in models.StoredFile.select()] == [record.photo]


def make_record_with_photo():
    from services import files
    from tests.factories import create_record
    record = create_record("enrollment", 1, photo="photos/enrollment/1.jpg")
    files.put(record.photo, b"\xff\xd8\xff photo")
    return record
