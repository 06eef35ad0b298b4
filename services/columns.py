"""The five record kinds, their columns, and the rules every value obeys.

One table per kind describes, in the order of docs/domain.md, each field's Chinese
column name (the import header and the page label), its English label (the
English pages and the bilingual reports) and its type, which names its rule.
Imports, corrections and record forms all check values with `clean` (one
column) and `clean_values` (a record, with the checks across its columns).
"""
import datetime
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from peewee import CharField

import crypto
from models import Admission, Aid, Degree, Diploma, Enrollment
from services import identity
from services.errors import ServiceError

LEVELS = ("专科", "本科", "第二学士", "硕士研究生", "博士研究生")
STUDY_MODES = ("普通全日制", "非全日制", "函授", "业余", "脱产", "网络教育")
EDUCATION_CATEGORIES = ("普通高等教育", "成人高等教育", "高等教育自学考试", "网络教育")
STATUSES = ("在籍（注册学籍）", "休学", "保留学籍", "退学", "不在籍（毕业）", "不在籍（结业）")
COMPLETIONS = ("毕业", "结业", "肄业")
GENDERS = ("男", "女")


@dataclass(frozen=True)
class Column:
    header: str
    attr: str
    english: str
    type: str = "text"        # text | name | identifier | date | id_number | choice | int | money
    required: bool = False
    choices: tuple = ()
    in_report: bool = True
    future: bool = False      # a date that may lie ahead


@dataclass(frozen=True)
class Kind:
    key: str
    label: str
    english: str
    model: type
    columns: tuple
    natural_key: tuple         # attrs that identify a record across imports
    photo_label: str | None = None
    photo_english: str | None = None
    report_title: str | None = None
    report_english: str | None = None

    def column(self, attr: str) -> Column:
        return next(c for c in self.columns if c.attr == attr)

    @property
    def headers(self):
        return [c.header for c in self.columns]


def _person(with_birth=True, gender=True):
    columns = [Column("姓名", "name", "Name", "name", True)]
    if gender:
        columns.append(Column("性别", "gender", "Gender", "choice", choices=GENDERS))
    if with_birth:
        columns.append(Column("出生日期", "birth_date", "Date of birth", "date"))
    return columns


ID_COLUMNS = [Column("证件类型", "id_type", "ID type", "choice", choices=identity.ID_TYPES),
              Column("证件号码", "id_number", "ID number", "id_number")]

