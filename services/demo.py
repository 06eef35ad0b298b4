"""Demo data for a new installation (`flask --app app seed-demo`).

An invented, deterministic data set (random.Random with a fixed seed, so every
installation gets the same people): about 300 people with records of every
kind, including the hard cases the real archive has —

- diplomas before 2001 that carry a school number, a printed serial
  (`NO.00298959`, stored as `00298959`) or both, and often no ID number at all
  (only the birth date);
- records whose source ID number had the legacy 15 digits (stored upgraded to
  18 digits, as the importer does);
- records under the school's former names (示范学院 1985–2002,
  示范师范专科学校 1958–1984), and diplomas from before 1991 that are never
  offered for binding;
- 17-digit diploma numbers in 2001, 18-digit ones since 2002;
- 结业 and 肄业 diplomas, and enrollments that are 休学, 保留学籍, 退学 or current;
- names with rare characters outside the BMP (王𠮷, 陈䶮) and minority names
  with the middle dot (阿依古丽·吐尔逊).

On top of the crowd come three named people to try the portal with
(`DEMO_PEOPLE`, also listed in README.md), none of them registered, and the
registrar account `DEMO_ADMIN`. Nobody in here is a real person.
"""
import datetime
import io
import random
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from models import RECORD_MODELS, Account, Admission, Aid, Degree, Diploma, Enrollment, db
from services import identity

DEMO_ADMIN = ("registrar", "Demo-2026-office")

RANDOM_SEED = 20260901
SCHOOL_CODE = "10999"
# The data describe the school in the 2026-2027 school year, whatever today is.
THIS_YEAR = 2026
# Mirrors app.DEFAULTS["SCHOOL_NAMES"]: (name, first year, last year).
SCHOOL_HISTORY = (("示范大学", 2003, 9999), ("示范学院", 1985, 2002),
                  ("示范师范专科学校", 1958, 1984))
DIPLOMA_LEVEL_CODES = {"博士研究生": "01", "硕士研究生": "02", "第二学士": "04",
                       "本科": "05", "专科": "06"}
DIPLOMA_TYPE_CODES = {"普通高等教育": "1", "成人高等教育": "5", "高等教育自学考试": "6",
                      "网络教育": "7"}
DEGREE_LEVEL_CODES = {"博士": "2", "硕士": "3", "学士": "4"}


# --- the three people to try the portal with ---------------------------------

def resident_id(area: str, birth: datetime.date, sequence: int) -> str:
    """An 18-digit resident ID with its check character (odd sequence = male)."""
    first17 = f"{area}{birth:%Y%m%d}{sequence:03d}"
    return first17 + identity._check_character(first17)


def legacy_id(area: str, birth: datetime.date, sequence: int) -> str:
    """The 15-digit form of the same person's ID (area + YYMMDD + sequence)."""
    return f"{area}{birth:%y%m%d}{sequence:03d}"


@dataclass(frozen=True)
class DemoPerson:
    name: str
    gender: str
    birth_date: datetime.date
    id_number: str
    username: str
    phone: str
    initials: str
    # Records that bind by themselves at registration, per kind.
    auto_binds: dict = field(default_factory=dict, hash=False)
    legacy_id_number: str | None = None


LI_HUA = DemoPerson(
    name="李华", gender="女", birth_date=datetime.date(1998, 3, 15),
    id_number=resident_id("420106", datetime.date(1998, 3, 15), 452),
    username="lihua@demo.edu.cn", phone="13800138001", initials="LH",
    auto_binds={"enrollment": 1, "diploma": 1, "degree": 1, "admission": 1, "aid": 4})

ZHANG_WEI = DemoPerson(
    name="张伟", gender="男", birth_date=datetime.date(1972, 5, 8),
    id_number=resident_id("320102", datetime.date(1972, 5, 8), 31),
    username="zhangwei@demo.edu.cn", phone="13800138002", initials="ZW",
    auto_binds={"enrollment": 1, "diploma": 1})

MAIMAITI = DemoPerson(
    name="买买提·艾力", gender="男", birth_date=datetime.date(1980, 6, 12),
    id_number=resident_id("653101", datetime.date(1980, 6, 12), 17),
    legacy_id_number=legacy_id("653101", datetime.date(1980, 6, 12), 17),
    username="maimaiti@demo.edu.cn", phone="13800138003", initials="MA",
    auto_binds={"enrollment": 2, "diploma": 1, "admission": 1})

DEMO_PEOPLE = (LI_HUA, ZHANG_WEI, MAIMAITI)

