"""Names on the English side: pinyin as a passport writes it, the passport spelling,
and the majors' English-name table (seed, look-ups, changes, the missing list)."""
import pytest

from models import Account, AuditEntry, MajorName
from services import names
from tests.factories import create_record


@pytest.mark.parametrize("name, expected", [
    ("张三丰", "ZHANG Sanfeng"),
    ("李娜", "LI Na"),
    # ü is YU, as the Chinese passport writes it; after j/q/x/y it is u already.
    ("吕布", "LYU Bu"),
    ("律小红", "LYU Xiaohong"),
    ("女娲", "NYU Wa"),
    ("吕律", "LYU Lyu"),
    ("徐旭", "XU Xu"),
    ("聂略", "NIE Lyue"),
    # compound surnames stay one word
    ("欧阳娜娜", "OUYANG Nana"),
    ("司马相如", "SIMA Xiangru"),
    ("诸葛亮", "ZHUGE Liang"),
    ("上官婉儿", "SHANGGUAN Waner"),
    ("东方朔", "DONGFANG Shuo"),
    ("皇甫谧", "HUANGFU Mi"),
    ("慕容复", "MURONG Fu"),
    ("令狐冲", "LINGHU Chong"),
    ("端木蕻良", "DUANMU Hongliang"),
    ("拓跋宏", "TUOBA Hong"),
    ("闾丘露薇", "LYUQIU Luwei"),
    # compound surnames read as surnames
    ("尉迟恭", "YUCHI Gong"),
    ("万俟卨", "MOQI Xie"),
    ("长孙无忌", "ZHANGSUN Wuji"),
    ("单于明", "CHANYU Ming"),
    ("澹台灭明", "TANTAI Mieming"),
    # a two-character name is a one-character surname and given name
    ("司马", "SI Ma"),
    ("单于", "SHAN Yu"),
    # one-character surnames with their own reading
    ("单田芳", "SHAN Tianfang"),
    ("曾国藩", "ZENG Guofan"),
    ("解缙", "XIE Jin"),
    ("仇英", "QIU Ying"),
    ("区家明", "OU Jiaming"),
    ("朴槿惠", "PIAO Jinhui"),
    ("查良镛", "ZHA Liangyong"),
    ("覃振", "QIN Zhen"),
    ("盖叫天", "GE Jiaotian"),
    ("乐嘉", "YUE Jia"),
    ("翟志刚", "ZHAI Zhigang"),
    ("缪昌期", "MIAO Changqi"),
    ("种师道", "CHONG Shidao"),
    ("召忽", "SHAO Hu"),
    ("繁钦", "PO Qin"),
    ("员半千", "YUN Banqian"),
    ("秘书", "BI Shu"),
    ("黑伯龙", "HE Bolong"),
    ("祭遵", "ZHAI Zun"),
    ("牟其中", "MOU Qizhong"),
    ("逄蒙", "PANG Meng"),
    ("重明", "CHONG Ming"),
    ("柏杨", "BAI Yang"),
    ("薄熙", "BO Xi"),
    ("宓子贱", "MI Zijian"),
    ("贲赫", "BEN He"),
    ("冼星海", "XIAN Xinghai"),
    # given-name heteronyms as pypinyin's phrase data reads them
    ("李长乐", "LI Changle"),
    ("王重阳", "WANG Chongyang"),
    # names with a middle dot: each part, capitalised
    ("阿依古丽·买买提", "Ayiguli Maimaiti"),
    ("艾力・吐尔逊", "Aili Tuerxun"),
    ("Maria·张", "Maria Zhang"),
    # Latin names as recorded
    ("Anna Smith", "Anna Smith"),
    ("  John O'Neil ", "John O'Neil"),
    ("", ""),
    # a Latin part is not touched (no v → yu inside it)
    ("张Vivian", "ZHANG Vivian"),
    ("张 三", "ZHANG San"),
])
def test_pinyin_name(name, expected):
    assert names.pinyin_name(name) == expected


@pytest.mark.parametrize("raw, expected", [
    ("Zhang Sanfeng", "ZHANG SANFENG"),
    ("  lyu   bu ", "LYU BU"),
    ("Anne-Marie Dupont", "ANNE-MARIE DUPONT"),
    ("ＺＨＡＮＧ ＳＡＮ", "ZHANG SAN"),  # full-width letters from a Chinese keyboard
])
def test_passport_spelling_accepts(raw, expected):
    assert names.passport_spelling(raw) == expected


