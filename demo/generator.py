"""The records of the invented school, one at a time: its numbering schemes
(student, candidate, diploma and degree numbers), its people, and one record
of each kind, under the school's name of the year.
"""
import datetime
import random
from dataclasses import dataclass
from decimal import Decimal

from demo.people import DEMO_PEOPLE, ZHANG_WEI_OLD_DIPLOMA, legacy_id, resident_id
from demo.vocabulary import (COMPOUND_SURNAMES, ETHNIC, FEMALE_CHARS, MALE_CHARS, MASTER,
                             MONGOLIAN, PRESIDENTS, SURNAMES, TIBETAN, UNDERGRAD, UYGHUR_FATHERS,
                             UYGHUR_FEMALE, UYGHUR_MALE)
from services import identity
from services.columns import GENDERS

SCHOOL_CODE = "10999"
# The data describe the school in the 2026-2027 school year, whatever today is.
THIS_YEAR = 2026
DIPLOMA_LEVEL_CODES = {level: code for code, level in identity.CERTIFICATE_LEVELS.items()}
DIPLOMA_TYPE_CODES = {category: code for code, category in identity.CERTIFICATE_TYPES.items()}
DEGREE_LEVEL_CODES = {"博士": "2", "硕士": "3", "学士": "4"}


def _key(number):
    return identity.certificate_key(number) if number else None


def school_name(year: int, school_names: list) -> str:
    """The school's name that year, from the configured SCHOOL_NAMES (current name first)."""
    return next((entry["name"] for entry in school_names
                 if entry.get("from", 0) <= year <= (entry.get("until") or 9999)),
                school_names[0]["name"])


def president(year: int) -> str:
    return [name for start, name in PRESIDENTS if start <= year][-1]


@dataclass
class Person:
    name: str
    gender: str
    birth: datetime.date
    ethnicity: str
    area: str
    id_number: str
    legacy: bool = False


@dataclass
class Row:
    kind: str
    values: dict
    photo: str | None = None      # initials: this record gets a placeholder photo


class Generator:
    """Collects rows; every random choice comes from `rng`, in a fixed order."""

    def __init__(self, rng: random.Random, school_names: list):
        self.rng = rng
        self.school_names = school_names
        self.rows: list[Row] = []
        self.ids = {person.id_number for person in DEMO_PEOPLE}
        self.names = {person.name for person in DEMO_PEOPLE}
        self.counters = {}
        self.used = {ZHANG_WEI_OLD_DIPLOMA["certificate_number"],
                     ZHANG_WEI_OLD_DIPLOMA["school_number"]}

    def school_name(self, year: int) -> str:
        return school_name(year, self.school_names)

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
               legacy=False) -> Person:
        rng = self.rng
        if ethnicity is None:
            groups = list(ETHNIC)
            ethnicity = rng.choices(groups, weights=[ETHNIC[g][0] for g in groups])[0]
        gender = gender or rng.choice(GENDERS)
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
        return Person(name, gender, birth, ethnicity, area, number, legacy)

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
        self.rows.append(Row(kind, values, photo))

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
                      school_name=self.school_name(min(finish, THIS_YEAR)), level=level,
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
        values = dict(self._who(person, with_id=with_id),
                      school_name=self.school_name(graduated.year),
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
            self._who(person, with_id=with_id), awarding_unit=self.school_name(year), degree=degree,
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
