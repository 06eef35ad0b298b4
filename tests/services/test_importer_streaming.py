"""services.importer on files bigger than one chunk: read twice row by row, written in
chunks, still all or nothing (real SQLite files, real CSV and XLSX)."""
import csv
import subprocess  # nosec B404 # runs an import in a fresh interpreter to read its peak memory
import sys
from pathlib import Path

import pytest

import models
from models import AuditEntry, Diploma, Enrollment, ImportBatch
from services import importer
from services.columns import KINDS
from tests.factories import csv_bytes, diploma, enrollments, rejected, resident_id, xlsx_bytes

ROOT = Path(__file__).resolve().parents[2]
# More rows than one chunk of the write (and several of the check), not a multiple of either.
N = importer.WRITE_ROWS * 2 + 7


def test_a_file_bigger_than_a_chunk_imports_every_row_with_its_values(run):
    result = run("enrollment", csv_bytes(list(enrollments(N))))
    assert (result.rows, result.created, result.updated, result.unchanged) == (N, N, 0, 0)
    assert Enrollment.select().count() == N
    for n in (0, importer.CHECK_ROWS, importer.WRITE_ROWS - 1, importer.WRITE_ROWS, N - 1):
        stored = Enrollment.get(Enrollment.student_number == f"S{n:07d}")
        row = next(enrollments(1, start=n))
        assert (stored.name, stored.id_number) == (row["姓名"], row["证件号码"])
    assert AuditEntry.get(AuditEntry.action == "records.imported").detail == (
        f"kind=enrollment, file=enrollment.csv, created={N}, updated=0, unchanged=0, photos=0")


def test_a_big_xlsx_is_read_row_by_row_too(run):
    headers = KINDS["enrollment"].headers
    rows = [[row[h] for h in headers] for row in enrollments(importer.WRITE_ROWS + 3)]
    result = run("enrollment", xlsx_bytes([headers, *rows]), name="enrollment.xlsx")
    assert result.created == importer.WRITE_ROWS + 3 == Enrollment.select().count()


def test_reimporting_a_big_file_updates_rows_in_every_chunk(run):
    run("enrollment", csv_bytes(list(enrollments(N))))
    rows = list(enrollments(N))
    changed = (1, importer.WRITE_ROWS + 1, N - 1)
    for n in changed:
        rows[n]["专业"] = "汉语言文学"
    rows[N - 2]["班级"] = "2班"
    result = run("enrollment", csv_bytes(rows))
    assert (result.created, result.updated, result.unchanged) == (0, 4, N - 4)
    assert {e.student_number for e in Enrollment.select().where(Enrollment.major == "汉语言文学")} == {
        f"S{n:07d}" for n in changed}
    assert Enrollment.get(Enrollment.student_number == f"S{N - 2:07d}").class_name == "2班"
    assert Enrollment.select().count() == N


def test_a_file_whose_last_row_is_bad_writes_nothing(run):
    rows = list(enrollments(N))
    rows[-1]["出生日期"] = "2001-02-30"
    errors = rejected(run, "enrollment", csv_bytes(rows))
    assert len(errors) == 1 and errors[0].startswith(f"第 {N + 1} 行「出生日期」")
    assert Enrollment.select().count() == 0
    assert not AuditEntry.select().where(AuditEntry.action == "records.imported").exists()


def test_a_duplicate_far_from_its_first_row_is_found(run):
    rows = list(enrollments(N))
    rows[-1]["学号"] = rows[3]["学号"]
    errors = rejected(run, "enrollment", csv_bytes(rows))
    assert errors == [f"第 {N + 1} 行「学号」：与第 5 行重复（学号相同）。"]
    assert Enrollment.select().count() == 0


def test_problems_are_capped_but_counted_over_the_whole_file(run):
    rows = list(enrollments(N))
    for row in rows:
        row["出生日期"] = "not a date"
    errors = rejected(run, "enrollment", csv_bytes(rows))
    assert len(errors) == importer.MAX_ERRORS + 1
    assert errors[-1] == f"还有 {N - importer.MAX_ERRORS} 处错误未列出。"


def _refuse_insert_of(student_number):
    """A trigger in the real database that refuses one row, as a constraint would."""
    table = Enrollment._meta.table_name
    models.db.execute_sql(
        f"CREATE TRIGGER refuse_one BEFORE INSERT ON {table} "  # nosec B608 # test's own SQL
        f"WHEN NEW.student_number = '{student_number}' "
        "BEGIN SELECT RAISE(ABORT, 'refused by the test trigger'); END")