# 张伟's 1994 diploma: no ID number, so he binds it by hand with either number.
ZHANG_WEI_OLD_DIPLOMA = dict(
    certificate_number="00298959", printed="NO.00298959", school_number="982456",
    year=1994, school="示范学院")


# --- vocabularies of the invented school ---------------------------------------

SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
            "于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱"
            "江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
COMPOUND_SURNAMES = ("欧阳", "司马", "诸葛", "上官")
MALE_CHARS = "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林阳晨博文昊轩然泽睿哲铭"
FEMALE_CHARS = "芳娜敏静丽艳娟霞燕玲桂丹萍婷雪琳晶颖倩慧佳琪怡欣悦涵萱瑶梦雨诗思妍玥彤蕾"
# Rare characters (两个在 BMP 之外的 𠮷, 与扩展 A 的 䶮) and minority names.
RARE_NAMES = (("王𠮷", "男", "汉族"), ("陈䶮", "男", "汉族"), ("张喆", "男", "汉族"),
              ("李垚", "女", "汉族"), ("周淼", "女", "汉族"), ("赵犇", "男", "汉族"))
# Uyghur names: own name · father's name.
UYGHUR_MALE = ("艾尔肯", "努尔艾力", "阿不都热依木", "伊力哈木", "艾合买提", "麦麦提江", "艾力")
UYGHUR_FEMALE = ("阿依古丽", "古丽娜尔", "热依拉", "迪丽努尔", "帕提古丽", "米热古丽")
UYGHUR_FATHERS = ("买买提", "吾斯曼", "库尔班", "吐尔洪", "阿不都拉", "肉孜", "吐尔逊", "艾买提",
                  "热合曼", "艾则孜", "阿不力孜", "艾力")
TIBETAN = (("扎西顿珠", "男"), ("次仁多吉", "男"), ("格桑平措", "男"), ("尼玛次仁", "男"),
           ("卓玛", "女"), ("央金拉姆", "女"), ("德吉央宗", "女"), ("白玛曲珍", "女"))
MONGOLIAN = (("巴特尔", "男"), ("额尔敦", "男"), ("苏和", "男"), ("其其格", "女"),
             ("乌日娜", "女"), ("萨仁", "女"))

# ethnicity: (weight, area codes)
ETHNIC = {
    "汉族": (86, ("110105", "110108", "420106", "420111", "440305", "310104", "510107", "330106",
                 "320102", "430104", "610113", "370102", "410105", "500103", "360102", "350102",
                 "120101", "340104", "130102", "140105", "230103", "220102", "530102", "620102")),
    "维吾尔族": (4, ("650102", "650104", "653101")),
    "回族": (2, ("640104", "620102")),
    "藏族": (2, ("540102",)),
    "蒙古族": (2, ("150102",)),
    "壮族": (2, ("450103",)),
    "土家族": (1, ("422801",)),
    "满族": (1, ("210102",)),
}

# (department, major, class abbreviation, bachelor's degree, first year admitted)
UNDERGRAD = (
    ("文学院", "汉语言文学", "汉文", "文学学士", 1985),
    ("文学院", "汉语国际教育", "汉教", "文学学士", 2013),
    ("外国语学院", "英语", "英语", "文学学士", 1985),
    ("外国语学院", "日语", "日语", "文学学士", 2004),
    ("数学与统计学院", "数学与应用数学", "数学", "理学学士", 1985),
    ("数学与统计学院", "统计学", "统计", "理学学士", 2006),
    ("物理与电子工程学院", "物理学", "物理", "理学学士", 1985),
    ("物理与电子工程学院", "电子信息工程", "电信", "工学学士", 2000),
    ("计算机学院", "计算机科学与技术", "计科", "工学学士", 1998),
    ("计算机学院", "软件工程", "软工", "工学学士", 2005),
    ("计算机学院", "数据科学与大数据技术", "数据", "工学学士", 2017),
    ("机械工程学院", "机械设计制造及其自动化", "机制", "工学学士", 1999),
    ("经济与管理学院", "会计学", "会计", "管理学学士", 1998),
    ("经济与管理学院", "工商管理", "工管", "管理学学士", 1999),
    ("经济与管理学院", "国际经济与贸易", "国贸", "经济学学士", 1999),
    ("法学院", "法学", "法学", "法学学士", 1996),
    ("教育科学学院", "教育学", "教育", "教育学学士", 1985),
    ("教育科学学院", "学前教育", "学前", "教育学学士", 2008),
    ("化学与化工学院", "化学", "化学", "理学学士", 1985),
    ("化学与化工学院", "化学工程与工艺", "化工", "工学学士", 2002),
    ("生命科学学院", "生物科学", "生物", "理学学士", 1988),
    ("艺术学院", "音乐学", "音乐", "艺术学学士", 2003),
)
JUNIOR = (("经济与管理学院", "会计", "会计"), ("计算机学院", "计算机应用技术", "计应"),
          ("教育科学学院", "学前教育", "学前"), ("外国语学院", "商务英语", "商英"),
          ("机械工程学院", "机电一体化技术", "机电"))