@pytest.mark.parametrize("raw", ["", "   ", "张三", "Zhang3", "O'Neil", "Zhang--San", "-Zhang",
                                 "Zhang_San", "Müller", "A" * 65])
def test_passport_spelling_refuses(raw):
    with pytest.raises(names.SpellingError) as error:
        names.passport_spelling(raw)
    assert error.value.field == "latin_name"


def test_set_and_clear_the_passport_spelling(db, make_account):
    account = make_account(real_name="吕布")
    assert names.shown_name(account) == "LYU Bu"
    assert names.set_passport_spelling(account, "lu bu", ip="10.0.0.1") == "LU BU"
    stored = Account.get_by_id(account.id)
    assert stored.latin_name == "LU BU" and names.shown_name(stored) == "LU BU"
    # Unchanged: nothing written.
    names.set_passport_spelling(stored, "LU BU")
    assert names.set_passport_spelling(stored, None) == ""
    assert Account.get_by_id(account.id).latin_name is None
    entries = list(AuditEntry.select().where(AuditEntry.action == "account.latin_name_changed")
                   .order_by(AuditEntry.id))
    assert [e.changes for e in entries] == [{"latin_name": ["", "LU BU"]},
                                            {"latin_name": ["LU BU", ""]}]
    assert entries[0].ip == "10.0.0.1" and entries[0].account_id == account.id


def test_english_name_prefers_the_passport_spelling(db, make_account):
    account = make_account(real_name="欧阳娜娜")
    record = create_record("diploma", name="欧阳娜娜", account=account.id)
    assert names.english_name(record) == "OUYANG Nana"
    names.set_passport_spelling(account, "Au-Yeung Na Na")
    record = type(record).get_by_id(record.id)
    assert names.english_name(record) == "AU-YEUNG NA NA"
    unbound = create_record("diploma", 2, name="单田芳")
    assert names.english_name(unbound) == "SHAN Tianfang"


# --- majors ------------------------------------------------------------------------

def test_the_seed_file_is_well_formed():
    rows = names.seed_rows()
    majors = [major for major, _ in rows]
    assert len(rows) >= 150 and len(set(majors)) == len(majors)
    for major, english in rows:
        assert major and english and len(major) <= 128 and len(english) <= 200
        assert names._clean_english(english) == english
    table = dict(rows)
    assert table["计算机科学与技术"] == "Computer Science and Technology"
    assert table["汉语言文学"] == "Chinese Language and Literature"
    assert table["临床医学"] == "Clinical Medicine"
    assert table["会计学"] == "Accounting"


def test_the_seed_covers_the_demo_majors():
    from demo import vocabulary
    demo_majors = ({row[1] for row in vocabulary.UNDERGRAD} | {row[1] for row in vocabulary.JUNIOR}
                   | {row[1] for row in vocabulary.MASTER} | {row[1] for row in vocabulary.ADULT}
                   | {row[0] for row in vocabulary.OLD_UNDERGRAD} | set(vocabulary.OLD_JUNIOR))
    assert demo_majors <= set(dict(names.seed_rows()))


def test_seed_is_idempotent_and_keeps_the_registrars_edits(db):
    total = len(names.seed_rows())
    assert names.seed_majors() == total
    assert names.recorded_count() == total
    row = MajorName.get(MajorName.major == "会计学")
    names.update_major(row.id, "Accountancy", actor="registrar@example.edu.cn")
    gone = MajorName.get(MajorName.major == "英语")
    names.delete_major(gone.id, actor="registrar@example.edu.cn")
    assert names.seed_majors() == 0
    assert names.major_english("会计学") == "Accountancy"
    # A major the registrar deleted is not brought back.
    assert names.major_english("英语") is None
    assert names.recorded_count() == total - 1


def test_seed_adds_only_the_missing_majors(db, tmp_path):
    names.add_major("法学", "Jurisprudence", actor="registrar@example.edu.cn")
    seed = tmp_path / "seed.tsv"
    seed.write_text("# comment\n法学\tLaw\n新专业\tNew Major\n\n", encoding="utf-8")
    assert names.seed_majors(seed) == 1
    assert names.majors_english(["法学", "新专业", "别的"]) == {"法学": "Jurisprudence",
                                                              "新专业": "New Major"}
    assert MajorName.get(MajorName.major == "新专业").updated_by == names.SEED_ACTOR


