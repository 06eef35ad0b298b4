"""批量查验 (services.verify_batch): reading codes, checking them, keeping and exporting the result."""
import csv
import datetime
import io

import pytest
from openpyxl import load_workbook

from models import Challenge, utcnow
from services import reports, values, verify_batch
from services.verify_batch import BatchError
from tests.factories import csv_bytes, issue_report, xlsx_bytes

CODE = "ABCDEFGHJKLMNPQR"


def fake_pdf(snapshot):
    return b"%PDF-1.4 batch test"


@pytest.fixture
def issued(app, db, make_account, make_record):
    """A valid diploma report and an expired one, each of its own record."""
    owner = make_account(username="zhang@example.edu.cn", real_name="张三")
    valid = issue_report(app, owner, make_record("diploma", account=owner.id, major="汉语言文学"),
                         render=fake_pdf)
    old = issue_report(app, owner, make_record("diploma", account=owner.id), render=fake_pdf,
                       now=utcnow() - datetime.timedelta(days=400))
    return valid, old


def school(app):
    return values.School.from_config(app.config)


# --- pasted text ---------------------------------------------------------------------

@pytest.mark.parametrize("text, codes", [
    ("ABCDEFGHJKLMNPQR", ["ABCDEFGHJKLMNPQR"]),
    ("abcd efgh jklm npqr", ["abcd efgh jklm npqr"]),
    ("ABCD-EFGH-JKLM-NPQR\nBBBBCCCCDDDDEEEE", ["ABCD-EFGH-JKLM-NPQR", "BBBBCCCCDDDDEEEE"]),
    ("AAAABBBBCCCCDDDD,BBBBCCCCDDDDEEEE、CCCCDDDDEEEEFFFF，DDDDEEEEFFFFGGGG；EEEEFFFFGGGGHHHH",
     ["AAAABBBBCCCCDDDD", "BBBBCCCCDDDDEEEE", "CCCCDDDDEEEEFFFF", "DDDDEEEEFFFFGGGG",
      "EEEEFFFFGGGGHHHH"]),
    ("AAAABBBBCCCCDDDD BBBBCCCCDDDDEEEE", ["AAAABBBBCCCCDDDD", "BBBBCCCCDDDDEEEE"]),
    ("AAAA BBBB CCCC DDDD BBBB CCCC DDDD EEEE", ["AAAA BBBB CCCC DDDD", "BBBB CCCC DDDD EEEE"]),
    ("ＡＢＣＤ　ＥＦＧＨ　ＪＫＬＭ　ＮＰＱＲ", ["ＡＢＣＤ ＥＦＧＨ ＪＫＬＭ ＮＰＱＲ"]),
    ("12 AAAABBBBCCCCDDDD", ["12", "AAAABBBBCCCCDDDD"]),
    (" \n ,, \t", []),
])
def test_split_codes(text, codes):
    assert verify_batch.split_codes(text) == codes


def test_full_width_grouped_code_is_one_code():
    (typed,) = verify_batch.split_codes("ＡＢＣＤ　ＥＦＧＨ　ＪＫＬＭ　ＮＰＱＲ")
    assert reports.normalize_code(typed) == CODE


def test_distinct_keeps_the_first_spelling_in_order():
    assert verify_batch.distinct(["abcd-efgh-jklm-npqr", "X", CODE, "x", "ABCD EFGH JKLM NPQR"]) == [
        "abcd-efgh-jklm-npqr", "X"]


def test_a_hundred_codes_pass_and_a_hundred_and_one_do_not():
    codes = [f"{n:016d}" for n in range(101)]
    assert len(verify_batch.collect("\n".join(codes[:100]))) == 100
    with pytest.raises(BatchError) as error:
        verify_batch.collect("\n".join(codes))
    assert error.value.field == "codes" and "100" in str(error.value)
    # Repeats are one code.
    assert len(verify_batch.collect("\n".join(codes[:100] + codes[:50]))) == 100


def test_no_codes_is_an_error():
    with pytest.raises(BatchError) as error:
        verify_batch.collect("  \n ")
    assert error.value.field == "codes"


