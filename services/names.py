"""Names on the English side of reports: the person's and the major's.

A person's name reads as the spelling in their passport when they set one
under 账户 (`Account.latin_name`), otherwise as pinyin of the recorded name,
written as a Chinese passport writes it: surname first in capitals, the given
name as one word, no tones, ü as YU (张三丰 → ZHANG Sanfeng, 吕律 → LYU Lyu,
欧阳娜娜 → OUYANG Nana). A major reads as its English name from the table the
registrar keeps (`MajorName`, seeded from services/majors_en.tsv), otherwise as
recorded.
"""
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from flask_babel import lazy_gettext as _l
from peewee import IntegrityError, fn
from pypinyin import Style, lazy_pinyin

from models import (Account, Admission, AuditEntry, Degree, Diploma, Enrollment, MajorName, db,
                    utcnow)
from services import audit, paging
from services.errors import ServiceError

_HAN_CHARS = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_HAN = re.compile(f"[{_HAN_CHARS}]")
_HAN_RUN = re.compile(f"([{_HAN_CHARS}]+)")
_DOTS = re.compile(r"\s*[\u00b7\u30fb\u2027\uff65\u2022]\s*")
_LATIN_NAME = re.compile(r"[A-Za-z]+(?:[ \-][A-Za-z]+)*")

# Two-character surnames, with their reading as a surname. A name of three or
# more characters that starts with one of them has it as its surname
# (欧阳娜娜 → OUYANG Nana); a two-character name is a one-character surname and
# a one-character given name (单于 → SHAN Yu).
COMPOUND_SURNAMES = {
    "欧阳": "ouyang", "司马": "sima", "上官": "shangguan", "诸葛": "zhuge", "东方": "dongfang",
    "皇甫": "huangfu", "尉迟": "yuchi", "公孙": "gongsun", "慕容": "murong", "长孙": "zhangsun",
    "宇文": "yuwen", "司徒": "situ", "夏侯": "xiahou", "轩辕": "xuanyuan", "令狐": "linghu",
    "钟离": "zhongli", "澹台": "tantai", "公冶": "gongye", "濮阳": "puyang", "淳于": "chunyu",
    "单于": "chanyu", "申屠": "shentu", "闻人": "wenren", "赫连": "helian", "万俟": "moqi",
    "独孤": "dugu", "南宫": "nangong", "西门": "ximen", "百里": "baili", "呼延": "huyan",
    "端木": "duanmu", "拓跋": "tuoba", "司空": "sikong", "太史": "taishi", "东郭": "dongguo",
    "左丘": "zuoqiu", "梁丘": "liangqiu", "仲孙": "zhongsun", "叔孙": "shusun",
    "乐正": "yuezheng", "亓官": "qiguan", "巫马": "wuma", "羊舌": "yangshe", "微生": "weisheng",
    "漆雕": "qidiao", "颛孙": "zhuansun", "壤驷": "rangsi", "公良": "gongliang",
    "段干": "duangan", "东门": "dongmen", "谷梁": "guliang", "宰父": "zaifu", "公西": "gongxi",
    "司寇": "sikou", "子车": "ziju", "鲜于": "xianyu", "闾丘": "lvqiu", "第五": "diwu",
    "公羊": "gongyang", "即墨": "jimo", "哥舒": "geshu", "完颜": "wanyan", "耶律": "yelv",
}

# One-character surnames whose reading as a surname differs from the reading
# pypinyin gives the character alone (单 is Shan, not Dan).
SURNAME_READINGS = {
    "单": "shan", "曾": "zeng", "解": "xie", "仇": "qiu", "区": "ou", "朴": "piao", "查": "zha",
    "覃": "qin", "盖": "ge", "乐": "yue", "翟": "zhai", "缪": "miao", "种": "chong", "召": "shao",
    "繁": "po", "员": "yun", "秘": "bi", "宓": "mi", "贲": "ben", "冼": "xian", "黑": "he",
    "祭": "zhai", "牟": "mou", "逄": "pang", "重": "chong", "柏": "bai", "薄": "bo", "阚": "kan",
    "隗": "wei", "藏": "zang", "都": "du", "卜": "bu", "洗": "xian", "粘": "nian", "长": "chang",
    "折": "she", "句": "gou", "能": "nai", "便": "pian", "蕃": "pi",
}


