"""services.importer, preview then commit: an upload is checked and kept (sealed) as an
ImportBatch; 导入 checks it again and writes it all once; 取消 writes nothing."""
import datetime
import threading

import peewee
import pytest

import crypto
import models
from models import AuditEntry, Enrollment, ImportBatch
from services import importer
from services.columns import KINDS
from tests.factories import csv_bytes, enrollment, resident_id


def rows_abc():
    return [enrollment(学号="2019001"),
            enrollment(学号="2019002", 姓名="李雷", 证件号码=resident_id(sequence=135)),
            enrollment(学号="2019003", 姓名="韩梅梅", 性别="女", 证件号码=resident_id(sequence=246))]


@pytest.fixture
def stored(run):
    """Three records already imported."""
    run("enrollment", csv_bytes(rows_abc()))
    return {e.student_number: e for e in Enrollment.select()}


def stage(data, name="e.csv", **options):
    return importer.stage("enrollment", name, data, uploaded_by="office", **options)


def test_preview_lists_new_changed_and_unchanged_rows_and_writes_nothing(stored):
    rows = rows_abc()
    rows[1]["专业"] = "软件工程"
    rows[2]["证件号码"] = resident_id(sequence=248)
    rows.append(enrollment(学号="2019004", 姓名="王五", 证件号码=resident_id(sequence=357)))
    before = {e.id: e.__data__.copy() for e in Enrollment.select()}

    preview, batch = stage(csv_bytes(rows))

    assert preview.ok and (preview.rows, preview.created, preview.updated, preview.unchanged) == (4, 1, 2, 1)
    assert [(row.row, row.summary) for row in preview.new] == [(5, "王五（学号 2019004）")]
    assert preview.unchanged_rows == [2]
    changes = {change.row: change for change in preview.changes}
    assert [(c.header, old, new) for c, old, new in changes[3].fields] == [("专业", "计算机科学与技术", "软件工程")]
    # The ID numbers are shown masked, the old one looked up from the stored record.
    [(column, old, new)] = changes[4].fields
    assert column.header == "证件号码"
    assert old == resident_id(sequence=246)[:4] + "*" * 10 + resident_id(sequence=246)[-4:]
    assert new.endswith(resident_id(sequence=248)[-4:]) and "*" in new
    # Nothing written to the records; the batch waits with the file sealed.
    assert {e.id: e.__data__ for e in Enrollment.select()} == before
    assert batch.status == ImportBatch.PENDING and batch.uploaded_by == "office"
    assert (batch.created, batch.updated, batch.unchanged) == (1, 2, 1)
    raw = peewee.Table("importbatch").bind(models.db).select().get()
    assert crypto.is_sealed(bytes(raw["file_data"])) and b"2019004" not in bytes(raw["file_data"])
    assert ImportBatch.get().file_data == csv_bytes(rows)
    assert not AuditEntry.select().where(AuditEntry.action == "records.imported",
                                         AuditEntry.detail.contains("batch")).count()


def test_a_file_with_problems_is_previewed_with_them_and_not_kept(db):
    rows = [enrollment(), enrollment(学号="2019002", 入学日期="2019-02-30")]
    preview, batch = stage(csv_bytes(rows))
    assert batch is None and not ImportBatch.select().exists()
    assert [str(e) for e in preview.errors] == ["第 3 行「入学日期」：日期「2019-02-30」不存在，请核对。"]
    assert Enrollment.select().count() == 0
    wrong_type, batch = stage(b"a,b", name="e.txt")
    assert batch is None and "不支持的文件类型" in str(wrong_type.errors[0])


def test_commit_writes_everything_once_and_drops_the_file(db):
    _, batch = stage(csv_bytes(rows_abc()))
    result, done = importer.commit(batch.token, actor="office", ip="10.0.0.9")
    assert (result.created, result.updated, result.unchanged) == (3, 0, 0)
    assert Enrollment.select().count() == 3
    assert done.status == ImportBatch.COMMITTED and done.committed_at and done.finished_by == "office"
    assert (done.rows, done.created) == (3, 3)
    raw = ImportBatch.select(ImportBatch.file_data, ImportBatch.photos_data).get()
    assert raw.file_data is None and raw.photos_data is None
    entry = AuditEntry.get(AuditEntry.action == "records.imported")
    assert entry.detail.endswith(f"batch={batch.id}") and entry.actor == "office" and entry.ip == "10.0.0.9"

    with pytest.raises(importer.BatchClosed, match="已经导入过"):
        importer.commit(batch.token, actor="office")
    assert Enrollment.select().count() == 3
    assert AuditEntry.select().where(AuditEntry.action == "records.imported").count() == 1