# (department, major, degree, class abbreviation)
MASTER = (("计算机学院", "计算机科学与技术", "工学硕士", "计科"),
          ("数学与统计学院", "应用数学", "理学硕士", "应数"),
          ("文学院", "中国现当代文学", "文学硕士", "现当代"),
          ("教育科学学院", "教育学原理", "教育学硕士", "教原"),
          ("经济与管理学院", "会计", "会计硕士", "MPAcc"),
          ("公共管理学院", "公共管理", "公共管理硕士", "MPA"),
          ("教育科学学院", "学科教学（语文）", "教育硕士", "语文"))
ADULT = (("继续教育学院", "会计学", "管理学学士"), ("继续教育学院", "汉语言文学", "文学学士"),
         ("继续教育学院", "计算机科学与技术", "工学学士"), ("继续教育学院", "行政管理", "管理学学士"))
# Majors of the 1980s and 1990s (before the 1998 catalogue).
OLD_UNDERGRAD = (("汉语言文学", "文学学士"), ("英语", "文学学士"), ("数学", "理学学士"),
                 ("物理学", "理学学士"), ("化学", "理学学士"), ("机械设计与制造", "工学学士"),
                 ("会计学", "经济学学士"), ("计算机及应用", "工学学士"), ("教育学", "教育学学士"))
OLD_JUNIOR = ("中文", "数学", "物理", "化学", "英语", "政治教育", "体育")
PRESIDENTS = ((1958, "郑启明"), (1979, "沈文澜"), (1985, "陈立德"), (1996, "周文博"),
              (2005, "吴启航"), (2015, "孙建国"), (2023, "林知远"))


def _key(number):
    return identity.certificate_key(number) if number else None


def school_name(year: int) -> str:
    return next(name for name, start, end in SCHOOL_HISTORY if start <= year <= end)


def president(year: int) -> str:
    return [name for start, name in PRESIDENTS if start <= year][-1]


@dataclass
class _Person:
    name: str
    gender: str
    birth: datetime.date
    ethnicity: str
    area: str
    id_number: str
    legacy: bool = False


@dataclass
class _Row:
    kind: str
    values: dict
    photo: str | None = None      # initials: this record gets a placeholder photo


