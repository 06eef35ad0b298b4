"""services.columns: the rules every record value obeys, one value and one record at a time."""
import datetime
from decimal import Decimal

import pytest

from services import columns
from services.columns import KINDS
from tests.factories import aid, diploma, enrollment, resident_id

# The blind index of an ID number needs the keys an app configures.
pytestmark = pytest.mark.usefixtures("app")


def check(kind_key, row):
    """A spreadsheet row (header -> cell) through the rules: (values, [(header, message)])."""
    kind = KINDS[kind_key]
    return columns.clean_values(kind, {column.attr: row.get(column.header) for column in kind.columns})


def problems(kind_key, row):
    return check(kind_key, row)[1]


def clean(kind_key, attr, value):
    return columns.clean(KINDS[kind_key].column(attr), value)


# --- one value ----------------------------------------------------------------

def test_excel_cells_turn_back_into_the_text_they_were():
    assert clean("enrollment", "student_number", 2019001) == "2019001"
    assert clean("enrollment", "duration", 4.0) == "4"
    assert clean("enrollment", "admission_date", datetime.datetime(2019, 9, 1)) == datetime.date(2019, 9, 1)
    assert clean("admission", "year", 2019.0) == 2019


def test_numbers_excel_has_cut_short_are_refused():
    with pytest.raises(columns.InvalidValue, match="文本"):
        clean("enrollment", "student_number", float(resident_id()[:17] + "0"))
    with pytest.raises(columns.InvalidValue, match="科学计数法"):
        clean("diploma", "certificate_number", "1.10105E+17")
    with pytest.raises(columns.InvalidValue, match="科学计数法"):
        columns.clean_id_number("1.10105E+17", "居民身份证")


@pytest.mark.parametrize("typed", ["2019-09-01", "2019/9/1", "2019.09.01", "20190901",
                                   "2019年9月1日", "２０１９－０９－０１", "2019-09-01 00:00:00"])
def test_date_formats_are_accepted(typed):
    values, found = check("enrollment", enrollment(入学日期=typed))
    assert found == []
    assert values["admission_date"] == datetime.date(2019, 9, 1)


def test_bad_dates_are_named():
    future = (datetime.date.today() + datetime.timedelta(days=1)).isoformat()
    assert problems("enrollment", enrollment(入学日期="2019-02-30")) == [
        ("入学日期", "日期「2019-02-30」不存在，请核对。")]
    assert problems("enrollment", enrollment(入学日期=future)) == [
        ("入学日期", f"日期 {future} 晚于今天，请核对。")]
    assert problems("enrollment", enrollment(入学日期="九月一日")) == [
        ("入学日期", "无法识别的日期「九月一日」：请写成 2019-09-01 这样的格式。")]
    assert problems("enrollment", enrollment(入学日期="1899-12-31")) == [
        ("入学日期", "日期 1899-12-31 早于 1900 年，请核对。")]
    # The expected graduation is the one date that may lie ahead.
    assert problems("enrollment", enrollment(预计毕业日期=f"{datetime.date.today().year + 3}-06-30")) == []


def test_choices_are_checked_and_listed():
    found = problems("enrollment", enrollment(层次="大专", 性别="M"))
    assert ("层次", "「大专」不是可选的值；可选：专科、本科、第二学士、硕士研究生、博士研究生。") in found
    assert ("性别", "「M」不是可选的值；可选：男、女。") in found


def test_choices_tolerate_half_width_parentheses():
    values, found = check("enrollment", enrollment(学籍状态="在籍(注册学籍)"))
    assert found == [] and values["status"] == "在籍（注册学籍）"


def test_required_values_and_names():
    assert problems("enrollment", enrollment(专业="", 姓名="张")) == [
        ("姓名", "姓名应为 2 到 30 个字。"), ("专业", "不能为空。")]
    with pytest.raises(columns.InvalidValue, match="不能为空"):
        clean("enrollment", "major", " ")
    assert clean("enrollment", "department", " ") is None


def test_text_longer_than_its_field_is_refused():
    assert problems("enrollment", enrollment(班级="班" * 65)) == [("班级", "不能超过 64 个字符。")]


