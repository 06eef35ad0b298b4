"""The English of a record's values, for readers abroad (reports, /verify, the API).

Labels are bilingual in services.columns (Column.english); this module gives the
English for the VALUE of each field of a report:

- choice columns (性别, 层次, 学习形式, 学历类别, 学籍状态, 毕(结)业, 证件类型): one
  table per column in the translation catalogue, `pgettext(<column header>, <value>)`
  read under the English locale (证件类型 comes from identity.id_type_english);
- known vocabularies: 民族 (the 56 ethnic groups of GB 3304), 所授学位 (degree
  names: discipline × 学士/硕士/博士, and the common professional degrees), 学制
  ("4", "4年", "3.5", "四年" → "4 years"; the Chinese side reads "4 年"), money
  ("CNY 5,000.00");
- the school's own name and its former names (SCHOOL_NAMES) → its English name;
- names of people: the passport spelling or pinyin (services.names); majors: the
  registrar's table (names.major_english), else as recorded;
- everything else (dates in ISO form, numbers, identifiers, free text nobody has
  translated) as recorded. `value_en` is always set, even when it equals `value`.

The tables are built once per process from the catalogue (under
`flask_babel.force_locale("en")`, so any request or app context will do).
"""
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from flask_babel import force_locale, pgettext

from services import identity, names
from services.columns import KINDS, Column
from services.records import REPORT_HIDDEN, display_value

# Columns whose value names a school, a person, a major.
SCHOOL_COLUMNS = ("school_name", "awarding_unit")
MAJOR_COLUMNS = ("major", "discipline")


@dataclass(frozen=True)
class School:
    """Whose reports these are: the current name, its English, and every name the
    school has had (SCHOOL_NAMES, the current one included)."""
    name: str
    name_en: str
    names: tuple = ()

    @classmethod
    def from_config(cls, config) -> "School":
        """From the school's settings (views.settings() or app.config)."""
        listed = tuple(entry["name"] for entry in (config.get("SCHOOL_NAMES") or ())
                       if isinstance(entry, dict) and entry.get("name"))
        return cls(config["SCHOOL_NAME"], config["SCHOOL_NAME_EN"], listed)

    @classmethod
    def from_snapshot(cls, snapshot: dict) -> "School":
        """The school as a report names it (no former names)."""
        return cls(snapshot["school"]["zh"], snapshot["school"]["en"])

    def english(self, value: str):
        """The school's English name when `value` is one of its names, else None."""
        key = _fold(value)
        if key and key in {_fold(name) for name in (self.name, *self.names)}:
            return self.name_en
        return None


def _fold(text) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text or "")))


# --- the tables in the catalogue ---------------------------------------------------

def _choice_tables() -> dict:
    """{column header: {value: English}} for each choice column of services.columns."""
    return {
        "性别": {"男": pgettext("性别", "男"), "女": pgettext("性别", "女")},
        "层次": {
            "专科": pgettext("层次", "专科"),
            "本科": pgettext("层次", "本科"),
            "第二学士": pgettext("层次", "第二学士"),
            "硕士研究生": pgettext("层次", "硕士研究生"),
            "博士研究生": pgettext("层次", "博士研究生"),
        },
        "学习形式": {
            "普通全日制": pgettext("学习形式", "普通全日制"),
            "非全日制": pgettext("学习形式", "非全日制"),
            "函授": pgettext("学习形式", "函授"),
            "业余": pgettext("学习形式", "业余"),
            "脱产": pgettext("学习形式", "脱产"),
            "网络教育": pgettext("学习形式", "网络教育"),
        },
        "学历类别": {
            "普通高等教育": pgettext("学历类别", "普通高等教育"),
            "成人高等教育": pgettext("学历类别", "成人高等教育"),
            "高等教育自学考试": pgettext("学历类别", "高等教育自学考试"),
            "网络教育": pgettext("学历类别", "网络教育"),
        },
        "学籍状态": {
            "在籍（注册学籍）": pgettext("学籍状态", "在籍（注册学籍）"),
            "休学": pgettext("学籍状态", "休学"),
            "保留学籍": pgettext("学籍状态", "保留学籍"),
            "退学": pgettext("学籍状态", "退学"),
            "不在籍（毕业）": pgettext("学籍状态", "不在籍（毕业）"),
            "不在籍（结业）": pgettext("学籍状态", "不在籍（结业）"),
        },
        "毕(结)业": {
            "毕业": pgettext("毕(结)业", "毕业"),
            "结业": pgettext("毕(结)业", "结业"),
            "肄业": pgettext("毕(结)业", "肄业"),
        },
        # Another part of the portal owns the list of ID types.
        "证件类型": dict(identity.id_type_english()),
    }