class SpellingError(ServiceError):
    """A passport spelling that breaks the rule; str(error) is the message."""


class MajorNameError(ServiceError):
    """A major or English name that breaks the table's rules."""


def passport_spelling(raw: str) -> str:
    """Check a passport spelling: Latin letters, single spaces and hyphens."""
    text = " ".join(unicodedata.normalize("NFKC", raw or "").split())
    if not text:
        raise SpellingError(_l("请填写护照上的姓名拼写。"), field="latin_name")
    if len(text) > 64 or not _LATIN_NAME.fullmatch(text):
        raise SpellingError(_l("护照姓名只能包含英文字母、空格和连字符，最多 64 个字符。"),
                         field="latin_name")
    return text.upper()


# --- pinyin ------------------------------------------------------------------------

def _passport_syllable(syllable: str) -> str:
    # Style.NORMAL writes ü as v (lv, nve); a Chinese passport writes YU (LYU, NYUE).
    # After j, q, x and y pinyin writes ü as u already (ju, xue).
    return syllable.replace("v", "yu")


def _romanise(text: str) -> str:
    """Han characters as toneless pinyin syllables run together (pypinyin, with its
    phrase data for heteronyms: 长乐 → changle); anything else kept as written."""
    parts = []
    for piece in _HAN_RUN.split(re.sub(r"\s+", "", text)):
        if not piece:
            continue
        if _HAN.match(piece):
            parts.extend(_passport_syllable(s) for s in lazy_pinyin(piece, style=Style.NORMAL))
        else:
            parts.append(piece)
    return "".join(parts)


def _capitalised(word: str) -> str:
    return word[:1].upper() + word[1:]


def _surname(name: str) -> tuple[str, str]:
    """(surname in pinyin, the rest of the name as written)."""
    if len(name) >= 3 and name[:2] in COMPOUND_SURNAMES:
        return _passport_syllable(COMPOUND_SURNAMES[name[:2]]), name[2:]
    first = name[0]
    if first in SURNAME_READINGS:
        return _passport_syllable(SURNAME_READINGS[first]), name[1:]
    return _romanise(first), name[1:]


def pinyin_name(name: str) -> str:
    """The recorded name in pinyin as a Chinese passport writes it: ZHANG Sanfeng.

    Compound surnames stay one word (OUYANG Nana); surnames are read as surnames
    (单 SHAN, 曾 ZENG); ü is YU (吕 LYU). A name with a middle dot
    (阿依古丽·买买提) gives each part, capitalised, joined by a space
    (Ayiguli Maimaiti). A name without Chinese characters is returned as recorded.
    """
    name = (name or "").strip()
    if not _HAN.search(name):
        return name
    if _DOTS.search(name):
        return " ".join(_capitalised(_romanise(part)) for part in _DOTS.split(name) if part)
    compact = re.sub(r"\s+", "", name)
    if not _HAN.match(compact):
        return _capitalised(_romanise(compact))
    surname, given = _surname(compact)
    return f"{surname.upper()} {_capitalised(_romanise(given))}".strip()


def english_name(record) -> str:
    """The name a reader abroad sees for the person a record describes."""
    account = record.account if record.account_id else None
    if account is not None and account.latin_name:
        return account.latin_name
    return pinyin_name(record.name)


def shown_name(account) -> str:
    """What the English side of the account's reports shows now: the passport
    spelling, else the pinyin of the account's real name."""
    return account.latin_name or pinyin_name(account.real_name or "")


# --- the passport spelling under 账户 -----------------------------------------------