def test_commit_checks_the_file_again_against_the_records_as_they_are_now(run):
    _, batch = stage(csv_bytes(rows_abc()))
    run("enrollment", csv_bytes(rows_abc()[:1]))  # someone imported one of the rows meanwhile
    result, _ = importer.commit(batch.token, actor="office")
    assert (result.created, result.unchanged) == (2, 1)
    assert Enrollment.select().count() == 3


def test_cancel_writes_nothing_and_a_cancelled_batch_cannot_be_committed(db):
    _, batch = stage(csv_bytes(rows_abc()))
    cancelled = importer.cancel(batch.token, actor="office", ip="10.0.0.9")
    assert cancelled.status == ImportBatch.CANCELLED and cancelled.finished_by == "office"
    assert ImportBatch.select(ImportBatch.file_data).get().file_data is None
    assert Enrollment.select().count() == 0
    entry = AuditEntry.get(AuditEntry.action == "import.cancelled")
    assert entry.detail == f"kind=enrollment, file=e.csv, batch={batch.id}" and entry.ip == "10.0.0.9"
    with pytest.raises(importer.BatchClosed, match="已取消"):
        importer.commit(batch.token, actor="office")
    with pytest.raises(importer.BatchClosed, match="已取消"):
        importer.cancel(batch.token, actor="office")
    with pytest.raises(importer.BatchClosed, match="找不到"):
        importer.commit("no-such-token", actor="office")
    assert Enrollment.select().count() == 0


def test_a_batch_left_a_day_expires(db):
    _, batch = stage(csv_bytes(rows_abc()))
    later = models.utcnow() + importer.PENDING_LIFETIME + datetime.timedelta(minutes=1)
    with pytest.raises(importer.BatchClosed, match="已过期"):
        importer.commit(batch.token, actor="office", now=later)
    expired = ImportBatch.get()
    assert expired.status == ImportBatch.EXPIRED and expired.file_data is None
    assert Enrollment.select().count() == 0


def test_a_rejected_commit_leaves_the_batch_pending(db):
    _, batch = stage(csv_bytes(rows_abc()))
    # The limit was lowered since the preview: the file is refused now.
    with pytest.raises(importer.ImportRejected) as rejected:
        importer.commit(batch.token, actor="office", max_bytes=10)
    assert "文件太大" in str(rejected.value.errors[0])
    assert ImportBatch.get().status == ImportBatch.PENDING
    assert Enrollment.select().count() == 0
    result, _ = importer.commit(batch.token, actor="office")
    assert result.created == 3


def test_two_confirms_at_once_commit_the_batch_once(app, db):
    rows = [enrollment(学号=f"2019{n:03d}", 证件号码=resident_id(sequence=n * 2 + 1)) for n in range(1, 201)]
    _, batch = stage(csv_bytes(rows))
    barrier = threading.Barrier(2)
    outcomes = []

    def confirm():
        with models.db.connection_context():
            barrier.wait()
            try:
                result, _ = importer.commit(batch.token, actor="office")
                outcomes.append(("committed", result.created))
            except importer.BatchClosed as error:
                outcomes.append(("refused", str(error)))

    threads = [threading.Thread(target=confirm) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(kind for kind, _ in outcomes) == ["committed", "refused"], outcomes
    assert ("committed", 200) in outcomes
    assert Enrollment.select().count() == 200
    assert AuditEntry.select().where(AuditEntry.action == "records.imported").count() == 1
    assert ImportBatch.get().status == ImportBatch.COMMITTED


def test_history_pages_newest_first_without_the_files(db):
    for n in range(3):
        stage(csv_bytes([enrollment(学号=f"20190{n}")]), name=f"e{n}.csv")
    first, more = importer.history(1, per_page=2)
    assert [b.filename for b in first] == ["e2.csv", "e1.csv"] and more
    second, more = importer.history(2, per_page=2)
    assert [b.filename for b in second] == ["e0.csv"] and not more
    assert "file_data" not in first[0].__data__


def test_the_command_line_import_keeps_no_batch(run):
    result = run("enrollment", csv_bytes(rows_abc()))
    assert result.created == 3 and not ImportBatch.select().exists()


@pytest.mark.parametrize("fmt", importer.TEMPLATE_FORMATS)
@pytest.mark.parametrize("kind", list(KINDS))
def test_each_template_imports_its_example_row_cleanly(db, kind, fmt):
    data, name = importer.template(kind, fmt)
    assert name == f"{KINDS[kind].label}导入模板.{fmt}"
    preview = importer.preview(kind, name, data)
    assert preview.ok, [str(e) for e in preview.errors]
    assert (preview.rows, preview.created) == (1, 1)
    result = importer.import_file(kind, name, data)
    assert result.created == 1