def _ethnic_groups() -> dict:
    """民族: the 56 groups of GB 3304 (and its two codes for everyone else)."""
    return {
        "汉族": pgettext("民族", "汉族"),
        "蒙古族": pgettext("民族", "蒙古族"),
        "回族": pgettext("民族", "回族"),
        "藏族": pgettext("民族", "藏族"),
        "维吾尔族": pgettext("民族", "维吾尔族"),
        "苗族": pgettext("民族", "苗族"),
        "彝族": pgettext("民族", "彝族"),
        "壮族": pgettext("民族", "壮族"),
        "布依族": pgettext("民族", "布依族"),
        "朝鲜族": pgettext("民族", "朝鲜族"),
        "满族": pgettext("民族", "满族"),
        "侗族": pgettext("民族", "侗族"),
        "瑶族": pgettext("民族", "瑶族"),
        "白族": pgettext("民族", "白族"),
        "土家族": pgettext("民族", "土家族"),
        "哈尼族": pgettext("民族", "哈尼族"),
        "哈萨克族": pgettext("民族", "哈萨克族"),
        "傣族": pgettext("民族", "傣族"),
        "黎族": pgettext("民族", "黎族"),
        "傈僳族": pgettext("民族", "傈僳族"),
        "佤族": pgettext("民族", "佤族"),
        "畲族": pgettext("民族", "畲族"),
        "高山族": pgettext("民族", "高山族"),
        "拉祜族": pgettext("民族", "拉祜族"),
        "水族": pgettext("民族", "水族"),
        "东乡族": pgettext("民族", "东乡族"),
        "纳西族": pgettext("民族", "纳西族"),
        "景颇族": pgettext("民族", "景颇族"),
        "柯尔克孜族": pgettext("民族", "柯尔克孜族"),
        "土族": pgettext("民族", "土族"),
        "达斡尔族": pgettext("民族", "达斡尔族"),
        "仫佬族": pgettext("民族", "仫佬族"),
        "羌族": pgettext("民族", "羌族"),
        "布朗族": pgettext("民族", "布朗族"),
        "撒拉族": pgettext("民族", "撒拉族"),
        "毛南族": pgettext("民族", "毛南族"),
        "仡佬族": pgettext("民族", "仡佬族"),
        "锡伯族": pgettext("民族", "锡伯族"),
        "阿昌族": pgettext("民族", "阿昌族"),
        "普米族": pgettext("民族", "普米族"),
        "塔吉克族": pgettext("民族", "塔吉克族"),
        "怒族": pgettext("民族", "怒族"),
        "乌孜别克族": pgettext("民族", "乌孜别克族"),
        "俄罗斯族": pgettext("民族", "俄罗斯族"),
        "鄂温克族": pgettext("民族", "鄂温克族"),
        "德昂族": pgettext("民族", "德昂族"),
        "保安族": pgettext("民族", "保安族"),
        "裕固族": pgettext("民族", "裕固族"),
        "京族": pgettext("民族", "京族"),
        "塔塔尔族": pgettext("民族", "塔塔尔族"),
        "独龙族": pgettext("民族", "独龙族"),
        "鄂伦春族": pgettext("民族", "鄂伦春族"),
        "赫哲族": pgettext("民族", "赫哲族"),
        "门巴族": pgettext("民族", "门巴族"),
        "珞巴族": pgettext("民族", "珞巴族"),
        "基诺族": pgettext("民族", "基诺族"),
        "其他": pgettext("民族", "其他"),
        "外国血统中国籍人士": pgettext("民族", "外国血统中国籍人士"),
    }


def _degree_fields() -> dict:
    """学科门类: the disciplines in which 学士, 硕士 and 博士 degrees are awarded."""
    return {
        "哲学": pgettext("学科门类", "哲学"),
        "经济学": pgettext("学科门类", "经济学"),
        "法学": pgettext("学科门类", "法学"),
        "教育学": pgettext("学科门类", "教育学"),
        "文学": pgettext("学科门类", "文学"),
        "历史学": pgettext("学科门类", "历史学"),
        "理学": pgettext("学科门类", "理学"),
        "工学": pgettext("学科门类", "工学"),
        "农学": pgettext("学科门类", "农学"),
        "医学": pgettext("学科门类", "医学"),
        "军事学": pgettext("学科门类", "军事学"),
        "管理学": pgettext("学科门类", "管理学"),
        "艺术学": pgettext("学科门类", "艺术学"),
        "交叉学科": pgettext("学科门类", "交叉学科"),
    }


