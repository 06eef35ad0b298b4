"""services.importer: real CSV and XLSX files, good and bad, imported whole or not at all."""
import datetime
from decimal import Decimal

import pytest

from models import Account, AuditEntry, Aid, Diploma, Enrollment
from services import importer
from services.importer import RowError
from services.columns import KINDS
from tests.factories import aid, csv_bytes, diploma, enrollment, rejected, resident_id, xlsx_bytes


# --- formats -----------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_in_each_encoding_is_imported(run, encoding):
    rows = [enrollment(), enrollment(姓名="买买提·艾力", 学号="2019002", 性别="女",
                                     证件号码=resident_id("20020304", 246), 出生日期="2002-03-04")]
    result = run("enrollment", csv_bytes(rows, encoding=encoding))
    assert (result.created, result.updated, result.unchanged) == (2, 0, 0)
    stored = Enrollment.get(Enrollment.student_number == "2019002")
    assert stored.name == "买买提·艾力" and stored.gender == "女"
    assert stored.birth_date == datetime.date(2002, 3, 4)
    assert stored.id_number == resident_id("20020304", 246)
    assert Enrollment.get(Enrollment.id_number.matches(resident_id())).student_number == "2019001"
    assert stored.status == "在籍（注册学籍）" and stored.duration == "4"


def test_import_is_audited(run):
    run("enrollment", csv_bytes([enrollment()]), actor="office")
    entry = AuditEntry.get(AuditEntry.action == "records.imported")
    assert entry.actor == "office"
    assert entry.detail == "kind=enrollment, file=enrollment.csv, created=1, updated=0, unchanged=0, photos=0"


def test_xlsx_with_date_cells_text_ids_and_numbers(run):
    headers = KINDS["enrollment"].headers
    row = enrollment(出生日期=datetime.datetime(2001, 2, 3), 入学日期=datetime.date(2019, 9, 1),
                     学号=2019001, 学制=4.0, 证件号码=resident_id())
    data = xlsx_bytes([headers, [row[h] for h in headers]])
    result = run("enrollment", data, name="enrollment.xlsx")
    assert result.created == 1
    stored = Enrollment.get()
    assert stored.student_number == "2019001" and stored.duration == "4"
    assert stored.birth_date == datetime.date(2001, 2, 3)
    assert stored.admission_date == datetime.date(2019, 9, 1)
    assert stored.id_number == resident_id()


def test_xlsx_id_stored_as_a_long_number_is_refused(run):
    headers = KINDS["enrollment"].headers
    row = enrollment(证件号码=float(resident_id()[:17] + "0"))
    errors = rejected(run, "enrollment", xlsx_bytes([headers, [row[h] for h in headers]]),
                      name="enrollment.xlsx")
    assert len(errors) == 1
    assert errors[0].startswith("第 2 行「证件号码」：") and "文本" in errors[0]
    assert Enrollment.select().count() == 0


def test_csv_id_in_scientific_notation_is_refused(run):
    errors = rejected(run, "enrollment", csv_bytes([enrollment(证件号码="1.10105E+17")]))
    assert errors[0].startswith("第 2 行「证件号码」：") and "科学计数法" in errors[0]


def test_blank_rows_are_skipped_and_row_numbers_stay_the_spreadsheets(run):
    headers = KINDS["enrollment"].headers
    good = enrollment()
    bad = enrollment(学号="2019002", 入学日期="2019-02-30")
    data = xlsx_bytes([headers, [good[h] for h in headers], [None] * len(headers),
                       [bad[h] for h in headers]])
    errors = rejected(run, "enrollment", data, name="enrollment.xlsx")
    assert errors == ["第 4 行「入学日期」：日期「2019-02-30」不存在，请核对。"]


@pytest.mark.parametrize("name, data, message", [
    ("records.xls", b"whatever", "不支持的文件类型「.xls」"),
    ("records.txt", b"a,b", "不支持的文件类型「.txt」"),
    ("records.xlsx", b"\xd0\xcf\x11\xe0 an old xls", "不是有效的 .xlsx 文件"),
    ("records.xlsx", b"PK\x03\x04 broken zip", "不是有效的 .xlsx 文件"),
    ("records.csv", b"", "文件是空的"),
    ("records.csv", b"\n\n", "文件是空的"),
    ("records.xlsx", b"", "文件是空的"),
])
def test_files_that_are_not_spreadsheets_are_refused(run, name, data, message):
    errors = rejected(run, "enrollment", data, name=name)
    assert len(errors) == 1 and message in errors[0]