def test_a_database_failure_in_the_second_chunk_leaves_nothing(run):
    _refuse_insert_of(f"S{importer.WRITE_ROWS + 5:07d}")
    errors = rejected(run, "enrollment", csv_bytes(list(enrollments(N))))
    assert len(errors) == 1 and "数据库拒绝了写入" in errors[0] and "未写入任何记录" in errors[0]
    assert Enrollment.select().count() == 0
    assert not AuditEntry.select().where(AuditEntry.action == "records.imported").exists()


def test_a_database_failure_while_committing_a_batch_leaves_it_pending(db):
    data = csv_bytes(list(enrollments(N)))
    shown, batch = importer.stage("enrollment", "big.csv", data, uploaded_by="registrar")
    assert shown.ok and shown.created == N and len(shown.new) == importer.PREVIEW_ROWS
    _refuse_insert_of(f"S{N - 1:07d}")
    with pytest.raises(importer.ImportRejected):
        importer.commit(batch.token, actor="registrar")
    assert Enrollment.select().count() == 0
    assert ImportBatch.get_by_id(batch.id).status == ImportBatch.PENDING


def test_the_preview_of_a_big_file_counts_everything_and_shows_the_first_rows(run, db):
    run("enrollment", csv_bytes(list(enrollments(N - 10))))
    rows = list(enrollments(N))
    for row in rows[: importer.PREVIEW_ROWS + 50]:
        row["班级"] = "3班"
    shown = importer.preview("enrollment", "big.csv", csv_bytes(rows))
    assert (shown.rows, shown.created, shown.updated, shown.unchanged) == (
        N, 10, importer.PREVIEW_ROWS + 50, N - 10 - importer.PREVIEW_ROWS - 50)
    assert len(shown.changes) == importer.PREVIEW_ROWS and shown.changes[0].row == 2
    assert [row.row for row in shown.new] == list(range(N - 10 + 2, N + 2))
    assert len(shown.unchanged_rows) == importer.PREVIEW_ROWS
    assert shown.unchanged_rows[0] == importer.PREVIEW_ROWS + 50 + 2


def test_a_record_created_by_the_import_is_not_updated_by_a_later_row(run, monkeypatch):
    # 学历 rows match by certificate number, or by school number + school when there is none:
    # the second row must not find the record the first row's chunk just created.
    monkeypatch.setattr(importer, "WRITE_ROWS", 1)
    first = diploma(证书编号="104461201905004220", 学校编号="X2019001")
    second = diploma(证书编号="", 学校编号="X2019001", 姓名="王五",
                     证件号码=resident_id("19800506", 8, "420106"))
    result = run("diploma", csv_bytes([first, second]))
    assert (result.created, result.updated) == (2, 0)
    assert Diploma.select().count() == 2


# --- memory ---------------------------------------------------------------------

MEASURE = """
import resource, shutil, sys
from pathlib import Path
import models
from app import create_app
from cli import migration_router
from services import importer

source, instance, keys = map(Path, sys.argv[1:4])
shutil.copytree(keys, instance / "keys")
app = create_app(dict(INSTANCE_DIR=str(instance), RATELIMIT_ENABLED=False))
with app.app_context(), models.db.connection_context():
    migration_router().run()
    try:
        Path("/proc/self/clear_refs").write_text("5")  # forget the start-up's peak (VmHWM, ru_maxrss)
        ready = next(int(line.split()[1]) for line in Path("/proc/self/status").read_text().splitlines()
                     if line.startswith("VmRSS:"))
    except OSError:  # not Linux: measure from the start-up's peak
        ready = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = importer.import_file("enrollment", source.name, source.read_bytes(),
                                  max_bytes=200 * 1024 * 1024)
    print(result.created, ready, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


@pytest.mark.timeout(900)
def test_importing_100000_rows_adds_under_200_mb(tmp_path, signing_keys_dir):
    count = 100_000
    source = tmp_path / "enrollment.csv"
    headers = KINDS["enrollment"].headers
    with source.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(headers)
        writer.writerows([row[h] for h in headers] for row in enrollments(count))
    done = subprocess.run(  # nosec B603 # this interpreter, fixed arguments
        [sys.executable, "-c", MEASURE, str(source), str(tmp_path / "instance"), str(signing_keys_dir)],
        cwd=ROOT, capture_output=True, text=True, timeout=880)
    assert done.returncode == 0, done.stderr[-3000:]
    created, ready_kb, peak_kb = map(int, done.stdout.split()[-3:])
    assert created == count
    # The app alone (pypinyin's dictionaries, WeasyPrint, pyHanko) uses about 200 MB before
    # the import starts; the import's own share must stay under 200 MB (it held every
    # row before: about 350 MB more for 100,000 rows).
    grown_kb = peak_kb - ready_kb
    assert grown_kb < 200 * 1024, f"import grew the peak by {grown_kb / 1024:.0f} MB (start-up {ready_kb / 1024:.0f} MB)"