def _degree_levels() -> dict:
    """学位级别: "Bachelor of %(field)s" and so on."""
    return {
        "学士": pgettext("学位级别", "%(field)s学士"),
        "硕士": pgettext("学位级别", "%(field)s硕士"),
        "博士": pgettext("学位级别", "%(field)s博士"),
    }


def _professional_degrees() -> dict:
    """专业学位 and other degrees named as a whole."""
    return {
        "工商管理硕士": pgettext("所授学位", "工商管理硕士"),
        "高级管理人员工商管理硕士": pgettext("所授学位", "高级管理人员工商管理硕士"),
        "公共管理硕士": pgettext("所授学位", "公共管理硕士"),
        "工程硕士": pgettext("所授学位", "工程硕士"),
        "工程博士": pgettext("所授学位", "工程博士"),
        "法律硕士": pgettext("所授学位", "法律硕士"),
        "教育硕士": pgettext("所授学位", "教育硕士"),
        "教育博士": pgettext("所授学位", "教育博士"),
        "临床医学硕士": pgettext("所授学位", "临床医学硕士"),
        "临床医学博士": pgettext("所授学位", "临床医学博士"),
        "口腔医学硕士": pgettext("所授学位", "口腔医学硕士"),
        "口腔医学博士": pgettext("所授学位", "口腔医学博士"),
        "公共卫生硕士": pgettext("所授学位", "公共卫生硕士"),
        "护理硕士": pgettext("所授学位", "护理硕士"),
        "药学硕士": pgettext("所授学位", "药学硕士"),
        "兽医硕士": pgettext("所授学位", "兽医硕士"),
        "兽医博士": pgettext("所授学位", "兽医博士"),
        "会计硕士": pgettext("所授学位", "会计硕士"),
        "金融硕士": pgettext("所授学位", "金融硕士"),
        "社会工作硕士": pgettext("所授学位", "社会工作硕士"),
        "翻译硕士": pgettext("所授学位", "翻译硕士"),
        "艺术硕士": pgettext("所授学位", "艺术硕士"),
        "农业硕士": pgettext("所授学位", "农业硕士"),
        "建筑学学士": pgettext("所授学位", "建筑学学士"),
        "建筑学硕士": pgettext("所授学位", "建筑学硕士"),
        "新闻与传播硕士": pgettext("所授学位", "新闻与传播硕士"),
        "汉语国际教育硕士": pgettext("所授学位", "汉语国际教育硕士"),
        "国际中文教育硕士": pgettext("所授学位", "国际中文教育硕士"),
        "体育硕士": pgettext("所授学位", "体育硕士"),
    }


_cache: dict = {}


def tables() -> dict:
    """Every table above, in English; built once per process.

    {"choices": {header: {value: English}}, "民族": {...}, "学科门类": {...},
    "学位级别": {...}, "所授学位": {...}}. Outside an app context the catalogue
    cannot be read: the untranslated tables are returned and not kept.
    """
    if "tables" in _cache:
        return _cache["tables"]
    with force_locale("en"):
        built = {"choices": _choice_tables(), "民族": _ethnic_groups(),
                 "学科门类": _degree_fields(), "学位级别": _degree_levels(),
                 "所授学位": _professional_degrees()}
    if built["choices"]["性别"]["男"] != "男":
        _cache["tables"] = built
    return built


# --- one value -------------------------------------------------------------------

_DURATION = re.compile(r"(\d{1,2}(?:\.\d)?)\s*(?:年制?|年)?")
_CHINESE_NUMBERS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
                    "八": 8, "九": 9, "十": 10}
_CHINESE_DURATION = re.compile(r"([一二两三四五六七八九十])\s*年(半)?制?")