def test_header_only_file_is_refused(run):
    data = csv_bytes([], headers=KINDS["enrollment"].headers)
    assert rejected(run, "enrollment", data) == ["文件只有列名，没有数据行。"]
    assert rejected(run, "enrollment", data + b",,,\n") == ["文件只有列名，没有数据行。"]


def test_file_over_the_size_limit_is_refused_before_reading(run, monkeypatch):
    data = csv_bytes([enrollment()])
    monkeypatch.setattr(importer, "_read_table", lambda *args: pytest.fail("file was parsed"))
    errors = rejected(run, "enrollment", data, max_bytes=len(data) - 1)
    assert len(errors) == 1 and "文件太大" in errors[0]


def test_file_at_the_size_limit_is_accepted(run):
    data = csv_bytes([enrollment()])
    assert run("enrollment", data, max_bytes=len(data)).created == 1


# --- headers -----------------------------------------------------------------

def test_headers_may_be_reordered_padded_and_full_width(run):
    row = diploma()
    headers = list(reversed(row))
    data = csv_bytes([row], headers=headers).replace("毕(结)业日期".encode(), " 毕（结）业日期 ".encode())
    assert run("diploma", data).created == 1
    assert Diploma.get().graduation_date == datetime.date(2019, 6, 30)


def test_missing_extra_and_duplicate_headers_are_named(run):
    row = enrollment()
    del row["民族"], row["学号"]
    row["备注"] = "x"
    errors = rejected(run, "enrollment", csv_bytes([row]))
    assert "第 1 行：缺少列：民族、学号。" in errors
    assert any(error.startswith("第 1 行：无法识别的列：备注；") for error in errors)

    headers = list(enrollment()) + ["姓名"]
    errors = rejected(run, "enrollment", csv_bytes([enrollment()], headers=headers))
    assert errors == ["第 1 行「姓名」：列名重复（第 1 列和第 19 列）。"]


def test_data_under_an_empty_header_is_refused(run):
    data = csv_bytes([enrollment()]).replace(b"\r\n", b",\r\n")
    data = data.replace(b"2023-06-30,", b"2023-06-30,oops")
    errors = rejected(run, "enrollment", data)
    assert errors == ["第 1 行：第 19 列有数据但没有列名。"]


# --- rows --------------------------------------------------------------------

def test_bad_dates_are_each_reported(run):
    future = (datetime.date.today() + datetime.timedelta(days=1)).isoformat()
    rows = [enrollment(入学日期="2019-02-30"), enrollment(学号="2", 入学日期=future),
            enrollment(学号="3", 入学日期="九月一日"),
            enrollment(学号="4", 预计毕业日期=f"{datetime.date.today().year + 3}-06-30")]
    errors = rejected(run, "enrollment", csv_bytes(rows))
    assert errors == [
        "第 2 行「入学日期」：日期「2019-02-30」不存在，请核对。",
        f"第 3 行「入学日期」：日期 {future} 晚于今天，请核对。",
        "第 4 行「入学日期」：无法识别的日期「九月一日」：请写成 2019-09-01 这样的格式。",
    ]


def test_duplicate_natural_keys_in_one_file_name_the_earlier_row(run):
    rows = [enrollment(), enrollment(学号="2019002"), enrollment(姓名="王五")]
    errors = rejected(run, "enrollment", csv_bytes(rows))
    assert errors == ["第 4 行「学号」：与第 2 行重复（学号相同）。"]


def test_one_bad_row_among_many_imports_nothing(run):
    rows = [enrollment(学号=f"2019{n:04d}") for n in range(300)]
    rows[157]["证件号码"] = "110105200102031239"
    errors = rejected(run, "enrollment", csv_bytes(rows))
    assert errors == ["第 159 行「证件号码」：身份证号码校验位不正确，请核对后重新输入。"]
    assert Enrollment.select().count() == 0
    assert AuditEntry.select().count() == 0


def test_errors_are_capped(run):
    rows = [enrollment(学号=f"2019{n:04d}", 层次="x", 性别="y") for n in range(150)]
    errors = rejected(run, "enrollment", csv_bytes(rows))
    assert len(errors) == importer.MAX_ERRORS + 1
    assert errors[-1] == "还有 100 处错误未列出。"


# --- re-import ---------------------------------------------------------------