def test_amounts():
    values, found = check("aid", aid(**{"金额(元)": "5,000"}))
    assert found == [] and values["amount"] == Decimal("5000.00")
    assert clean("aid", "amount", "¥1,500.5") == Decimal("1500.50")
    assert problems("aid", aid(**{"金额(元)": "1.005"})) == [("金额(元)", "金额最多保留两位小数（1.005）。")]
    assert problems("aid", aid(**{"金额(元)": "-1"})) == [("金额(元)", "金额不能为负数（-1）。")]
    assert problems("aid", aid(**{"金额(元)": "一千"})) == [
        ("金额(元)", "「一千」不是金额：请只填数字，如 1500 或 1500.50。")]


# --- ID numbers ---------------------------------------------------------------

def test_resident_ids_are_checked_and_legacy_ones_upgraded():
    wrong_check = resident_id()[:17] + ("0" if resident_id()[17] != "0" else "1")
    assert problems("enrollment", enrollment(证件号码=wrong_check)) == [
        ("证件号码", "身份证号码校验位不正确，请核对后重新输入。")]

    values, found = check("enrollment", enrollment(证件号码="110105491231002", 性别="女", 出生日期="1949-12-31"))
    assert found == []
    assert values["id_number"] == "11010519491231002X"


def test_ids_may_be_missing_typed_full_width_or_of_other_kinds():
    values, found = check("enrollment", enrollment(证件号码="", 证件类型=""))
    assert found == [] and values["id_number"] is None and values["id_type"] == "居民身份证"
    values, found = check("enrollment", enrollment(证件号码="１１０１０５１９４９１２３１００２ｘ", 性别="女", 出生日期=""))
    assert found == [] and values["id_number"] == "11010519491231002X"
    values, found = check("enrollment", enrollment(证件类型="其他", 证件号码="e 1234567", 性别="女",
                                                   出生日期="1990-01-01"))
    assert found == [] and (values["id_type"], values["id_number"]) == ("其他", "E1234567")


def test_birth_date_and_gender_must_agree_with_the_id():
    assert problems("enrollment", enrollment(出生日期="2001-02-04")) == [
        ("出生日期", "出生日期 2001-02-04 与身份证号码中的出生日期 2001-02-03 不一致。")]
    assert problems("enrollment", enrollment(性别="女")) == [
        ("性别", "性别「女」与身份证号码不一致（第 17 位表示男）。")]


def test_aid_needs_an_id_number():
    assert problems("aid", aid(证件号码="")) == [("证件号码", "资助记录必须填写证件号码。")]


# --- the checks of each kind ----------------------------------------------------

def test_diploma_numbers_and_keys():
    values, found = check("diploma", diploma())
    assert found == []
    assert values["certificate_key"] == "104461201905004220" and values["school_number_key"] is None
    values, found = check("diploma", diploma(证书编号="", 学校编号="982456", **{"毕(结)业日期": "1998-07-01"},
                                             入学日期="1994-09-01", 证件号码="", 性别="", 出生日期=""))
    assert found == []
    assert values["certificate_number"] is None and values["school_number_key"] == "982456"
    values, found = check("diploma", diploma(证书编号="NO.00298959", **{"毕(结)业日期": "1998-07-01"},
                                             入学日期="1994-09-01"))
    assert found == [] and values["certificate_key"] == "298959"


def test_diploma_rules():
    assert problems("diploma", diploma(证书编号="")) == [("证书编号", "证书编号和学校编号至少要填写一项。")]
    assert problems("diploma", diploma(证书编号="104461201805004220")) == [
        ("证书编号", "证书编号中的年份 2018 与毕业年份 2019 不一致。")]
    assert problems("diploma", diploma(证书编号="104461201905004221", 入学日期="2019-09-01")) == [
        ("毕(结)业日期", "毕(结)业日期 2019-06-30 应晚于入学日期 2019-09-01。")]


def test_degree_stores_its_certificate_key():
    row = {"姓名": "张三", "性别": "男", "出生日期": "2001-02-03", "证件类型": "居民身份证",
           "证件号码": resident_id(), "学位授予单位": "示范大学", "所授学位": "工学学士",
           "学科/专业": "计算机科学与技术", "获学位日期": "2023-06-30", "学位证书编号": "1044612023001234"}
    values, found = check("degree", row)
    assert found == [] and values["certificate_key"] == "1044612023001234"


def test_admission_year_range():
    row = {"姓名": "张三", "证件类型": "", "证件号码": "", "考生号": "19110105150001",
           "录取年份": "1949", "录取批次": "本科一批", "录取专业": "数学", "层次": "本科"}
    assert problems("admission", row) == [
        ("录取年份", f"录取年份应在 1950 到 {datetime.date.today().year + 1} 之间（现为 1949）。")]