class _Generator:
    def __init__(self, rng: random.Random):
        self.rng = rng
        self.rows: list[_Row] = []
        self.ids = {person.id_number for person in DEMO_PEOPLE}
        self.names = {person.name for person in DEMO_PEOPLE}
        self.counters = {}
        self.used = {ZHANG_WEI_OLD_DIPLOMA["certificate_number"],
                     ZHANG_WEI_OLD_DIPLOMA["school_number"]}

    # --- numbers ----------------------------------------------------------------

    def _next(self, key, start=(1, 300), step=(1, 25)) -> int:
        number = self.counters.get(key) or self.rng.randint(*start)
        self.counters[key] = number + self.rng.randint(*step)
        return number

    def diploma_number(self, year, category, level) -> str:
        prefix = f"{SCHOOL_CODE}{DIPLOMA_TYPE_CODES[category]}{year}{DIPLOMA_LEVEL_CODES[level]}"
        width = 5 if year == 2001 else 6
        return f"{prefix}{self._next(('diploma', prefix)):0{width}d}"

    def degree_number(self, year, degree) -> str:
        prefix = f"{SCHOOL_CODE}{DEGREE_LEVEL_CODES[degree[-2:]]}{year}"
        return f"{prefix}{self._next(('degree', prefix)):06d}"

    def candidate_number(self, year, area, level) -> str:
        if level == "硕士研究生":
            prefix = f"{SCHOOL_CODE}{year % 100:02d}{area[:2]}"
        else:
            prefix = f"{year % 100:02d}{area}"
        return f"{prefix}{self._next(('candidate', prefix), (100, 9000), (1, 60)):06d}"

    def student_number(self, year, level_code, department) -> str:
        depts = sorted({d for d, *_ in UNDERGRAD} | {d for d, *_ in MASTER} | {"继续教育学院"})
        prefix = f"{year}{level_code}{depts.index(department) + 1:02d}"
        return f"{prefix}{self._next(('student', prefix), (1, 40), (1, 4)):04d}"

    def old_numbers(self):
        """A pre-2001 diploma: school number, printed serial, or both."""
        which = self.rng.choice(("school", "serial", "both", "both"))
        school = serial = None
        if which in ("school", "both"):
            while school is None or school in self.used:
                school = str(self.rng.randint(400000, 999999))
            self.used.add(school)
        if which in ("serial", "both"):
            serial = f"00{self._next('printed', (300100, 300200), (1, 900)):06d}"
        return serial, school

    # --- people -----------------------------------------------------------------

    def person(self, born_from, born_to, *, name=None, gender=None, ethnicity=None,
               legacy=False) -> _Person:
        rng = self.rng
        if ethnicity is None:
            groups = list(ETHNIC)
            ethnicity = rng.choices(groups, weights=[ETHNIC[g][0] for g in groups])[0]
        gender = gender or rng.choice(("男", "女"))
        tries = 0
        while name is None or name in self.names:
            # Few minority names to draw from: fall back to a Han-style name.
            name = self._name(ethnicity if tries < 20 else "汉族", gender)
            tries += 1
        self.names.add(name)
        area = rng.choice(ETHNIC[ethnicity][1])
        birth = datetime.date(rng.randint(born_from, born_to), 1, 1) + datetime.timedelta(
            days=rng.randint(0, 364))
        while True:
            sequence = rng.randrange(1 if gender == "男" else 2, 999, 2)
            number = resident_id(area, birth, sequence)
            if number not in self.ids:
                break
        self.ids.add(number)
        legacy = legacy and birth.year < 1990
        if legacy:      # the source had the 15-digit form; store it as the importer does
            number = identity.upgrade_legacy_id(legacy_id(area, birth, sequence))
        return _Person(name, gender, birth, ethnicity, area, number, legacy)

    def _name(self, ethnicity, gender) -> str:
        rng = self.rng
        if ethnicity == "维吾尔族":
            own = rng.choice(UYGHUR_MALE if gender == "男" else UYGHUR_FEMALE)
            return f"{own}·{rng.choice(UYGHUR_FATHERS)}"
        if ethnicity == "藏族":
            return rng.choice([n for n, g in TIBETAN if g == gender])
        if ethnicity == "蒙古族" and rng.random() < 0.5:
            return rng.choice([n for n, g in MONGOLIAN if g == gender])
        surname = rng.choice(COMPOUND_SURNAMES) if rng.random() < 0.02 else rng.choice(SURNAMES)
        chars = MALE_CHARS if gender == "男" else FEMALE_CHARS
        given = "".join(rng.choice(chars) for _ in range(1 if rng.random() < 0.3 else 2))
        return surname + given

    def _who(self, person, with_id=True, gender=True, birth=True) -> dict:
        values = dict(name=person.name, id_type=identity.RESIDENT_ID,
                      id_number=person.id_number if with_id else None)
        if gender:
            values["gender"] = person.gender
        if birth:
            values["birth_date"] = person.birth
        return values

    # --- records ------------------------------------------------------------------

    def add(self, kind, values, photo=None):
        self.rows.append(_Row(kind, values, photo))

    def admission(self, person, year, major, level, batch):
        self.add("admission", dict(
            self._who(person, gender=False, birth=False),
            candidate_number=self.candidate_number(year, person.area, level),
            year=year, batch=batch, major=major, level=level))

    def enrollment(self, person, *, year, level, department, class_name, major, duration,
                   mode, category, status, photo=None, legacy_source=False):
        level_code = {"本科": "1", "专科": "2", "硕士研究生": "3"}[level]
        if category == "成人高等教育":
            level_code = "5"
        elif category == "网络教育":
            level_code = "7"
        finish = year + duration
        values = dict(self._who(person), ethnicity=person.ethnicity,
                      school_name=school_name(min(finish, THIS_YEAR)), level=level,
                      department=department, class_name=class_name, major=major,
                      student_number=self.student_number(year, level_code, department),
                      study_mode=mode, admission_date=datetime.date(year, 9, 1),
                      duration=str(duration), education_category=category, status=status,
                      expected_graduation=datetime.date(finish, 6, 30))
        self.add("enrollment", values, photo)

    def diploma(self, person, *, year, level, major, duration, mode, category, completion="毕业",
                on=None, with_id=True, photo=None, numbers=None):
        graduated = on or datetime.date(year, 6, 30 if year >= 2000 else 28)
        if numbers is None:
            numbers = ((self.diploma_number(graduated.year, category, level), None)
                       if graduated.year >= 2001 else self.old_numbers())
        certificate, school_number = numbers
        values = dict(self._who(person, with_id=with_id), school_name=school_name(graduated.year),
                      level=level, major=major, duration=str(duration), study_mode=mode,
                      education_category=category,
                      admission_date=datetime.date(year - duration, 9, 1),
                      graduation_date=graduated, completion=completion,
                      certificate_number=certificate, school_number=school_number,
                      president=president(graduated.year),
                      certificate_key=_key(certificate), school_number_key=_key(school_number))
        self.add("diploma", values, photo)

    def degree(self, person, *, year, degree, discipline, with_id=True):
        if year < 2012 and degree == "艺术学学士":
            degree = "文学学士"
        number = self.degree_number(year, degree)
        self.add("degree", dict(
            self._who(person, with_id=with_id), awarding_unit=school_name(year), degree=degree,
            discipline=discipline, award_date=datetime.date(year, 6, 30 if year >= 2000 else 28),
            certificate_number=number, certificate_key=identity.certificate_key(number)))

    def aid(self, person, school_year, program, amount, paid_on):
        self.add("aid", dict(self._who(person, gender=False, birth=False),
                             school_year=f"{school_year}-{school_year + 1}", program=program,
                             amount=Decimal(amount), paid_on=paid_on))

    def random_aid(self, person, first_year, years, graduate=False, needy=0.4):
        """National aid for full-time students since the 2007 reform."""
        rng = self.rng
        if first_year < 2007 or rng.random() > needy:
            return
        for index in range(years):
            year = first_year + index
            if year > THIS_YEAR:
                break
            current = year == THIS_YEAR
            if rng.random() < 0.5:
                amount = 6000 if graduate else rng.choice(
                    (2000, 3000, 4000) if year < 2019 else (2300, 3300, 4300) if year < 2024
                    else (2700, 3700, 4700))
                self.aid(person, year, "国家助学金", amount,
                         datetime.date(year, 10, rng.randint(10, 25)))
            if rng.random() < 0.25:
                cap = ((6000, 8000, 12000, 20000) if not graduate
                       else (12000, 12000, 16000, 25000))[
                    (year >= 2014) + (year >= 2021) + (year >= 2024)]
                self.aid(person, year, "国家助学贷款", cap,
                         datetime.date(year, 10, rng.randint(26, 31)))
            if not current and not graduate and index and rng.random() < 0.12:
                self.aid(person, year, "国家励志奖学金", 5000 if year < 2024 else 6000,
                         datetime.date(year, 12, rng.randint(5, 25)))
            if not current and rng.random() < 0.15:
                self.aid(person, year, "勤工助学", rng.randrange(600, 3100, 100),
                         datetime.date(year + 1, 6, rng.randint(10, 28)))

    # --- stories ------------------------------------------------------------------

    def undergraduate(self, person, year, *, status="不在籍（毕业）", degree_chance=0.92):
        rng = self.rng
        department, major, abbr, degree, _ = rng.choice(
            [entry for entry in UNDERGRAD if entry[4] <= year])
        finish = year + 4
        class_name = f"{abbr}{year % 100:02d}{rng.randint(1, 4):02d}班"
        batch = rng.choice(("本科一批", "本科二批", "本科二批", "提前批") if year < 2017
                           else ("本科批", "本科一批", "本科二批", "提前批"))
        self.admission(person, year, major, "本科", batch)
        self.enrollment(person, year=year, level="本科", department=department,
                        class_name=class_name, major=major, duration=4, mode="普通全日制",
                        category="普通高等教育", status=status)
        if status == "不在籍（毕业）":
            self.diploma(person, year=finish, level="本科", major=major, duration=4,
                         mode="普通全日制", category="普通高等教育")
            if rng.random() < degree_chance:
                self.degree(person, year=finish, degree=degree, discipline=major)
        self.random_aid(person, year, min(4, THIS_YEAR - year + 1))

    def junior(self, person, year, *, completion="毕业"):
        rng = self.rng
        department, major, abbr = rng.choice(JUNIOR)
        finish = year + 3
        status = "不在籍（毕业）" if completion == "毕业" else "不在籍（结业）"
        self.admission(person, year, major, "专科", "专科批")
        self.enrollment(person, year=year, level="专科", department=department,
                        class_name=f"{abbr}{year % 100:02d}{rng.randint(1, 3):02d}班", major=major,
                        duration=3, mode="普通全日制", category="普通高等教育", status=status)
        self.diploma(person, year=finish, level="专科", major=major, duration=3,
                     mode="普通全日制", category="普通高等教育", completion=completion)
        self.random_aid(person, year, 3)

    def master(self, person, year, *, current=False, part_time=False):
        rng = self.rng
        choices = [m for m in MASTER if m[2].endswith("硕士") and (not part_time or m[3] in
                                                                 ("MPA", "MPAcc", "语文"))]
        department, major, degree, abbr = rng.choice(choices)
        finish = year + 3
        mode = "非全日制" if part_time else "普通全日制"
        status = "在籍（注册学籍）" if current else "不在籍（毕业）"
        self.admission(person, year, major, "硕士研究生",
                       rng.choice(("全国硕士研究生统一招生考试",) * 3 + ("推荐免试",)))
        self.enrollment(person, year=year, level="硕士研究生", department=department,
                        class_name=f"{abbr}{year}-{rng.randint(1, 2)}班", major=major,
                        duration=3, mode=mode, category="普通高等教育", status=status)
        if not current:
            self.diploma(person, year=finish, level="硕士研究生", major=major, duration=3,
                         mode=mode, category="普通高等教育")
            self.degree(person, year=finish, degree=degree, discipline=major)
        if not part_time:
            self.random_aid(person, year, min(3, THIS_YEAR - year + 1), graduate=True, needy=0.5)

    def adult(self, person, year):
        """成人高等教育 (函授/业余), 网络教育 or 自学考试 (diploma only) 本科."""
        rng = self.rng
        department, major, degree = rng.choice(ADULT)
        category = rng.choice(("成人高等教育", "成人高等教育", "网络教育", "高等教育自学考试"))
        mode = {"成人高等教育": rng.choice(("函授", "业余")), "网络教育": "网络教育",
                "高等教育自学考试": None}[category]
        finish = year + 3
        if category != "高等教育自学考试":
            self.admission(person, year, major, "本科",
                           "成人高考（专升本）" if category == "成人高等教育" else "网络教育入学考试")
            self.enrollment(person, year=year, level="本科", department=department,
                            class_name=f"{major}{year % 100:02d}级{mode}班", major=major,
                            duration=3, mode=mode, category=category, status="不在籍（毕业）")
        self.diploma(person, year=finish, level="本科", major=major, duration=3, mode=mode,
                     category=category)

    def old_graduate(self, person, finish):
        """Graduated before 2002: a diploma (often without ID number), maybe a degree."""
        rng = self.rng
        with_id = person.legacy or rng.random() < 0.3 if finish >= 1991 else rng.random() < 0.2
        if finish <= 1984 or rng.random() < 0.35:
            level, major, degree, duration = "专科", rng.choice(OLD_JUNIOR), None, 3
        else:
            (major, degree), level, duration = rng.choice(OLD_UNDERGRAD), "本科", 4
        self.diploma(person, year=finish, level=level, major=major, duration=duration,
                     mode="普通全日制", category="普通高等教育", with_id=with_id)
        if degree and finish >= 1985 and rng.random() < 0.6:
            self.degree(person, year=finish, degree=degree, discipline=major, with_id=with_id)

    # --- the data set ---------------------------------------------------------------

    def demo_people(self):
        li = _Person(LI_HUA.name, "女", LI_HUA.birth_date, "汉族", "420106", LI_HUA.id_number)
        self.admission(li, 2016, "汉语言文学", "本科", "本科一批")
        self.enrollment(li, year=2016, level="本科", department="文学院", class_name="汉文1602班",
                        major="汉语言文学", duration=4, mode="普通全日制", category="普通高等教育",
                        status="不在籍（毕业）", photo=LI_HUA.initials)
        self.diploma(li, year=2020, level="本科", major="汉语言文学", duration=4, mode="普通全日制",
                     category="普通高等教育", photo=LI_HUA.initials)
        self.degree(li, year=2020, degree="文学学士", discipline="汉语言文学")
        self.aid(li, 2016, "国家助学金", 3000, datetime.date(2016, 10, 20))
        self.aid(li, 2017, "国家助学金", 3000, datetime.date(2017, 10, 18))
        self.aid(li, 2017, "勤工助学", 1200, datetime.date(2018, 6, 22))
        self.aid(li, 2018, "国家励志奖学金", 5000, datetime.date(2018, 12, 14))

        zhang = _Person(ZHANG_WEI.name, "男", ZHANG_WEI.birth_date, "汉族", "320102",
                        ZHANG_WEI.id_number)
        old = ZHANG_WEI_OLD_DIPLOMA
        self.diploma(zhang, year=1994, level="本科", major="机械设计与制造", duration=4,
                     mode="普通全日制", category="普通高等教育", with_id=False,
                     on=datetime.date(1994, 7, 1), photo=ZHANG_WEI.initials,
                     numbers=(old["certificate_number"], old["school_number"]))
        self.enrollment(zhang, year=2002, level="本科", department="继续教育学院",
                        class_name="机械设计制造及其自动化02级业余班",
                        major="机械设计制造及其自动化", duration=3, mode="业余",
                        category="成人高等教育", status="不在籍（毕业）", photo=ZHANG_WEI.initials)
        self.diploma(zhang, year=2005, level="本科", major="机械设计制造及其自动化", duration=3,
                     mode="业余", category="成人高等教育", photo=ZHANG_WEI.initials)

        # His 1999-2002 records came with the 15-digit ID; stored upgraded.
        mai = _Person(MAIMAITI.name, "男", MAIMAITI.birth_date, "维吾尔族", "653101",
                      identity.upgrade_legacy_id(MAIMAITI.legacy_id_number), legacy=True)
        self.enrollment(mai, year=1999, level="专科", department="计算机学院",
                        class_name="计应9901班", major="计算机应用技术", duration=3,
                        mode="普通全日制", category="普通高等教育", status="不在籍（毕业）",
                        photo=MAIMAITI.initials)
        self.diploma(mai, year=2002, level="专科", major="计算机应用技术", duration=3,
                     mode="普通全日制", category="普通高等教育", photo=MAIMAITI.initials)
        self.admission(mai, 2025, "公共管理", "硕士研究生", "全国硕士研究生统一招生考试")
        self.enrollment(mai, year=2025, level="硕士研究生", department="公共管理学院",
                        class_name="MPA2025-2班", major="公共管理", duration=3, mode="非全日制",
                        category="普通高等教育", status="在籍（注册学籍）", photo=MAIMAITI.initials)

    def crowd(self):
        rng = self.rng
        forced = list(RARE_NAMES) + [("阿依古丽·吐尔逊", "女", "维吾尔族"),
                                     ("艾尔肯·买买提", "男", "维吾尔族")]

        def someone(born_from, born_to, **kwargs):
            if forced and "name" not in kwargs:
                name, gender, ethnicity = forced.pop(0)
                kwargs.update(name=name, gender=gender, ethnicity=ethnicity)
            return self.person(born_from, born_to, **kwargs)

        for _ in range(112):                              # 本科 graduates 2004-2026
            year = rng.randint(2000, THIS_YEAR - 4)
            self.undergraduate(someone(year - 19, year - 17), year)
        statuses = (["在籍（注册学籍）"] * 70 + ["休学"] * 4 + ["保留学籍"] * 2 + ["退学"] * 3)
        for status in statuses:                          # 本科 students now
            year = rng.randint(THIS_YEAR - 3, THIS_YEAR)
            self.undergraduate(someone(year - 19, year - 17), year, status=status)
        for index in range(30):                          # 专科 2003-2018, one 结业
            year = rng.randint(2000, 2015)
            self.junior(someone(year - 20, year - 17), year,
                        completion="结业" if index == 7 else "毕业")
        for _ in range(30):                              # 硕士 graduates
            year = rng.randint(2003, THIS_YEAR - 3)
            self.master(someone(year - 26, year - 22), year, part_time=rng.random() < 0.2)
        for _ in range(16):                              # 硕士 students now
            year = rng.randint(THIS_YEAR - 2, THIS_YEAR)
            self.master(someone(year - 30, year - 22), year, current=True,
                        part_time=rng.random() < 0.3)
        for _ in range(16):                              # adult, online, self-study
            year = rng.randint(2003, THIS_YEAR - 3)
            self.adult(someone(year - 35, year - 21), year)
        for leaving in (2011, 2019):                     # 肄业: left after two years
            year = leaving - 2
            person = someone(year - 19, year - 17)
            department, major, abbr, _, _ = rng.choice(UNDERGRAD[:10])
            self.admission(person, year, major, "本科", "本科二批")
            self.enrollment(person, year=year, level="本科", department=department,
                            class_name=f"{abbr}{year % 100:02d}01班", major=major, duration=4,
                            mode="普通全日制", category="普通高等教育", status="退学")
            self.diploma(person, year=year + 4, level="本科", major=major, duration=4,
                         mode="普通全日制", category="普通高等教育", completion="肄业",
                         on=datetime.date(leaving, 1, 15))
        for _ in range(6):                               # 2001: 17-digit numbers
            person = someone(1977, 1979, legacy=rng.random() < 0.5)
            department, major, abbr, degree, _ = rng.choice(
                [entry for entry in UNDERGRAD if entry[4] <= 1997])
            self.diploma(person, year=2001, level="本科", major=major, duration=4,
                         mode="普通全日制", category="普通高等教育", on=datetime.date(2001, 7, 1))
            if rng.random() < 0.6:
                self.degree(person, year=2001, degree=degree, discipline=major)
        for _ in range(32):                              # 1991-2000: old numbers
            finish = rng.randint(1991, 2000)
            self.old_graduate(someone(finish - 23, finish - 20, legacy=rng.random() < 0.5), finish)
        for _ in range(12):                              # before 1991: never offered
            finish = rng.randint(1978, 1990)
            self.old_graduate(someone(finish - 23, finish - 20, legacy=True), finish)


