"""services.values: the English of every value a report shows."""
import re

import pytest

from models import Account, MajorName
from services import columns, identity, values
from services.columns import KINDS

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff]")
SCHOOL = values.School("示范大学", "Demonstration University",
                       ("示范大学", "示范学院", "示范师范专科学校"))


@pytest.fixture
def english(app, db):
    """english(kind, attr, value, record=None): values.english_value in a request."""
    def translate(kind_key, attr, value, record=None, school=SCHOOL):
        with app.test_request_context():
            return values.english_value(kind_key, attr, value, record, school=school)
    return translate


def _choice_columns():
    seen = {}
    for kind in KINDS.values():
        for column in kind.columns:
            if column.type == "choice":
                seen.setdefault(column.header, (kind.key, column))
    return sorted(seen.values(), key=lambda pair: pair[1].header)


def test_every_choice_of_every_column_has_an_english_entry(english):
    """Fails when a choice is added to services.columns without its English."""
    missing = []
    for kind_key, column in _choice_columns():
        for choice in column.choices:
            value_en = english(kind_key, column.attr, choice)
            if value_en == choice or CJK.search(value_en):
                missing.append(f"{column.header}: {choice} → {value_en}")
    assert not missing, missing
    headers = {column.header for _, column in _choice_columns()}
    assert headers == {"性别", "证件类型", "层次", "学习形式", "学历类别", "学籍状态", "毕(结)业"}


@pytest.mark.parametrize("kind_key, attr, value, expected", [
    ("diploma", "gender", "男", "Male"),
    ("diploma", "gender", "女", "Female"),
    ("diploma", "level", "本科", "Undergraduate (Bachelor's level)"),
    ("diploma", "level", "专科", "Junior college (Associate level)"),
    ("enrollment", "level", "硕士研究生", "Postgraduate (Master's level)"),
    ("enrollment", "level", "博士研究生", "Postgraduate (Doctoral level)"),
    ("diploma", "study_mode", "普通全日制", "Full-time"),
    ("diploma", "study_mode", "非全日制", "Part-time"),
    ("diploma", "study_mode", "函授", "Correspondence"),
    ("diploma", "study_mode", "业余", "Spare-time"),
    ("diploma", "study_mode", "脱产", "Full-time release"),
    ("diploma", "study_mode", "网络教育", "Online education"),
    ("diploma", "education_category", "普通高等教育", "Regular higher education"),
    ("diploma", "education_category", "成人高等教育", "Adult higher education"),
    ("diploma", "education_category", "高等教育自学考试", "Higher education self-study examinations"),
    ("diploma", "education_category", "网络教育", "Online education"),
    ("diploma", "completion", "毕业", "Graduated"),
    ("diploma", "completion", "结业", "Completed (without graduation)"),
    ("diploma", "completion", "肄业", "Attended (did not complete)"),
    ("enrollment", "status", "不在籍（毕业）", "Not enrolled (graduated)"),
    ("degree", "id_type", "居民身份证", "Resident Identity Card"),
])
def test_choice_values(english, kind_key, attr, value, expected):
    assert english(kind_key, attr, value) == expected


def test_id_types_come_from_identity(app):
    with app.test_request_context():
        table = values.tables()["choices"]["证件类型"]
    assert set(table) == set(identity.ID_TYPES)


def test_all_56_ethnic_groups(app, english):
    with app.test_request_context():
        groups = values.tables()["民族"]
    named = [name for name in groups if name not in ("其他", "外国血统中国籍人士")]
    assert len(named) == 56 and all(name.endswith("族") for name in named)
    assert not [en for en in groups.values() if CJK.search(en)]
    assert len(set(groups.values())) == len(groups)
    for zh, en in [("汉族", "Han"), ("壮族", "Zhuang"), ("回族", "Hui"), ("维吾尔族", "Uyghur"),
                   ("藏族", "Tibetan"), ("蒙古族", "Mongol"), ("汉", "Han")]:
        assert english("enrollment", "ethnicity", zh) == en
    assert english("enrollment", "ethnicity", "穿青人") == "穿青人"     # unknown: as recorded


@pytest.mark.parametrize("degree, expected", [
    ("文学学士", "Bachelor of Arts"),
    ("理学学士", "Bachelor of Science"),
    ("工学硕士", "Master of Engineering"),
    ("哲学博士", "Doctor of Philosophy"),
    ("经济学学士", "Bachelor of Economics"),
    ("法学硕士", "Master of Law"),
    ("教育学博士", "Doctor of Education"),
    ("历史学学士", "Bachelor of History"),
    ("农学硕士", "Master of Agriculture"),
    ("医学博士", "Doctor of Medicine"),
    ("军事学学士", "Bachelor of Military Science"),
    ("管理学硕士", "Master of Management"),
    ("艺术学学士", "Bachelor of Fine Arts"),
    ("交叉学科博士", "Doctor of Interdisciplinary Studies"),
    ("工学学士学位", "Bachelor of Engineering"),
    ("学士（理学）", "Bachelor of Science"),
    ("工商管理硕士", "Master of Business Administration"),
    ("工程硕士", "Master of Engineering"),
    ("法律硕士", "Juris Master"),
    ("临床医学博士", "Doctor of Clinical Medicine"),
    ("神学学士", "神学学士"),           # not a Chinese discipline: as recorded
])
def test_degree_names(english, degree, expected):
    assert english("degree", "degree", degree) == expected


