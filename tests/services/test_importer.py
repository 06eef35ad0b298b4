"""services.importer: real CSV, XLSX and ZIP files, good and bad."""
import datetime
import io
import zipfile
from decimal import Decimal

import pytest
from PIL import Image

from models import Account, AuditEntry, Aid, Degree, Diploma, Enrollment
from services import importer
from services.importer import ImportRejected, RowError
from services.records import KINDS
from tests.factories import (aid, csv_bytes, diploma, enrollment, image_bytes, resident_id,
                             xlsx_bytes, zip_bytes)


@pytest.fixture
def upload_dir(tmp_path):
    return tmp_path / "uploads"


@pytest.fixture
def run(db, tmp_path, upload_dir):
    """Write the bytes to a real file, read it back, and import it."""
    def do(kind, data, name=None, **options):
        path = tmp_path / (name or f"{kind}.csv")
        path.write_bytes(data)
        options.setdefault("upload_dir", upload_dir)
        return importer.import_file(kind, path.name, path.read_bytes(), **options)
    return do


def rejected(run, *args, **kwargs) -> list:
    with pytest.raises(ImportRejected) as caught:
        run(*args, **kwargs)
    return [str(error) for error in caught.value.errors]


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


# --- values ------------------------------------------------------------------

@pytest.mark.parametrize("typed", ["2019-09-01", "2019/9/1", "2019.09.01", "20190901",
                                   "2019年9月1日", "２０１９－０９－０１", "2019-09-01 00:00:00"])
def test_date_formats_are_accepted(run, typed):
    run("enrollment", csv_bytes([enrollment(入学日期=typed)]))
    assert Enrollment.get().admission_date == datetime.date(2019, 9, 1)


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


def test_resident_ids_are_checked_and_legacy_ones_upgraded(run):
    wrong_check = resident_id()[:17] + ("0" if resident_id()[17] != "0" else "1")
    errors = rejected(run, "enrollment", csv_bytes([enrollment(证件号码=wrong_check)]))
    assert errors == ["第 2 行「证件号码」：身份证号码校验位不正确，请核对后重新输入。"]

    legacy = enrollment(证件号码="110105491231002", 性别="女", 出生日期="1949-12-31")
    assert run("enrollment", csv_bytes([legacy])).created == 1
    assert Enrollment.get().id_number == "11010519491231002X"


def test_ids_may_be_missing_typed_full_width_or_of_other_kinds(run):
    rows = [enrollment(证件号码="", 证件类型=""),
            enrollment(学号="2", 证件号码="１１０１０５１９４９１２３１００２ｘ", 性别="女", 出生日期=""),
            enrollment(学号="3", 证件类型="其他", 证件号码="e 1234567", 性别="女", 出生日期="1990-01-01")]
    assert run("enrollment", csv_bytes(rows)).created == 3
    stored = {record.student_number: record for record in Enrollment.select()}
    assert stored["2019001"].id_number is None and stored["2019001"].id_type == "居民身份证"
    assert stored["2"].id_number == "11010519491231002X"
    assert (stored["3"].id_type, stored["3"].id_number) == ("其他", "E1234567")


def test_birth_date_and_gender_must_agree_with_the_id(run):
    rows = [enrollment(出生日期="2001-02-04"), enrollment(学号="2", 性别="女")]
    errors = rejected(run, "enrollment", csv_bytes(rows))
    assert errors == [
        "第 2 行「出生日期」：出生日期 2001-02-04 与身份证号码中的出生日期 2001-02-03 不一致。",
        "第 3 行「性别」：性别「女」与身份证号码不一致（第 17 位表示男）。",
    ]


def test_choices_are_checked_and_listed(run):
    errors = rejected(run, "enrollment", csv_bytes([enrollment(层次="大专", 性别="M")]))
    assert "第 2 行「层次」：「大专」不是可选的值；可选：专科、本科、第二学士、硕士研究生、博士研究生。" in errors
    assert "第 2 行「性别」：「M」不是可选的值；可选：男、女。" in errors


def test_choices_tolerate_half_width_parentheses(run):
    run("enrollment", csv_bytes([enrollment(学籍状态="在籍(注册学籍)")]))
    assert Enrollment.get().status == "在籍（注册学籍）"


def test_required_values_and_names(run):
    errors = rejected(run, "enrollment", csv_bytes([enrollment(专业="", 姓名="张")]))
    assert errors == ["第 2 行「姓名」：姓名应为 2 到 30 个字。", "第 2 行「专业」：不能为空。"]


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


# --- kinds -------------------------------------------------------------------

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


def test_diploma_rules(run):
    rows = [diploma(证书编号=""),
            diploma(证书编号="104461201805004220"),
            diploma(证书编号="104461201905004221", 入学日期="2019-09-01")]
    errors = rejected(run, "diploma", csv_bytes(rows))
    assert errors == [
        "第 2 行「证书编号」：证书编号和学校编号至少要填写一项。",
        "第 3 行「证书编号」：证书编号中的年份 2018 与毕业年份 2019 不一致。",
        "第 4 行「毕(结)业日期」：毕(结)业日期 2019-06-30 应晚于入学日期 2019-09-01。",
    ]


