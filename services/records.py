"""The five record kinds: their columns (import headers, labels) and look-ups.

One table per kind describes, in docs/domain.md's order, each field's Chinese
column name (the import header and the page label), its English label (the
English pages and the bilingual reports) and how a value is checked.
"""
from dataclasses import dataclass, field

from models import Admission, Aid, Degree, Diploma, Enrollment, Record

LEVELS = ("专科", "本科", "第二学士", "硕士研究生", "博士研究生")
STUDY_MODES = ("普通全日制", "非全日制", "函授", "业余", "脱产", "网络教育")
EDUCATION_CATEGORIES = ("普通高等教育", "成人高等教育", "高等教育自学考试", "网络教育")
STATUSES = ("在籍（注册学籍）", "休学", "保留学籍", "退学", "不在籍（毕业）", "不在籍（结业）")
COMPLETIONS = ("毕业", "结业", "肄业")
GENDERS = ("男", "女")
ID_TYPES = ("居民身份证", "其他")


@dataclass(frozen=True)
class Column:
    header: str
    attr: str
    english: str
    type: str = "text"        # text | date | id_number | choice | int | money
    required: bool = False
    choices: tuple = ()
    in_report: bool = True


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
    extra: dict = field(default_factory=dict)

    def column(self, attr: str) -> Column:
        return next(c for c in self.columns if c.attr == attr)

    @property
    def headers(self):
        return [c.header for c in self.columns]


def _person(with_birth=True, gender=True):
    columns = [Column("姓名", "name", "Name", required=True)]
    if gender:
        columns.append(Column("性别", "gender", "Gender", "choice", choices=GENDERS))
    if with_birth:
        columns.append(Column("出生日期", "birth_date", "Date of birth", "date"))
    return columns


ID_COLUMNS = [Column("证件类型", "id_type", "ID type", "choice", choices=ID_TYPES),
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
            Column("学号", "student_number", "Student number", required=True),
            Column("学习形式", "study_mode", "Mode of study", "choice", choices=STUDY_MODES),
            Column("入学日期", "admission_date", "Date of admission", "date"),
            Column("学制", "duration", "Length of program"),
            Column("学历类别", "education_category", "Type of education", "choice",
                   choices=EDUCATION_CATEGORIES),
            Column("学籍状态", "status", "Enrollment status", "choice", True, STATUSES),
            Column("预计毕业日期", "expected_graduation", "Expected graduation", "date"),
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
            Column("证书编号", "certificate_number", "Certificate number"),
            Column("学校编号", "school_number", "School's certificate number"),
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
            Column("学位证书编号", "certificate_number", "Degree certificate number", required=True),
        ]),
        natural_key=("certificate_number",),
        report_title="学位在线验证报告", report_english="Online Verification Report of Degree"),
    "admission": Kind(
        "admission", "录取", "Admission", Admission,
        tuple(_person(with_birth=False, gender=False) + ID_COLUMNS + [
            Column("考生号", "candidate_number", "Candidate number", required=True),
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

# Diplomas hide the ID number in their report (docs/domain.md).
REPORT_HIDDEN = {"diploma": {"id_number"}}


def kind_of(record: Record) -> Kind:
    return next(kind for kind in KINDS.values() if isinstance(record, kind.model))


def records_of(account_id: int, kind: Kind):
    model = kind.model
    order = {
        "enrollment": model.admission_date.desc(nulls="last") if hasattr(model, "admission_date") else model.id,
    }
    return list(model.select().where(model.account == account_id)
                .order_by(order.get(kind.key, model.id.desc()), model.id.desc()))


def owned(kind: Kind, record_id: int, account_id: int):
    """One record of the account, or None (also for other people's records)."""
    model = kind.model
    return model.get_or_none(model.id == record_id, model.account == account_id)


def display_value(record: Record, column: Column) -> str:
    value = getattr(record, column.attr)
    if value is None or value == "":
        return ""
    if column.type == "date":
        return value.strftime("%Y-%m-%d")
    if column.type == "money":
        return f"{value:,.2f}"
    return str(value)


SUMMARY_FIELDS = {
    "enrollment": ("school_name", "level", "major", "status"),
    "diploma": ("school_name", "level", "major", "completion", "graduation_date"),
    "degree": ("awarding_unit", "degree", "discipline", "award_date"),
    "admission": ("year", "level", "major"),
    "aid": ("school_year", "program", "amount"),
}


def summary(record: Record) -> str:
    """One line that tells a student which record this is."""
    kind = kind_of(record)
    parts = (display_value(record, kind.column(attr)) for attr in SUMMARY_FIELDS[kind.key])
    return " · ".join(part for part in parts if part)