@pytest.mark.parametrize("items", [None, "ABCD", [1, 2], [CODE, None], {"a": 1}])
def test_codes_from_list_wants_a_list_of_strings(items):
    with pytest.raises(BatchError):
        verify_batch.codes_from_list(items)


def test_codes_from_list():
    assert verify_batch.codes_from_list([CODE, "abcd efgh jklm npqr", "x"]) == [CODE, "x"]
    with pytest.raises(BatchError):
        verify_batch.codes_from_list([])


# --- files --------------------------------------------------------------------------

def test_csv_column_by_header():
    data = csv_bytes([{"姓名": "张三", "在线验证码": "abcd-efgh-jklm-npqr"},
                      {"姓名": "李四", "在线验证码": "BBBBCCCCDDDDEEEE"}])
    assert verify_batch.codes_from_file("codes.csv", data, 10_000) == [
        "abcd-efgh-jklm-npqr", "BBBBCCCCDDDDEEEE"]


def test_csv_in_gb18030_and_english_header():
    data = csv_bytes([{"name": "张三", "Code": CODE}], encoding="gb18030")
    assert verify_batch.codes_from_file("codes.csv", data, 10_000) == [CODE]


def test_first_column_without_a_header_naming_codes():
    with_header = "编号\nAAAABBBBCCCCDDDD\n\nBBBBCCCCDDDDEEEE\n".encode()
    assert verify_batch.codes_from_file("a.csv", with_header, 10_000) == [
        "AAAABBBBCCCCDDDD", "BBBBCCCCDDDDEEEE"]
    no_header = "AAAABBBBCCCCDDDD,x\nBBBBCCCCDDDDEEEE,y\n".encode()
    assert verify_batch.codes_from_file("a.csv", no_header, 10_000) == [
        "AAAABBBBCCCCDDDD", "BBBBCCCCDDDDEEEE"]


def test_xlsx_column_by_header():
    data = xlsx_bytes([["序号", "姓名", "校验码"], [1, "张三", "abcd efgh jklm npqr"],
                       [2, "李四", None], [3, "王五", "BBBBCCCCDDDDEEEE"]])
    assert verify_batch.codes_from_file("codes.xlsx", data, 100_000) == [
        "abcd efgh jklm npqr", "BBBBCCCCDDDDEEEE"]


@pytest.mark.parametrize("name, data", [
    ("codes.xlsx", b"PK\x03\x04 not really a zip"),
    ("codes.xlsx", b"plain text under an xlsx name"),
    ("codes.csv", b"%PDF-1.4\x00\x01\x02binary"),
    ("codes.csv", b"\xff\xfe\x00\x00\x81"),
])
def test_unreadable_files(name, data):
    with pytest.raises(BatchError) as error:
        verify_batch.codes_from_file(name, data, 100_000)
    assert error.value.field == "file"


def test_empty_and_oversized_files():
    with pytest.raises(BatchError) as empty:
        verify_batch.codes_from_file("a.csv", b"", 1000)
    with pytest.raises(BatchError) as header_only:
        verify_batch.codes_from_file("a.csv", "验证码\n".encode(), 1000)
    with pytest.raises(BatchError) as big:
        verify_batch.codes_from_file("a.csv", b"A" * 2000, 1000)
    assert empty.value.field == header_only.value.field == big.value.field == "file"


def test_collect_adds_the_file_to_the_pasted_codes():
    data = csv_bytes([{"code": CODE}, {"code": "BBBBCCCCDDDDEEEE"}])
    assert verify_batch.collect("abcd-efgh-jklm-npqr\nCCCCDDDDEEEEFFFF", ("c.csv", data), 10_000) == [
        "abcd-efgh-jklm-npqr", "CCCCDDDDEEEEFFFF", "BBBBCCCCDDDDEEEE"]


# --- checking -------------------------------------------------------------------