def test_degree_stores_its_certificate_key(run):
    row = {"姓名": "张三", "性别": "男", "出生日期": "2001-02-03", "证件类型": "居民身份证",
           "证件号码": resident_id(), "学位授予单位": "示范大学", "所授学位": "工学学士",
           "学科/专业": "计算机科学与技术", "获学位日期": "2023-06-30", "学位证书编号": "1044612023001234"}
    run("degree", csv_bytes([row]))
    assert Degree.get().certificate_key == "1044612023001234"


def test_admission_year_range(run):
    row = {"姓名": "张三", "证件类型": "", "证件号码": "", "考生号": "19110105150001",
           "录取年份": "1949", "录取批次": "本科一批", "录取专业": "数学", "层次": "本科"}
    errors = rejected(run, "admission", csv_bytes([row]))
    assert errors == [f"第 2 行「录取年份」：录取年份应在 1950 到 {datetime.date.today().year + 1} 之间（现为 1949）。"]


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


# --- photos ------------------------------------------------------------------

def test_photos_are_resized_stored_and_linked(run, upload_dir):
    rows = [enrollment(), enrollment(学号="2019002")]
    photos = zip_bytes({"photos/2019001.jpg": image_bytes(size=(3000, 2000)),
                        "2019002.PNG": image_bytes("PNG", mode="RGBA"),
                        "__MACOSX/._2019001.jpg": b"junk"})
    result = run("enrollment", csv_bytes(rows), photos_zip=photos)
    assert result.photos == 2
    for number in ("2019001", "2019002"):
        record = Enrollment.get(Enrollment.student_number == number)
        assert record.photo == f"photos/enrollment/{record.id}.jpg"
        stored = upload_dir / record.photo
        assert stored.stat().st_size <= importer.PHOTO_MAX_JPEG_BYTES
        with Image.open(stored) as image:
            assert (image.format, image.size) == ("JPEG", (120, 160))
    # The same photos again change nothing.
    assert run("enrollment", csv_bytes(rows), photos_zip=photos).photos == 0


def test_photos_for_records_already_in_the_database(run):
    run("diploma", csv_bytes([diploma()]))
    other = diploma(证书编号="104461201905004221", 证件号码=resident_id("19800506", 126, "440305"))
    photos = zip_bytes({"104461201905004220.jpg": image_bytes()})
    assert run("diploma", csv_bytes([other]), photos_zip=photos).photos == 1
    assert Diploma.get(Diploma.certificate_number == "104461201905004220").photo.startswith("photos/diploma/")


def test_bad_photos_are_refused_and_nothing_is_written(run, upload_dir, tmp_path):
    photos = zip_bytes({"2019001.jpg": b"not an image",
                        "2019009.jpg": image_bytes(),
                        "../../escape.jpg": image_bytes(),
                        "notes.txt": b"hello",
                        "2019001.png": image_bytes("PNG")})
    errors = rejected(run, "enrollment", csv_bytes([enrollment()]), photos_zip=photos)
    assert errors == [
        "「录取照片」：「2019001.jpg」不是有效的图片，或图片已损坏。",
        "「录取照片」：「notes.txt」不是 JPEG 或 PNG 照片（文件名应为学号加 .jpg 或 .png）。",
        "「录取照片」：「2019001.png」与「2019001.jpg」是同一学号的照片。",
        "「录取照片」：「2019009.jpg」：文件和数据库中都没有学号为 2019009 的记录。",
        "「录取照片」：「escape.jpg」：文件和数据库中都没有学号为 escape 的记录。",
    ]
    assert Enrollment.select().count() == 0
    assert not (tmp_path / "escape.jpg").exists() and not upload_dir.exists()


def test_traversal_names_only_use_the_basename(run, upload_dir, tmp_path):
    photos = zip_bytes({"../../2019001.jpg": image_bytes()})
    assert run("enrollment", csv_bytes([enrollment()]), photos_zip=photos).photos == 1
    record = Enrollment.get()
    assert (upload_dir / "photos" / "enrollment" / f"{record.id}.jpg").exists()
    assert not (tmp_path / "2019001.jpg").exists()


def test_zip_bombs_and_non_zips_are_refused(run, monkeypatch):
    data = csv_bytes([enrollment()])
    assert rejected(run, "enrollment", data, photos_zip=b"not a zip") == [
        "「录取照片」：照片压缩包不是有效的 ZIP 文件。"]
    monkeypatch.setattr(importer, "PHOTO_MAX_ENTRIES", 2)
    many = zip_bytes({f"{n}.jpg": b"x" for n in range(3)})
    assert "文件过多" in rejected(run, "enrollment", data, photos_zip=many)[0]
    monkeypatch.setattr(importer, "PHOTO_MAX_TOTAL_BYTES", 1000)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("2019001.jpg", b"\0" * 100_000)
    assert rejected(run, "enrollment", data, photos_zip=buffer.getvalue()) == [
        "「录取照片」：照片压缩包解压后过大。"]


def test_kinds_without_photos_refuse_a_zip(run):
    errors = rejected(run, "aid", csv_bytes([aid()]), photos_zip=zip_bytes({"a.jpg": image_bytes()}))
    assert errors == ["资助记录没有照片，请不要附带照片压缩包。"]


def test_row_error_text():
    assert str(RowError(5, "证件号码", "x。")) == "第 5 行「证件号码」：x。"
    assert str(RowError(1, "", "缺少列：学号。")) == "第 1 行：缺少列：学号。"
    assert str(RowError(0, "", "文件是空的。")) == "文件是空的。"