def build() -> list:
    """The demo rows, always the same: the three named people first, then the crowd."""
    generator = _Generator(random.Random(RANDOM_SEED))
    generator.demo_people()
    generator.crowd()
    return generator.rows


# --- photos ----------------------------------------------------------------------

PHOTO_COLORS = {"LH": (70, 110, 160), "ZW": (120, 90, 60), "MA": (60, 130, 100)}


def placeholder_photo(initials: str) -> bytes:
    """A 120x160 JPEG (3:4) of one plain colour with the initials, about 2 KB."""
    from PIL import Image, ImageDraw, ImageFont
    image = Image.new("RGB", (120, 160), PHOTO_COLORS.get(initials, (110, 110, 110)))
    draw = ImageDraw.Draw(image)
    try:
        font = ImageFont.load_default(size=40)
    except (TypeError, OSError):
        font = ImageFont.load_default()
    draw.text((60, 80), initials, fill=(255, 255, 255), font=font, anchor="mm")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=70, optimize=True)
    return out.getvalue()


def _photo_records():
    """(record, initials) for the enrollments and diplomas of the three people."""
    for person in DEMO_PEOPLE:
        for model in (Enrollment, Diploma):
            for record in model.select().where(model.id_number.matches(person.id_number)):
                if record.name == person.name:
                    yield record, person.initials
    old = Diploma.get_or_none(
        Diploma.certificate_number == ZHANG_WEI_OLD_DIPLOMA["certificate_number"])
    if old is not None:
        yield old, ZHANG_WEI.initials