def duration_years(value) -> str | None:
    """学制 as a number of years ("4", "3.5"), or None when it reads otherwise."""
    text = unicodedata.normalize("NFKC", str(value or "")).strip()
    match = _DURATION.fullmatch(text)
    if match:
        years = Decimal(match.group(1))
    else:
        match = _CHINESE_DURATION.fullmatch(text)
        if not match:
            return None
        years = Decimal(_CHINESE_NUMBERS[match.group(1)]) + (Decimal("0.5") if match.group(2) else 0)
    if years <= 0:
        return None
    return str(years.normalize()) if years != years.to_integral() else str(int(years))


def chinese_value(column: Column, value: str) -> str:
    """The Chinese side of a report's value: as shown on pages, except 学制 ("4" → "4 年")."""
    if column.attr == "duration" and value:
        years = duration_years(value)
        if years:
            return f"{years} 年"
    return value


def degree_english(value: str, table: dict | None = None):
    """A degree's English name (文学学士 → Bachelor of Arts), or None when unknown."""
    table = table or tables()
    text = _fold(value)
    if text.endswith("学位"):
        text = text[:-2]
    if text in table["所授学位"]:
        return table["所授学位"][text]
    match = (re.fullmatch(r"(.+?)(学士|硕士|博士)", text)
             or re.fullmatch(r"(学士|硕士|博士)[（(](.+?)[)）]", text))
    if not match:
        return None
    field, level = match.groups() if match.group(2) in table["学位级别"] else match.groups()[::-1]
    if field not in table["学科门类"]:
        return None
    return table["学位级别"][level] % {"field": table["学科门类"][field]}


def ethnicity_english(value: str, table: dict | None = None):
    groups = (table or tables())["民族"]
    text = _fold(value)
    return groups.get(text) or groups.get(f"{text}族")


def money_english(value) -> str | None:
    try:
        amount = Decimal(str(value).replace(",", "").lstrip("¥").strip())
    except InvalidOperation:
        return None
    if not amount.is_finite():
        return None
    return f"CNY {amount:,.2f}"


def english_value(kind_key: str, column, value, record=None, *, school: School) -> str:
    """The English of one field's value as a page shows it (records.format_value).

    `column` is a services.columns.Column of `kind_key` (or its attr); `record`, when
    known, gives the person's passport spelling; `school` maps the school's names.
    Empty stays empty; a value nobody has translated stays as recorded.
    """
    if isinstance(column, str):
        column = KINDS[kind_key].column(column)
    text = "" if value is None else str(value)
    if not text:
        return ""
    table = tables()
    english = None
    if column.type == "choice":
        english = table["choices"].get(column.header, {}).get(text)
    elif column.type == "name":
        english = names.english_name(record) if record is not None else names.pinyin_name(text)
    elif column.type == "money":
        english = money_english(text)
    elif column.attr == "president":
        english = names.pinyin_name(text)
    elif column.attr in SCHOOL_COLUMNS:
        english = school.english(text)
    elif column.attr in MAJOR_COLUMNS:
        english = names.major_english(text)
    elif column.attr == "ethnicity":
        english = ethnicity_english(text, table)
    elif column.attr == "degree":
        english = degree_english(text, table)
    elif column.attr == "duration":
        years = duration_years(text)
        english = (f"{years} year" if years == "1" else f"{years} years") if years else None
    return english or text


# --- a report's fields ---------------------------------------------------------

def report_field(kind_key: str, column: Column, record, *, school: School) -> dict:
    """One field of a report: {"key", "zh", "en", "value", "value_en"}."""
    value = display_value(record, column)
    return {"key": column.attr, "zh": column.header, "en": column.english,
            "value": chinese_value(column, value),
            "value_en": english_value(kind_key, column, value, record, school=school)}


def report_fields(kind_key: str, record, *, school: School) -> list:
    """The fields a report of this kind shows, in order (REPORT_HIDDEN left out)."""
    hidden = REPORT_HIDDEN.get(kind_key, set())
    return [report_field(kind_key, column, record, school=school)
            for column in KINDS[kind_key].columns if column.attr not in hidden]


def with_english(kind_key: str, fields: list, record=None, *, school: School) -> list:
    """Fields of a snapshot from before value_en (version 1), each with its English
    worked out now from the stored value (and the record, when it still exists)."""
    kind = KINDS[kind_key]
    attrs = {column.attr for column in kind.columns}
    completed = []
    for item in fields:
        item = dict(item)
        if "value_en" not in item:
            item["value_en"] = (english_value(kind_key, item["key"], item.get("value"), record,
                                              school=school)
                                if item.get("key") in attrs else item.get("value") or "")
        completed.append(item)
    return completed
