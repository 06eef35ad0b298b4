"""`flask import-records`: counts on success, every error line and exit 1 on failure."""

import models
from models import AuditEntry, Enrollment
from services import files
from tests.factories import csv_bytes, enrollment, image_bytes, resident_id, zip_bytes


def count_enrollments():
    with models.db.connection_context():
        return Enrollment.select().count()


def test_good_file_is_imported_with_photos(runner, app, tmp_path):
    source = tmp_path / "学籍.csv"
    source.write_bytes(csv_bytes([enrollment(), enrollment(学号="2019002")]))
    photos = tmp_path / "photos.zip"
    photos.write_bytes(zip_bytes({"2019002.jpg": image_bytes()}))
    result = runner.invoke(args=["import-records", "--kind", "enrollment", str(source),
                                 "--photos", str(photos)])
    assert result.exit_code == 0, result.output
    assert result.stdout == ("imported enrollment from 学籍.csv: 2 row(s), created 2, "
                             "updated 0, unchanged 0, photos 1\n")
    assert count_enrollments() == 2
    with models.db.connection_context():
        record = Enrollment.get(Enrollment.student_number == "2019002")
        assert files.read(record.photo).startswith(b"\xff\xd8")  # a JPEG, in the database
        assert AuditEntry.get(AuditEntry.action == "records.imported").actor == "cli"

    again = runner.invoke(args=["import-records", "--kind", "enrollment", str(source)])
    assert again.exit_code == 0 and "created 0, updated 0, unchanged 2" in again.stdout


def test_bad_file_prints_every_error_and_exits_1(runner, tmp_path):
    source = tmp_path / "学籍.csv"
    rows = [enrollment(), enrollment(学号="2019002", 入学日期="2019-02-30"),
            enrollment(学号="2019003", 证件号码=resident_id()[:17] + "5", 层次="大专")]
    source.write_bytes(csv_bytes(rows))
    result = runner.invoke(args=["import-records", "--kind", "enrollment", str(source)])
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[:3] == [
        "第 3 行「入学日期」：日期「2019-02-30」不存在，请核对。",
        "第 4 行「层次」：「大专」不是可选的值；可选：专科、本科、第二学士、硕士研究生、博士研究生。",
        "第 4 行「证件号码」：身份证号码校验位不正确，请核对后重新输入。",
    ]
    assert "未写入任何记录" in lines[3]
    assert result.stdout == ""
    assert count_enrollments() == 0


def test_file_over_the_configured_limit_is_refused(app_factory, tmp_path):
    app = app_factory(IMPORT_MAX_BYTES=100)
    source = tmp_path / "big.csv"
    source.write_bytes(csv_bytes([enrollment()]))
    result = app.test_cli_runner().invoke(args=["import-records", "--kind", "enrollment", str(source)])
    assert result.exit_code == 1 and "文件太大" in result.stderr
    assert count_enrollments() == 0


def test_unknown_kind_and_wrong_extension(runner, tmp_path):
    source = tmp_path / "records.xls"
    source.write_bytes(b"x")
    assert runner.invoke(args=["import-records", "--kind", "alumni", str(source)]).exit_code == 2
    result = runner.invoke(args=["import-records", "--kind", "aid", str(source)])
    assert result.exit_code == 1 and "不支持的文件类型「.xls」" in result.stderr
