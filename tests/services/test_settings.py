"""Settings kept in the database over the configured defaults, audited."""
import threading

import pytest

from models import AuditEntry, Setting, db
from services import settings

DEFAULTS = {"SCHOOL_NAME": "示范大学", "SCHOOL_NAME_EN": "Demonstration University",
            "SCHOOL_NAMES": [], "SCHOOL_CONTACT": "a@b.cn", "ELIGIBLE_SINCE_YEAR": 1991,
            "REPORT_MAX_MONTHS": 6}


def test_defaults_until_changed_then_the_stored_value(app, db):
    assert settings.current(DEFAULTS)["SCHOOL_NAME"] == "示范大学"
    changed = settings.save({"SCHOOL_NAME": "示范理工大学", "REPORT_MAX_MONTHS": 6},
                            defaults=DEFAULTS, actor="root", ip="10.0.0.1")
    assert changed == {"SCHOOL_NAME": ["示范大学", "示范理工大学"]}
    assert settings.current(DEFAULTS)["SCHOOL_NAME"] == "示范理工大学"
    entry = AuditEntry.get(AuditEntry.action == "settings.changed")
    assert entry.actor == "root" and entry.changes == {
        "settings": {"SCHOOL_NAME": ["示范大学", "示范理工大学"]}}


def test_unknown_keys_are_refused(app, db):
    with pytest.raises(KeyError):
        settings.save({"SECRET_KEY": "x"}, defaults=DEFAULTS, actor="root")
    assert Setting.select().count() == 0


def test_concurrent_first_saves_leave_one_row(app, db):
    barrier = threading.Barrier(4)
    errors = []

    def save(n):
        db.connect(reuse_if_open=True)
        try:
            barrier.wait()
            settings.save({"SCHOOL_CONTACT": f"office{n}@b.cn"}, defaults=DEFAULTS, actor=f"s{n}")
        except Exception as error:  # noqa: BLE001 # reported below
            errors.append(error)
        finally:
            db.close()

    threads = [threading.Thread(target=save, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert Setting.select().where(Setting.key == "SCHOOL_CONTACT").count() == 1