def test_reimport_updates_changed_rows_and_leaves_the_rest(run, db):
    rows = [enrollment(), enrollment(学号="2019002", 姓名="王五")]
    run("enrollment", csv_bytes(rows))
    first, second = (Enrollment.get(Enrollment.student_number == n) for n in ("2019001", "2019002"))
    old = datetime.datetime(2020, 1, 1)
    account = Account.create(username="zhang@example.edu.cn", password_hash="x")
    Enrollment.update(updated_at=old, account=account, bound_by="auto", bound_at=old).execute()

    rows[0]["专业"] = "软件工程"
    rows[0]["姓名"] = "张叁"
    result = run("enrollment", csv_bytes(rows))
    assert (result.created, result.updated, result.unchanged) == (0, 1, 1)
    assert result.bound_identity_changed == 1
    assert Enrollment.select().count() == 2
    changed, same = Enrollment.get_by_id(first.id), Enrollment.get_by_id(second.id)
    assert changed.major == "软件工程" and changed.name == "张叁" and changed.updated_at > old
    assert same.updated_at == old
    assert (changed.account_id, changed.bound_by, changed.bound_at) == (account.id, "auto", old)

    again = run("enrollment", csv_bytes(rows))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)


def test_reimport_can_change_the_id_number_and_keeps_its_index(run):
    run("enrollment", csv_bytes([enrollment()]))
    other = resident_id(sequence=135)
    assert run("enrollment", csv_bytes([enrollment(证件号码=other)])).updated == 1
    assert Enrollment.get(Enrollment.id_number.matches(other)).id_number == other
    assert not Enrollment.select().where(Enrollment.id_number.matches(resident_id())).exists()


# --- natural keys of each kind ----------------------------------------------

def test_diploma_numbers_and_keys(run):
    rows = [diploma(), diploma(证书编号="", 学校编号="982456", **{"毕(结)业日期": "1998-07-01"},
                               入学日期="1994-09-01", 证件号码="", 性别="", 出生日期="")]
    assert run("diploma", csv_bytes(rows)).created == 2
    modern = Diploma.get(Diploma.certificate_number == "104461201905004220")
    assert modern.certificate_key == "104461201905004220" and modern.school_number_key is None
    old = Diploma.get(Diploma.school_number == "982456")
    assert old.certificate_number is None and old.school_number_key == "982456"

    rows[1]["专业"] = "历史学"
    result = run("diploma", csv_bytes(rows))
    assert (result.created, result.updated, result.unchanged) == (0, 1, 1)
    assert Diploma.get_by_id(old.id).major == "历史学"


def test_old_diploma_serials_match_with_or_without_no_and_zeros(run):
    row = diploma(证书编号="NO.00298959", **{"毕(结)业日期": "1998-07-01"}, 入学日期="1994-09-01")
    run("diploma", csv_bytes([row]))
    assert Diploma.get().certificate_key == "298959"
    row["证书编号"] = "00298959"
    result = run("diploma", csv_bytes([row]))
    assert (result.created, result.updated) == (0, 1)
    assert Diploma.get().certificate_number == "00298959"


def test_aid_amounts_ids_and_natural_key(run):
    rows = [aid(), aid(资助项目="国家励志奖学金", **{"金额(元)": "5,000"}),
            aid(发放日期="2020-05-15", **{"金额(元)": "1.005"}),
            aid(学年="2020-2021", **{"金额(元)": "-1"}),
            aid(学年="2021-2022", 证件号码=""),
            aid(证件号码=resident_id().lower().replace("x", "X"))]
    errors = rejected(run, "aid", csv_bytes(rows))
    assert errors == [
        "第 4 行「金额(元)」：金额最多保留两位小数（1.005）。",
        "第 5 行「金额(元)」：金额不能为负数（-1）。",
        "第 6 行「证件号码」：资助记录必须填写证件号码。",
        "第 7 行「证件号码」：与第 2 行重复（证件号码、学年、资助项目、发放日期相同）。",
    ]
    result = run("aid", csv_bytes(rows[:2]))
    assert result.created == 2
    assert Aid.get(Aid.program == "国家励志奖学金").amount == Decimal("5000.00")
    rows[0]["金额(元)"] = "3300"
    assert run("aid", csv_bytes(rows[:2])).unchanged == 2


def test_row_error_text():
    assert str(RowError(5, "证件号码", "x。")) == "第 5 行「证件号码」：x。"
    assert str(RowError(1, "", "缺少列：学号。")) == "第 1 行：缺少列：学号。"
    assert str(RowError(0, "", "文件是空的。")) == "文件是空的。"