def set_passport_spelling(account: Account, raw: str, *, ip: str = "") -> str:
    """Set (a checked value) or clear (`raw` None) the account's passport spelling.
    Writes that column alone and an audit entry with the old and new value; returns
    the value now stored ("" when cleared). Nothing is written when it is unchanged."""
    new = passport_spelling(raw) if raw is not None else None
    old = account.latin_name
    if (old or None) == new:
        return new or ""
    with db.atomic():
        Account.update(latin_name=new).where(Account.id == account.id).execute()
        audit.log("account.latin_name_changed", account=account, ip=ip,
                  changes={"latin_name": [old or "", new or ""]})
    account.latin_name = new
    return new or ""


# --- majors' English names -----------------------------------------------------------

SEED_FILE = Path(__file__).with_name("majors_en.tsv")
PER_PAGE = 50
MISSING_LIMIT = 100
SEED_ACTOR = "seed"
_ENGLISH = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ,.'&()\-/:;]*")
# The columns that hold a major as recorded (学籍, 学历, 录取: 专业; 学位: 学科/专业).
MAJOR_COLUMNS = ((Enrollment, Enrollment.major), (Diploma, Diploma.major),
                 (Admission, Admission.major), (Degree, Degree.discipline))


def major_english(major: str) -> str | None:
    """The major's English name from the registrar's table, or None (one indexed
    query; for several majors at once use `majors_english`)."""
    if not major or not major.strip():
        return None
    row = (MajorName.select(MajorName.english)
           .where(MajorName.major == major.strip()).first())
    return row.english if row else None


def majors_english(majors) -> dict[str, str]:
    """{major: English name} for those of `majors` the table knows, in one query."""
    wanted = {m.strip() for m in majors if m and m.strip()}
    if not wanted:
        return {}
    return {row.major: row.english
            for row in MajorName.select(MajorName.major, MajorName.english)
            .where(MajorName.major.in_(sorted(wanted)))}