@pytest.mark.parametrize("recorded, chinese, expected", [
    ("4", "4 年", "4 years"), ("4年", "4 年", "4 years"), ("3.5", "3.5 年", "3.5 years"),
    ("四年", "4 年", "4 years"), ("三年半", "3.5 年", "3.5 years"), ("五年制", "5 年", "5 years"),
    ("1", "1 年", "1 year"), ("弹性学制", "弹性学制", "弹性学制"),
])
def test_length_of_program(english, recorded, chinese, expected):
    column = KINDS["diploma"].column("duration")
    assert values.chinese_value(column, recorded) == chinese
    assert english("diploma", "duration", recorded) == expected


def test_money_dates_and_identifiers(english):
    assert english("aid", "amount", "5,000.00") == "CNY 5,000.00"
    assert english("aid", "amount", "12.5") == "CNY 12.50"
    assert english("diploma", "graduation_date", "2019-07-01") == "2019-07-01"
    assert english("diploma", "certificate_number", "109991201905000001") == "109991201905000001"
    assert english("admission", "year", "2015") == "2015"
    assert english("diploma", "completion", "") == ""


def test_school_names_current_and_former(english):
    assert english("diploma", "school_name", "示范大学") == "Demonstration University"
    assert english("diploma", "school_name", "示范学院") == "Demonstration University"
    assert english("degree", "awarding_unit", "示范 师范专科学校") == "Demonstration University"
    assert english("diploma", "school_name", "别的大学") == "别的大学"
    config = {"SCHOOL_NAME": "示范大学", "SCHOOL_NAME_EN": "Demo U",
              "SCHOOL_NAMES": [{"name": "示范学院", "from": 1985, "until": 2002}]}
    school = values.School.from_config(config)
    assert english("diploma", "school_name", "示范学院", school=school) == "Demo U"
    assert english("diploma", "school_name", "示范大学", school=school) == "Demo U"


def test_names_and_majors(english, make_account, make_record):
    owner = make_account(username="wang@example.edu.cn", real_name="王小明")
    record = make_record("diploma", account=owner.id, name="王小明", president="李明")
    assert english("diploma", "name", "王小明", record) == "WANG Xiaoming"
    Account.update(latin_name="WONG SIU MING").where(Account.id == owner.id).execute()
    record = type(record).get_by_id(record.id)
    assert english("diploma", "name", "王小明", record) == "WONG SIU MING"
    assert english("diploma", "name", "王小明") == "WANG Xiaoming"      # no record: pinyin
    assert english("diploma", "president", "李明") == "LI Ming"
    assert english("diploma", "major", "汉语言文学") == "汉语言文学"        # no English yet
    MajorName.create(major="汉语言文学", english="Chinese Language and Literature", updated_by="t")
    assert english("diploma", "major", "汉语言文学") == "Chinese Language and Literature"
    assert english("degree", "discipline", "汉语言文学") == "Chinese Language and Literature"


def test_report_fields_have_value_en_always(app, db, make_record):
    record = make_record("diploma", duration="4", study_mode="普通全日制")
    with app.test_request_context():
        fields = values.report_fields("diploma", record, school=SCHOOL)
    assert all(set(item) == {"key", "zh", "en", "value", "value_en"} for item in fields)
    by_key = {item["key"]: item for item in fields}
    assert "id_number" not in by_key                       # a diploma hides it
    assert by_key["duration"]["value"] == "4 年" and by_key["duration"]["value_en"] == "4 years"
    assert by_key["gender"]["value_en"] == "Female"
    assert by_key["school_name"]["value_en"] == "Demonstration University"
    assert by_key["graduation_date"]["value_en"] == by_key["graduation_date"]["value"]
    assert by_key["school_number"]["value_en"] == ""       # empty stays empty


def test_old_snapshot_fields_get_their_english(app, db):
    old = [{"key": "gender", "zh": "性别", "en": "Gender", "value": "女"},
           {"key": "level", "zh": "层次", "en": "Level", "value": "本科", "value_en": "kept"}]
    with app.test_request_context():
        completed = values.with_english("diploma", old, school=SCHOOL)
    assert completed[0]["value_en"] == "Female" and completed[1]["value_en"] == "kept"
    assert "value_en" not in old[0]                        # the snapshot itself is untouched


def test_tables_outside_an_app_are_not_kept():
    values._cache.pop("tables", None)
    table = values.tables()
    assert table["choices"]["性别"]["男"] == "男" and "tables" not in values._cache


def test_columns_have_no_choice_column_outside_the_tables(app):
    """Each choice column's header names its table (pgettext context)."""
    with app.test_request_context():
        tables = values.tables()["choices"]
    for kind in columns.KINDS.values():
        for column in kind.columns:
            if column.type == "choice":
                assert set(column.choices) <= set(tables[column.header]), column.header
