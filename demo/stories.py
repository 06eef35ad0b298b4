"""The data set: life stories (an undergraduate's admission, enrollment, diploma,
degree and aid; a junior college student's; a master's; adult and online
study; graduates before 2002) told for the three named people and a crowd.
"""
import datetime
import random

from demo.generator import THIS_YEAR, Generator, Person
from demo.people import LI_HUA, MAIMAITI, ZHANG_WEI, ZHANG_WEI_OLD_DIPLOMA
from demo.vocabulary import ADULT, JUNIOR, MASTER, OLD_JUNIOR, OLD_UNDERGRAD, RARE_NAMES, UNDERGRAD
from services import identity

RANDOM_SEED = 20260901


class Stories(Generator):
    """A Generator that tells whole stories, each a few records of one person."""

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
        li = Person(LI_HUA.name, "女", LI_HUA.birth_date, "汉族", "420106", LI_HUA.id_number)
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

        zhang = Person(ZHANG_WEI.name, "男", ZHANG_WEI.birth_date, "汉族", "320102",
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
        mai = Person(MAIMAITI.name, "男", MAIMAITI.birth_date, "维吾尔族", "653101",
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


def build(school_names: list) -> list:
    """The demo rows, always the same: the three named people first, then the crowd."""
    stories = Stories(random.Random(RANDOM_SEED), school_names)  # nosec B311 # demo data must be the same every time
    stories.demo_people()
    stories.crowd()
    return stories.rows