def test_major_english(db):
    names.add_major("学科教学（语文）", "Subject Teaching (Chinese)", actor="r")
    assert names.major_english("学科教学（语文）") == "Subject Teaching (Chinese)"
    assert names.major_english(" 学科教学（语文） ") == "Subject Teaching (Chinese)"
    assert names.major_english("学科教学(语文)") is None
    assert names.major_english("") is None and names.major_english(None) is None
    assert names.majors_english([]) == {} and names.majors_english(["", None]) == {}


def test_add_update_delete_are_audited(db):
    row = names.add_major(" 软件工程 ", "Software  Engineering", actor="reg", ip="10.0.0.2")
    assert (row.major, row.english, row.updated_by) == ("软件工程", "Software Engineering", "reg")
    names.update_major(row.id, "Software Eng.", actor="other")
    assert MajorName.get_by_id(row.id).updated_by == "other"
    assert names.delete_major(row.id, actor="other").english == "Software Eng."
    assert names.delete_major(row.id, actor="other") is None
    assert names.update_major(row.id, "X", actor="other") is None
    entries = list(AuditEntry.select().where(AuditEntry.action.startswith("major_name."))
                   .order_by(AuditEntry.id))
    assert [(e.action, e.actor, e.detail, e.changes) for e in entries] == [
        ("major_name.added", "reg", "软件工程",
         {"major": "软件工程", "english": ["", "Software Engineering"]}),
        ("major_name.changed", "other", "软件工程",
         {"major": "软件工程", "english": ["Software Engineering", "Software Eng."]}),
        ("major_name.deleted", "other", "软件工程",
         {"major": "软件工程", "english": ["Software Eng.", ""]}),
    ]


@pytest.mark.parametrize("major, english, field", [
    ("", "Law", "major"),
    ("法学", "", "english"),
    ("法学", "法律", "english"),
    ("法学", "Law<script>", "english"),
    ("法" * 129, "Law", "major"),
    ("法学", "L" * 201, "english"),
])
def test_add_refuses_bad_values(db, major, english, field):
    with pytest.raises(names.MajorNameError) as error:
        names.add_major(major, english, actor="reg")
    assert error.value.field == field
    assert MajorName.select().count() == 0


def test_add_refuses_a_major_already_there(db):
    names.add_major("法学", "Law", actor="reg")
    with pytest.raises(names.MajorNameError) as error:
        names.add_major("法学", "Jurisprudence", actor="reg")
    assert error.value.field == "major"
    assert names.major_english("法学") == "Law"
    assert AuditEntry.select().where(AuditEntry.action == "major_name.added").count() == 1


def test_majors_page_searches_and_pages(db):
    for n in range(60):
        names.add_major(f"专业{n:02d}", f"Major {n:02d}", actor="reg")
    names.add_major("法学", "Law", actor="reg")
    first = names.majors_page()
    assert first.total == 61 and len(first.items) == 50 and first.pages == 2
    assert first.items[0].major == "专业00" and first.has_next and not first.has_previous
    assert len(names.majors_page(number=2).items) == 11
    assert names.majors_page(number=99).number == 2
    assert [r.major for r in names.majors_page("law").items] == ["法学"]
    assert [r.major for r in names.majors_page("法").items] == ["法学"]
    assert names.majors_page("专业5").total == 10
    assert names.majors_page("%").total == 0 and names.majors_page("_").total == 0


def test_missing_majors(db):
    create_record("enrollment", 1, major="汉语言文学")
    create_record("diploma", 2, major="历史学")
    create_record("diploma", 3, major="历史学")
    create_record("admission", 4, major="考古学")
    create_record("degree", 5, discipline="世界史")
    names.add_major("考古学", "Archaeology", actor="reg")
    assert names.missing_majors() == (["世界史", "历史学", "汉语言文学"], 3)
    assert names.missing_majors(limit=1) == (["世界史"], 3)
    names.seed_majors()
    assert names.missing_majors() == ([], 0)


def test_init_db_seeds_the_majors_once(runner, db):
    first = runner.invoke(args=["init-db"])
    assert first.exit_code == 0, first.output
    assert f"{len(names.seed_rows())} majors' English names added" in first.output
    assert names.major_english("计算机科学与技术") == "Computer Science and Technology"
    names.update_major(MajorName.get(MajorName.major == "临床医学").id, "Medicine (MBBS)",
                       actor="reg")
    again = runner.invoke(args=["init-db"])
    assert again.exit_code == 0 and "English names added" not in again.output
    assert names.major_english("临床医学") == "Medicine (MBBS)"