def test_check_gives_each_outcome_and_the_key_fields(app, db, issued):
    valid, old = issued
    codes = [valid.code.lower(), old.code, "ZZZZZZZZZZZZZZZZ", "12"]
    checked = verify_batch.check(codes, school=school(app), tz="Asia/Shanghai")
    assert [row.outcome for row in checked.rows] == ["valid", "expired", "unknown", "malformed"]
    assert [row.typed for row in checked.rows] == codes
    row = checked.rows[0]
    assert row.kind == "diploma" and row.name["value"] == "张三"
    assert row.school["value"] == "示范大学" and row.school["value_en"] == "Demonstration University"
    assert [item["zh"] for item in row.fields] == ["层次", "专业", "毕(结)业日期", "毕(结)业", "证书编号"]
    assert {"zh": "专业", "en": "Major", "value": "汉语言文学"}.items() <= row.fields[1].items()
    assert row.expires_at == reports.clock.local_date(valid.expires_at, "Asia/Shanghai").isoformat()
    # Only a valid report is described; the others say their outcome and nothing more.
    assert all(r.name is None and r.fields == [] for r in checked.rows[1:])
    assert [lookup.report.id for lookup, _row in checked.found] == [valid.id, old.id]


def test_keep_and_expire(app, db, issued):
    rows = verify_batch.check([issued[0].code, "12"], school=school(app)).rows
    token = verify_batch.keep(rows, organisation="某公司", purpose="入职")
    assert len(token) >= 32
    assert verify_batch.kept(token) == rows
    later = utcnow() + verify_batch.LIFETIME + datetime.timedelta(seconds=1)
    assert verify_batch.kept("nope") is None
    assert verify_batch.kept(token, now=later) is None
    assert Challenge.select().where(Challenge.purpose == verify_batch.PURPOSE).count() == 0


def test_kept_payload_is_encrypted(app, db, issued):
    rows = verify_batch.check([issued[0].code], school=school(app)).rows
    verify_batch.keep(rows)
    raw = db.execute_sql("SELECT payload FROM challenge").fetchone()[0]
    assert "张三" not in str(raw) and issued[0].code not in str(raw)


def test_purge_forgets_old_results(app, db):
    verify_batch.keep([verify_batch.Row(typed="x", outcome="malformed")])
    assert verify_batch.purge() == 0
    assert verify_batch.purge(utcnow() + verify_batch.LIFETIME + datetime.timedelta(seconds=1)) == 1


# --- downloads --------------------------------------------------------------------

def rows_with_formulas():
    return [verify_batch.Row(typed="=HYPERLINK(\"http://evil\")", outcome="malformed"),
            verify_batch.Row(typed="abcd", outcome="valid", kind="degree",
                             name={"zh": "姓名", "en": "Name", "value": "+张三", "value_en": "ZHANG San"},
                             school={"zh": "学位授予单位", "en": "Awarding institution",
                                     "value": "示范大学", "value_en": "Demonstration University"},
                             fields=[{"zh": "所授学位", "en": "Degree", "value": "工学学士",
                                      "value_en": "Bachelor of Engineering"}],
                             expires_at="2026-09-01")]


def test_csv_export_neutralises_formulas(app):
    with app.test_request_context():
        data = verify_batch.to_csv(rows_with_formulas())
    lines = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert lines[0] == ["验证码", "查验结果", "姓名", "类别", "学校", "主要信息", "有效期至"]
    assert lines[1][0] == "'=HYPERLINK(\"http://evil\")"
    assert lines[1][1].startswith("这不是有效的在线验证码格式")
    assert lines[2] == ["abcd", "有效的在线验证报告。", "'+张三", "学位", "示范大学", "所授学位: 工学学士",
                        "2026-09-01"]


def test_xlsx_export_in_english(app):
    with app.test_request_context(headers={"Cookie": "lang=en"}):
        data = verify_batch.to_xlsx(rows_with_formulas(), english=True)
    sheet = load_workbook(io.BytesIO(data)).active
    assert [cell.value for cell in sheet[1]][:3] == ["Code", "Result", "Full name"]
    assert sheet["A2"].value == "'=HYPERLINK(\"http://evil\")" and sheet["A2"].data_type != "f"
    assert [cell.value for cell in sheet[3]][2:6] == ["ZHANG San", "Degree", "Demonstration University",
                                                     "Degree: Bachelor of Engineering"]