def _write_photos(upload_dir) -> int:
    written = 0
    for record, initials in _photo_records():
        kind = "enrollment" if isinstance(record, Enrollment) else "diploma"
        relative = f"photos/{kind}/{record.id}.jpg"
        path = Path(upload_dir) / relative
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(placeholder_photo(initials))
            written += 1
        if record.photo != relative:
            type(record).update(photo=relative).where(type(record).id == record.id).execute()
    return written


# --- seeding ---------------------------------------------------------------------

MODELS = {"enrollment": Enrollment, "diploma": Diploma, "degree": Degree,
          "admission": Admission, "aid": Aid}


def records_present() -> bool:
    """The marker: 张伟's 1994 diploma."""
    return Diploma.select().where(
        Diploma.certificate_number == ZHANG_WEI_OLD_DIPLOMA["certificate_number"]).exists()


def seed(if_empty: bool = False, upload_dir=None) -> str:
    """Idempotent: each part (admin, records, photos) is added only when missing."""
    from services import accounts
    if if_empty and (Account.select().exists()
                     or any(model.select().exists() for model in RECORD_MODELS)):
        return "demo data skipped: the database already has accounts or records"
    done = []
    if not Account.select().where(Account.username == DEMO_ADMIN[0]).exists():
        accounts.create_or_reset_admin(*DEMO_ADMIN)
        done.append(f"admin {DEMO_ADMIN[0]} / {DEMO_ADMIN[1]}")
    if not records_present():
        counts = dict.fromkeys(MODELS, 0)
        with db.atomic():
            for row in build():
                MODELS[row.kind].create(**row.values)
                counts[row.kind] += 1
        done.append("records: " + ", ".join(f"{n} {kind}" for kind, n in counts.items()))
    if upload_dir:
        written = _write_photos(upload_dir)
        if written:
            done.append(f"{written} photos")
    return "demo data: " + (", ".join(done) if done else "already present")