KINDS = {
    "enrollment": Kind(
        "enrollment", "学籍", "Enrollment", Enrollment,
        tuple(_person() + [Column("民族", "ethnicity", "Ethnicity")] + ID_COLUMNS + [
            Column("学校名称", "school_name", "Institution", required=True),
            Column("层次", "level", "Level", "choice", True, LEVELS),
            Column("院系", "department", "School / department"),
            Column("班级", "class_name", "Class"),
            Column("专业", "major", "Major", required=True),
            Column("学号", "student_number", "Student number", "identifier", True),
            Column("学习形式", "study_mode", "Mode of study", "choice", choices=STUDY_MODES),
            Column("入学日期", "admission_date", "Date of admission", "date"),
            Column("学制", "duration", "Length of program"),
            Column("学历类别", "education_category", "Type of education", "choice",
                   choices=EDUCATION_CATEGORIES),
            Column("学籍状态", "status", "Enrollment status", "choice", True, STATUSES),
            Column("预计毕业日期", "expected_graduation", "Expected graduation", "date", future=True),
        ]),
        natural_key=("student_number",), photo_label="录取照片", photo_english="Admission photo",
        report_title="学籍在线验证报告", report_english="Online Verification Report of Enrollment"),
    "diploma": Kind(
        "diploma", "学历", "Diploma", Diploma,
        tuple(_person() + ID_COLUMNS + [
            Column("学校名称", "school_name", "Institution", required=True),
            Column("层次", "level", "Level", "choice", True, LEVELS),
            Column("专业", "major", "Major", required=True),
            Column("学制", "duration", "Length of program"),
            Column("学习形式", "study_mode", "Mode of study", "choice", choices=STUDY_MODES),
            Column("学历类别", "education_category", "Type of education", "choice",
                   choices=EDUCATION_CATEGORIES),
            Column("入学日期", "admission_date", "Date of admission", "date"),
            Column("毕(结)业日期", "graduation_date", "Date of graduation", "date", True),
            Column("毕(结)业", "completion", "Graduation / completion", "choice", True, COMPLETIONS),
            Column("证书编号", "certificate_number", "Certificate number", "identifier"),
            Column("学校编号", "school_number", "School's certificate number", "identifier"),
            Column("校(院)长姓名", "president", "President"),
        ]),
        natural_key=("certificate_number", "school_number"),
        photo_label="学历照片", photo_english="Diploma photo",
        report_title="学历证书电子注册备案表", report_english="Diploma Registration Record"),
    "degree": Kind(
        "degree", "学位", "Degree", Degree,
        tuple(_person() + ID_COLUMNS + [
            Column("学位授予单位", "awarding_unit", "Awarding institution", required=True),
            Column("所授学位", "degree", "Degree", required=True),
            Column("学科/专业", "discipline", "Discipline / major", required=True),
            Column("获学位日期", "award_date", "Date of award", "date", True),
            Column("学位证书编号", "certificate_number", "Degree certificate number", "identifier", True),
        ]),
        natural_key=("certificate_number",),
        report_title="学位在线验证报告", report_english="Online Verification Report of Degree"),
    "admission": Kind(
        "admission", "录取", "Admission", Admission,
        tuple(_person(with_birth=False, gender=False) + ID_COLUMNS + [
            Column("考生号", "candidate_number", "Candidate number", "identifier", True),
            Column("录取年份", "year", "Year of admission", "int", True),
            Column("录取批次", "batch", "Admission batch"),
            Column("录取专业", "major", "Major admitted to", required=True),
            Column("层次", "level", "Level", "choice", True, LEVELS),
        ]),
        natural_key=("candidate_number",)),
    "aid": Kind(
        "aid", "资助", "Financial aid", Aid,
        tuple(_person(with_birth=False, gender=False) + ID_COLUMNS + [
            Column("学年", "school_year", "School year", required=True),
            Column("资助项目", "program", "Program", required=True),
            Column("金额(元)", "amount", "Amount (CNY)", "money", True),
            Column("发放日期", "paid_on", "Date paid", "date", True),
        ]),
        natural_key=("id_number", "school_year", "program", "paid_on")),
}



# --- one value ---------------------------------------------------------------

class InvalidValue(ServiceError):
    """A value breaks its column's rule; str(error) says how, for the person who typed it."""


_SCIENTIFIC = re.compile(r"\d+(?:\.\d+)?[eE]\+?\d+")
_LOST_PRECISION = ("这一格是位数过长的 Excel 数字（如 1.10105194912310e+17），后几位已丢失："
                   "请把该列设为“文本”格式，重新填写后再导入。")
_DATE_FORMATS = (
    re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})"),
    re.compile(r"(\d{4})(\d{2})(\d{2})"),
    re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日?"),
)
_TIME_OF_DAY = re.compile(r"\s+\d{1,2}:\d{2}(?::\d{2})?$")


def clean(column: Column, value, today: datetime.date | None = None):
    """The value to store for one column (None when empty), or InvalidValue / IdentityError.

    `value` is text, or the numbers and dates Excel stores. The ID number's
    rule depends on the ID type: `clean_id_number`.
    """
    if column.type == "name":
        text = _text(value)
        cleaned = identity.normalize_name(text) if text or column.required else None
    elif column.type == "date":
        cleaned = _date(value, column.future, today or datetime.date.today())
    elif column.type == "choice":
        cleaned = _choice(value, column.choices)
    elif column.type == "int":
        cleaned = _int(value)
    elif column.type == "money":
        cleaned = _money(value)
    elif column.type == "identifier":
        cleaned = _identifier(value) or None
    else:
        cleaned = _text(value) or None
    if cleaned is None and column.required:
        raise InvalidValue("不能为空。")
    return cleaned