def seed_rows(path: Path = SEED_FILE) -> list[tuple[str, str]]:
    """(major, English name) from the seed file: tab-separated, `#` starts a comment."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        major, _, english = line.partition("\t")
        rows.append((major.strip(), english.strip()))
    return rows


def seed_majors(path: Path = SEED_FILE) -> int:
    """Add the seed file's majors the table does not have; returns how many.

    Idempotent: a major already in the table keeps the registrar's English name,
    and a major the registrar deleted (its `major_name.deleted` audit entry names
    it) is not brought back."""
    rows = seed_rows(path)
    with db.atomic():
        present = {m for (m,) in MajorName.select(MajorName.major).tuples()}
        deleted = {d for (d,) in AuditEntry.select(AuditEntry.detail)
                   .where(AuditEntry.action == "major_name.deleted").tuples()}
        now = utcnow()
        new = [{"major": major, "english": english, "updated_at": now,
                "updated_by": SEED_ACTOR}
               for major, english in dict(rows).items()
               if major not in present and major not in deleted]
        for start in range(0, len(new), 100):
            MajorName.insert_many(new[start:start + 100]).on_conflict_ignore().execute()
    return len(new)


def _clean_major(raw: str) -> str:
    # Kept as records hold it (outer spaces aside), so that the look-up matches.
    major = (raw or "").strip()
    if not major:
        raise MajorNameError(_l("请填写专业名称。"), field="major")
    if len(major) > 128:
        raise MajorNameError(_l("专业名称最多 128 个字。"), field="major")
    return major


def _clean_english(raw: str) -> str:
    english = " ".join(unicodedata.normalize("NFKC", raw or "").split())
    if not english:
        raise MajorNameError(_l("请填写英文名称。"), field="english")
    if len(english) > 200 or not _ENGLISH.fullmatch(english):
        raise MajorNameError(_l("英文名称只能包含英文字母、数字、空格和常用标点，最多 200 个字符。"),
                             field="english")
    return english


@dataclass(frozen=True)
class MajorsPage(paging.Paged):
    items: list
    total: int
    number: int
    size: int = PER_PAGE


def majors_page(query: str = "", number: int = 1, size: int = PER_PAGE) -> MajorsPage:
    """One page of the table in the order of the majors, those whose Chinese or
    English name contains `query` (the table holds hundreds of rows, not millions)."""
    select = MajorName.select()
    query = " ".join((query or "").split())
    if query:
        select = select.where(MajorName.major.contains(query)
                              | MajorName.english.contains(query))
    total = select.count()
    pages = max(1, -(-total // size))
    number = min(max(1, number), pages)
    items = list(select.order_by(MajorName.major).paginate(number, size))
    return MajorsPage(items, total, number, size)


def _distinct_values(model, column) -> set[str]:
    """The distinct values of an indexed column by a loose index scan: one index
    probe per value (`MIN(col) WHERE col > previous`), so the cost follows the
    number of majors, not the number of records (SQLite and PostgreSQL alike)."""
    table, col = _quoted(model._meta.table_name), _quoted(column.column_name)
    sql = (f"WITH RECURSIVE v(value) AS (SELECT MIN({col}) FROM {table} "  # nosec B608 # names from the model, quoted
           f"UNION ALL SELECT (SELECT MIN({col}) FROM {table} WHERE {col} > v.value) "
           f"FROM v WHERE v.value IS NOT NULL) SELECT value FROM v WHERE value IS NOT NULL")
    return {value for (value,) in db.execute_sql(sql) if value and value.strip()}


def _quoted(name: str) -> str:
    return f"{db.quote[0]}{name}{db.quote[1]}"


def missing_majors(limit: int = MISSING_LIMIT) -> tuple[list[str], int]:
    """Majors recorded in 学籍, 学历, 录取 or 学位 records that the table has no English
    name for, in order: (the first `limit`, how many there are). Five queries, each
    as cheap as the number of distinct majors (bench: about 10 ms for 600 majors
    in 200,000 学籍 records on SQLite, where a DISTINCT scan took 40 ms)."""
    recorded = set()
    for model, column in MAJOR_COLUMNS:
        recorded |= _distinct_values(model, column)
    known = {major for (major,) in MajorName.select(MajorName.major).tuples()}
    missing = sorted(recorded - known)
    return missing[:limit], len(missing)


def add_major(major: str, english: str, *, actor: str, ip: str = "") -> MajorName:
    """A new row; a major already in the table is refused beside 专业."""
    major, english = _clean_major(major), _clean_english(english)
    try:
        with db.atomic():
            row = MajorName.create(major=major, english=english, updated_at=utcnow(),
                                   updated_by=actor)
            audit.log("major_name.added", actor=actor, ip=ip, detail=major,
                      changes={"major": major, "english": ["", english]})
    except IntegrityError:
        raise MajorNameError(_l("这个专业已有英文名称，请在列表中修改。"), field="major") from None
    return row


def update_major(row_id: int, english: str, *, actor: str, ip: str = "") -> MajorName | None:
    """A new English name for a row (None when the row is gone); only that column
    and who changed it when are written."""
    english = _clean_english(english)
    with db.atomic():
        row = MajorName.get_or_none(MajorName.id == row_id)
        if row is None:
            return None
        if row.english == english:
            return row
        MajorName.update(english=english, updated_at=utcnow(), updated_by=actor).where(
            MajorName.id == row_id).execute()
        audit.log("major_name.changed", actor=actor, ip=ip, detail=row.major,
                  changes={"major": row.major, "english": [row.english, english]})
    return MajorName.get_or_none(MajorName.id == row_id)


def delete_major(row_id: int, *, actor: str, ip: str = "") -> MajorName | None:
    """Remove a row (the major reads as recorded again); None when it was gone.
    The audit entry's detail is the major itself, which keeps `seed_majors` from
    adding it back."""
    with db.atomic():
        row = MajorName.get_or_none(MajorName.id == row_id)
        if row is None:
            return None
        if not MajorName.delete().where(MajorName.id == row_id).execute():
            return None
        audit.log("major_name.deleted", actor=actor, ip=ip, detail=row.major,
                  changes={"major": row.major, "english": [row.english, ""]})
    return row


def recorded_count() -> int:
    """How many majors the table holds."""
    return MajorName.select(fn.COUNT(MajorName.id)).scalar() or 0
