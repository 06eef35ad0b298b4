"""Reading the audit log: every action has a label, filters, pages, readable changes."""
import ast
import datetime
from pathlib import Path

from flask_babel import force_locale

from models import AuditEntry
from services import audit, auditlog
from tests.factories import create_account

ROOT = Path(__file__).resolve().parent.parent.parent
SKIP = {".venv", "tests", "migrations", "bench", "node_modules"}


def _source_files():
    for path in sorted(ROOT.rglob("*.py")):
        if not SKIP & set(path.relative_to(ROOT).parts):
            yield path


def _actions_in_code():
    """Every action passed to `audit.log(...)` in the portal's code, as literal
    strings (a conditional such as `"a" if x else "b"` gives both); calls whose
    action is not written out are returned apart, since nobody could label them."""
    actions, opaque = {}, []
    for path in _source_files():
        tree = ast.parse(path.read_text("utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "log" and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "audit"):
                continue
            argument = node.args[0] if node.args else next(
                (k.value for k in node.keywords if k.arg == "action"), None)
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            found = [n.value for n in ast.walk(argument) if isinstance(n, ast.Constant)
                     and isinstance(n.value, str)] if argument is not None else []
            if not found:
                opaque.append(where)
            for action in found:
                actions.setdefault(action, where)
    return actions, opaque


def test_the_scan_finds_the_actions_it_should():
    actions, _opaque = _actions_in_code()
    # One from a service, one from a conditional expression, one from a view.
    assert {"account.registered", "appeal.approved", "appeal.rejected", "audit.exported"} <= set(actions)
    assert len(actions) >= 25


def test_every_action_in_the_code_has_a_readable_label():
    actions, opaque = _actions_in_code()
    assert not opaque, f"write the action of these audit.log calls as a literal string: {opaque}"
    missing = [f"{action} ({where})" for action, where in sorted(actions.items())
               if action not in auditlog.ACTION_LABELS]
    assert not missing, ("add a label to services/auditlog.ACTION_LABELS (and its English "
                         "to messages.po) for: " + ", ".join(missing))


def test_labels_in_both_languages_and_raw_code_for_unknown_actions(app):
    with app.test_request_context():
        with force_locale("zh"):
            assert str(auditlog.action_label("settings.changed")) == "修改系统设置"
        with force_locale("en"):
            assert str(auditlog.action_label("settings.changed")) == "Changed settings"
        assert auditlog.action_label("brand.new_thing") == "brand.new_thing"


def test_day_bounds_read_dates_in_the_school_time_zone():
    since, until = auditlog.day_bounds(datetime.date(2026, 1, 31), datetime.date(2026, 2, 1),
                                       "Asia/Shanghai")
    assert since == datetime.datetime(2026, 1, 30, 16, 0)
    assert until == datetime.datetime(2026, 2, 1, 16, 0)
    assert auditlog.day_bounds(None, None, "Asia/Shanghai") == (None, None)


def test_readable_changes_for_records_settings_and_anything_else(app):
    record = audit.field_changes("diploma", 7, {"major": "数学", "level": "本科"},
                                 {"major": "应用数学", "level": "本科"})
    with app.test_request_context():
        assert auditlog.readable_changes(record, english=False) == (
            "学历 #7", [auditlog.Change("专业", "数学", "应用数学")])
        assert auditlog.readable_changes(record, english=True) == (
            "Diploma #7", [auditlog.Change("Major", "数学", "应用数学")])
        heading, rows = auditlog.readable_changes(
            {"settings": {"REPORT_MAX_MONTHS": ["6", "3"]}}, english=False)
        assert heading == "" and [(str(r.label), r.old, r.new) for r in rows] == [
            ("报告最长有效期（月）", "6", "3")]
        with force_locale("en"):
            assert str(rows[0].label) == "Longest report validity (months)"
        assert auditlog.readable_changes({"role": ["viewer", "registrar"]}, english=False) == (
            "", [auditlog.Change("role", "viewer", "registrar")])
        assert auditlog.readable_changes(None, english=False) == ("", [])


def _entry(action, at, **fields):
    entry = audit.log(action, **fields)
    AuditEntry.update(at=at).where(AuditEntry.id == entry.id).execute()
    return entry


def test_filters_and_pages(app, db):
    zhang = create_account(app, 1, username="zhang@example.edu.cn")
    li = create_account(app, 2, username="li@example.edu.cn", id_number=None)
    AuditEntry.delete().execute()
    base = datetime.datetime(2026, 3, 1, 2, 0)
    for n in range(60):
        _entry("report.issued", base + datetime.timedelta(hours=n), account=zhang)
    _entry("settings.changed", base, actor="root")
    _entry("record.corrected", base + datetime.timedelta(days=5), actor="office", account=li)

    everything = auditlog.page(auditlog.Filters())
    assert everything.total == 62 and everything.pages == 2 and len(everything.entries) == 50
    assert everything.entries[0].action == "record.corrected"  # newest first
    last = auditlog.page(auditlog.Filters(), 9)
    assert last.number == 2 and len(last.entries) == 12 and not last.has_next

    assert auditlog.page(auditlog.Filters(actor="root")).total == 1
    assert auditlog.page(auditlog.Filters(action="record.corrected")).total == 1
    by_person = auditlog.page(auditlog.Filters(person="li@example.edu.cn"))
    assert by_person.total == 1 and by_person.entries[0].account.username == "li@example.edu.cn"
    since, until = auditlog.day_bounds(datetime.date(2026, 3, 2), datetime.date(2026, 3, 2),
                                       "Asia/Shanghai")
    # 2026-03-02 in Shanghai is 03-01 16:00 to 03-02 16:00 UTC: hours 14 to 37 of the run.
    assert auditlog.page(auditlog.Filters(since=since, until=until)).total == 24