def clean_id_number(value, id_type: str, today: datetime.date | None = None) -> str | None:
    """An ID number in its stored form (18 digits for a resident ID), or None when
    empty, by the rule of its 证件类型 (identity.normalize_id_number)."""
    text = _identifier(value)
    if not text:
        return None
    return identity.normalize_id_number(text, id_type, today=today)


def _text(value) -> str:
    """A cell as text; numbers Excel stored for digits turn back into those digits."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int):      # bool too
        return str(value)
    if isinstance(value, float):
        if value.is_integer():
            # Excel keeps 15 significant digits: longer numbers have lost their tail.
            if abs(value) >= 1e15:
                raise InvalidValue(_LOST_PRECISION)
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat(" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value).strip()


def _identifier(value) -> str:
    """Numbers that only look like numbers: a spreadsheet must not have turned them into numbers."""
    text = unicodedata.normalize("NFKC", _text(value)).strip()
    if _SCIENTIFIC.fullmatch(text):
        raise InvalidValue(f"「{text}」是被 Excel 改成科学计数法的数字，后几位已丢失："
                           "请把该列设为“文本”格式，重新填写后再导入。")
    return text


def _date(value, allow_future: bool, today: datetime.date):
    if isinstance(value, datetime.datetime):
        day = value.date()
    elif isinstance(value, datetime.date):
        day = value
    else:
        text = _TIME_OF_DAY.sub("", unicodedata.normalize("NFKC", _text(value)))
        if not text:
            return None
        match = next(filter(None, (pattern.fullmatch(text) for pattern in _DATE_FORMATS)), None)
        if match is None:
            raise InvalidValue(f"无法识别的日期「{text}」：请写成 2019-09-01 这样的格式。")
        try:
            day = datetime.date(*(int(part) for part in match.groups()))
        except ValueError:
            raise InvalidValue(f"日期「{text}」不存在，请核对。") from None
    if day.year < 1900:
        raise InvalidValue(f"日期 {day.isoformat()} 早于 1900 年，请核对。")
    if not allow_future and day > today:
        raise InvalidValue(f"日期 {day.isoformat()} 晚于今天，请核对。")
    return day


def _choice(value, choices) -> str | None:
    text = _text(value)
    if not text:
        return None
    if text in choices:
        return text
    folded = _choice_key(text)
    for choice in choices:
        if _choice_key(choice) == folded:
            return choice
    raise InvalidValue(f"「{text}」不是可选的值；可选：{'、'.join(choices)}。")


def _choice_key(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def _int(value) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    text = unicodedata.normalize("NFKC", _text(value))
    if not text:
        return None
    if not re.fullmatch(r"\d{1,9}", text):
        raise InvalidValue(f"「{text}」不是整数。")
    return int(text)


def _money(value) -> Decimal | None:
    text = unicodedata.normalize("NFKC", _text(value)).replace(",", "").lstrip("¥").strip()
    if not text:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise InvalidValue(f"「{text}」不是金额：请只填数字，如 1500 或 1500.50。") from None
    if not amount.is_finite():
        raise InvalidValue(f"「{text}」不是金额：请只填数字，如 1500 或 1500.50。")
    if amount < 0:
        raise InvalidValue(f"金额不能为负数（{text}）。")
    if amount != amount.quantize(Decimal("0.01")):
        raise InvalidValue(f"金额最多保留两位小数（{text}）。")
    if amount >= Decimal(10) ** 10:
        raise InvalidValue(f"金额 {text} 过大，请核对。")
    return amount.quantize(Decimal("0.01"))


# --- one record --------------------------------------------------------------

def clean_values(kind: Kind, raw: dict, today: datetime.date | None = None):
    """One record's values as stored, and (header, message) for each problem found.

    `raw` maps each column's attr to a value as `clean` takes it. The values
    also hold the look-up forms stored beside them (ID index, certificate keys).
    """
    today = today or datetime.date.today()
    values, problems = {}, []
    fields = kind.model._meta.fields
    for column in kind.columns:
        if column.type == "id_number":
            continue
        try:
            cleaned = clean(column, raw[column.attr], today)
        except (InvalidValue, identity.IdentityError) as error:
            problems.append((column.header, str(error)))
            values[column.attr] = None
            continue
        model_field = fields[column.attr]
        if (isinstance(cleaned, str) and isinstance(model_field, CharField)
                and len(cleaned) > model_field.max_length):
            problems.append((column.header, f"不能超过 {model_field.max_length} 个字符。"))
        values[column.attr] = cleaned

    values["id_type"] = values.get("id_type") or identity.RESIDENT_ID
    _check_id_number(kind, raw["id_number"], values, problems, today)
    _check_kind(kind, values, problems, today)
    return values, problems


def _check_id_number(kind: Kind, value, values: dict, problems: list, today: datetime.date):
    header = kind.column("id_number").header
    values["id_number"] = values["id_number_index"] = None
    try:
        number = clean_id_number(value, values["id_type"], today)
    except (InvalidValue, identity.IdentityError) as error:
        problems.append((header, str(error)))
        return
    if number is None:
        if kind.key == "aid":
            problems.append((header, "资助记录必须填写证件号码。"))
        return
    values["id_number"] = number
    values["id_number_index"] = crypto.blind_index(number)
    if not identity.carries_birth_date(values["id_type"]):
        return
    birth = values.get("birth_date")
    if birth and birth != identity.birth_date_of(number):
        problems.append((kind.column("birth_date").header,
                         f"出生日期 {birth.isoformat()} 与身份证号码中的出生日期 "
                         f"{identity.birth_date_of(number).isoformat()} 不一致。"))
    gender = values.get("gender")
    if gender and gender != identity.gender_of(number):
        problems.append((kind.column("gender").header,
                         f"性别「{gender}」与身份证号码不一致（第 17 位表示{identity.gender_of(number)}）。"))


def _check_kind(kind: Kind, values: dict, problems: list, today: datetime.date):
    if kind.key == "diploma":
        _check_diploma(kind, values, problems)
    elif kind.key == "degree" and values.get("certificate_number"):
        values["certificate_key"] = _certificate_key(values["certificate_number"], "学位证书编号", problems)
    elif kind.key == "admission" and values.get("year") is not None:
        if not 1950 <= values["year"] <= today.year + 1:
            problems.append((kind.column("year").header,
                             f"录取年份应在 1950 到 {today.year + 1} 之间（现为 {values['year']}）。"))


def _check_diploma(kind: Kind, values: dict, problems: list):
    number = values.get("certificate_number")
    school_number = values.get("school_number")
    values["certificate_key"] = values["school_number_key"] = None
    if number:
        number = values["certificate_number"] = identity.fold(number).upper()
    if school_number:
        school_number = values["school_number"] = identity.fold(school_number).upper()
    if not number and not school_number:
        problems.append(("证书编号", "证书编号和学校编号至少要填写一项。"))
    if number:
        values["certificate_key"] = _certificate_key(number, "证书编号", problems)
        graduated = values.get("graduation_date")
        problem = graduated and identity.certificate_problem(number, graduated.year)
        if problem:
            problems.append(("证书编号", str(problem)))
    if school_number:
        values["school_number_key"] = _certificate_key(school_number, "学校编号", problems)
    admitted, graduated = values.get("admission_date"), values.get("graduation_date")
    if admitted and graduated and graduated <= admitted:
        problems.append((kind.column("graduation_date").header,
                         f"毕(结)业日期 {graduated.isoformat()} 应晚于入学日期 {admitted.isoformat()}。"))


def _certificate_key(number: str, header: str, problems: list):
    try:
        return identity.certificate_key(number)
    except identity.IdentityError:
        problems.append((header, f"「{number}」只能包含数字和字母（可带“NO.”）。"))
        return None
