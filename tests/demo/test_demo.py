"""The demo data set: deterministic, idempotent, valid, and the three people bind."""
import datetime
import io
import re

import pytest
from PIL import Image

from models import Account, Admission, Aid, Degree, Diploma, Enrollment, RECORD_MODELS
import demo
from demo import generator
from demo.people import resident_id
from services import accounts, binding, files, identity
from tests.factories import walk_to

KINDS = {"enrollment": Enrollment, "diploma": Diploma, "degree": Degree,
         "admission": Admission, "aid": Aid}
EXPECTED = {"enrollment": (250, 350), "diploma": (200, 300), "degree": (120, 200),
            "admission": (250, 350), "aid": (250, 350)}


@pytest.fixture
def seeded(app, db):
    with app.app_context():
        demo.seed(school_names=app.config["SCHOOL_NAMES"])
    return app


def counts():
    return {key: model.select().count() for key, model in KINDS.items()}


def register(client, outbox, person):
    walk_to(client, outbox, "confirm", username=person.username, real_name=person.name,
            id_number=person.id_number, phone=person.phone)
    response = client.post("/register/confirm", data={"yes": "1"})
    assert response.status_code == 303, response.get_data(as_text=True)
    return Account.get(Account.username == person.username)


def bound_to(account):
    return {key: list(model.select().where(model.account == account))
            for key, model in KINDS.items()}


# --- the data set --------------------------------------------------------------

def test_build_is_deterministic(app):
    assert demo.build(app.config["SCHOOL_NAMES"]) == demo.build(app.config["SCHOOL_NAMES"])


def test_records_carry_the_configured_school_names():
    names = [{"name": "新名大学", "from": 2010, "until": None},
             {"name": "旧名学院", "from": 1950, "until": 2009}]
    used = {row.values.get("school_name") or row.values.get("awarding_unit")
            for row in demo.build(names) if row.kind in ("enrollment", "diploma", "degree")}
    assert used == {"新名大学", "旧名学院"}


def test_seeding_twice_adds_nothing(seeded, db):
    first = counts()
    with seeded.app_context():
        again = demo.seed(school_names=seeded.config["SCHOOL_NAMES"])
    assert again == "demo data: already present"
    assert counts() == first
    assert Account.select().where(Account.username == demo.DEMO_ADMIN[0]).count() == 1
    viewer = Account.get(Account.username == demo.DEMO_VIEWER[0])
    assert viewer.role == Account.VIEWER and not viewer.is_disabled


def test_counts_per_kind(seeded, db):
    for key, number in counts().items():
        low, high = EXPECTED[key]
        assert low <= number <= high, (key, number)


def test_if_empty_skips_a_database_with_records(app, db):
    with app.app_context():
        demo.seed(school_names=app.config["SCHOOL_NAMES"])
        Account.delete().where(Account.username.in_([demo.DEMO_ADMIN[0],
                                                     demo.DEMO_VIEWER[0]])).execute()
        assert "skipped" in demo.seed(school_names=app.config["SCHOOL_NAMES"], if_empty=True)
    assert not Account.select().exists()


def test_every_resident_id_is_valid_and_consistent(seeded, db):
    people = {}
    for model in RECORD_MODELS:
        for record in model.select():
            if record.id_number is None:
                continue
            assert identity.normalize_resident_id(record.id_number) == record.id_number
            gender = getattr(record, "gender", None)
            birth = getattr(record, "birth_date", None)
            if gender:
                assert identity.gender_of(record.id_number) == gender, record.name
            if birth:
                assert identity.birth_date_of(record.id_number) == birth, record.name
            people.setdefault(record.id_number, set()).add(record.name)
    assert all(len(names) == 1 for names in people.values())   # one ID, one person
    assert len(people) >= 250
    # Records without an ID number carry the birth date instead.
    for record in Diploma.select().where(Diploma.id_number.is_null()):
        assert record.birth_date and record.gender


def test_certificate_and_candidate_numbers(seeded, db):
    for record in Diploma.select():
        year = record.graduation_date.year
        if year >= 2001:
            number = record.certificate_number
            assert identity.certificate_problem(number, year) is None, (number, year)
            assert len(number) == (17 if year == 2001 else 18)
            assert number.startswith(generator.SCHOOL_CODE)
            assert identity.CERTIFICATE_TYPES[number[5]] == record.education_category
            assert identity.CERTIFICATE_LEVELS[number[10:12]] == record.level
            assert record.school_number is None
        else:
            assert record.certificate_number or record.school_number
        for attr, key in (("certificate_number", "certificate_key"),
                          ("school_number", "school_number_key")):
            value = getattr(record, attr)
            assert getattr(record, key) == (identity.certificate_key(value) if value else None)
    for record in Degree.select():
        assert re.fullmatch(rf"{generator.SCHOOL_CODE}[234]{record.award_date.year}\d{{6}}",
                            record.certificate_number)
        assert record.certificate_key == record.certificate_number
    for record in Admission.select():
        pattern = (rf"{generator.SCHOOL_CODE}{record.year % 100:02d}\d{{8}}" if record.level == "硕士研究生"
                   else rf"{record.year % 100:02d}\d{{12}}")
        assert re.fullmatch(pattern, record.candidate_number)


def test_dates_levels_and_school_names_fit(seeded, db):
    durations = {"本科": {"4", "3"}, "专科": {"3"}, "硕士研究生": {"3"}}
    for record in Enrollment.select():
        assert record.admission_date < record.expected_graduation
        assert record.expected_graduation.year - record.admission_date.year == int(record.duration)
        assert record.duration in durations[record.level]
        if record.study_mode == "普通全日制" and record.level == "本科":
            assert record.duration == "4"
        age = record.admission_date.year - record.birth_date.year
        assert 15 <= age <= 50, (record.name, age)   # part-time masters start late
    for record in Diploma.select():
        year = record.graduation_date.year
        assert record.admission_date < record.graduation_date
        assert record.school_name == generator.school_name(year, seeded.config["SCHOOL_NAMES"])
        assert 19 <= year - record.birth_date.year <= 45
    for record in Degree.select():
        assert record.awarding_unit == generator.school_name(record.award_date.year,
                                                             seeded.config["SCHOOL_NAMES"])
    for record in Aid.select():
        start = int(record.school_year[:4])
        assert record.school_year == f"{start}-{start + 1}"
        assert datetime.date(start, 9, 1) <= record.paid_on <= datetime.date(start + 1, 8, 31)
        assert record.program in ("国家助学金", "国家励志奖学金", "国家助学贷款", "勤工助学")
        assert 0 < record.amount <= 25000


def test_the_hard_cases_are_there(seeded, db):
    old = Diploma.select().where(Diploma.graduation_date < datetime.date(2001, 1, 1))
    assert any(d.school_number and d.certificate_number and d.id_number is None for d in old)
    assert any(d.school_number and not d.certificate_number for d in old)
    assert any(d.certificate_number and not d.school_number for d in old)
    assert any(d.certificate_number.startswith("00") for d in old if d.certificate_number)
    assert Diploma.select().where(Diploma.graduation_date < datetime.date(1991, 1, 1)).count() >= 5
    assert {"示范学院", "示范师范专科学校"} <= {d.school_name for d in Diploma.select()}
    assert {"结业", "肄业"} <= {d.completion for d in Diploma.select()}
    assert {"休学", "退学", "保留学籍", "在籍（注册学籍）", "不在籍（结业）"} <= {
        e.status for e in Enrollment.select()}
    names = {r.name for model in RECORD_MODELS for r in model.select()}
    assert {"王𠮷", "陈䶮", "阿依古丽·吐尔逊", "买买提·艾力"} <= names
    # The 15-digit source number, stored upgraded: both forms are one person.
    mai = Diploma.get(Diploma.name == demo.MAIMAITI.name)
    assert mai.id_number == identity.upgrade_legacy_id(demo.MAIMAITI.legacy_id_number)
    assert identity.normalize_resident_id(demo.MAIMAITI.legacy_id_number) == mai.id_number


def test_photos_of_the_three_people(seeded, db):
    with_photo = [r for model in (Enrollment, Diploma)
                  for r in model.select().where(model.photo.is_null(False))]
    assert {r.name for r in with_photo} == {p.name for p in demo.DEMO_PEOPLE}
    assert len(with_photo) == 8
    for record in with_photo:
        kind = "enrollment" if isinstance(record, Enrollment) else "diploma"
        assert record.photo == f"photos/{kind}/{record.id}.jpg"
        data = files.read(record.photo)
        assert len(data) < 5000
        with Image.open(io.BytesIO(data)) as image:
            assert image.format == "JPEG" and image.size == (120, 160)


# --- the three people ------------------------------------------------------------

@pytest.mark.parametrize("person", demo.DEMO_PEOPLE, ids=lambda p: p.username)
def test_demo_person_registers_and_auto_binds(seeded, client, db, outbox, person):
    assert identity.normalize_resident_id(person.id_number) == person.id_number
    assert identity.gender_of(person.id_number) == person.gender
    assert identity.birth_date_of(person.id_number) == person.birth_date
    account = register(client, outbox, person)
    assert account.real_name == person.name and account.id_number == person.id_number
    binding.auto_bind(account, since_year=1991)
    bound = bound_to(account)
    assert {key: len(rows) for key, rows in bound.items() if rows} == person.auto_binds
    for key, model in KINDS.items():
        mine = model.select().where(model.id_number.matches(person.id_number))
        assert {r.id for r in mine} == {r.id for r in bound[key]}
    assert all(r.bound_by == "auto" for rows in bound.values() for r in rows)


def test_li_hua_is_a_recent_graduate(seeded, client, db, outbox):
    account = register(client, outbox, demo.LI_HUA)
    binding.auto_bind(account, since_year=1991)
    bound = bound_to(account)
    assert bound["enrollment"][0].status == "不在籍（毕业）"
    assert bound["diploma"][0].graduation_date.year == 2020 and bound["diploma"][0].level == "本科"
    assert bound["degree"][0].degree.endswith("学士") and bound["degree"][0].award_date.year == 2020
    assert bound["admission"][0].year == 2016
    assert {a.program for a in bound["aid"]} >= {"国家助学金", "国家励志奖学金"}


def test_maimaiti_is_a_current_part_time_master(seeded, client, db, outbox):
    account = register(client, outbox, demo.MAIMAITI)
    binding.auto_bind(account, since_year=1991)
    enrollments = {e.status: e for e in bound_to(account)["enrollment"]}
    current = enrollments["在籍（注册学籍）"]
    assert current.level == "硕士研究生" and current.study_mode == "非全日制"
    assert enrollments["不在籍（毕业）"].school_name == "示范学院"


@pytest.mark.parametrize("number, school", [
    ("NO.00298959", "示范学院"), ("982456", "示范学院"),
    ("00298959", "示范大学"), ("298959", "示范学院")])
def test_zhang_wei_binds_his_1994_diploma_by_certificate(seeded, client, db, outbox,
                                                         number, school):
    account = register(client, outbox, demo.ZHANG_WEI)
    binding.auto_bind(account, since_year=1991)
    assert [d.graduation_date.year for d in bound_to(account)["diploma"]] == [2005]
    record = binding.bind_by_certificate(account, "diploma", number, 1994, school,
                                         config=seeded.config)
    assert record.certificate_number == demo.ZHANG_WEI_OLD_DIPLOMA["certificate_number"]
    assert record.school_number == demo.ZHANG_WEI_OLD_DIPLOMA["school_number"]
    assert record.id_number is None and record.school_name == "示范学院"
    assert Diploma.get_by_id(record.id).account_id == account.id
    assert Diploma.get_by_id(record.id).bound_by == "certificate"


def test_zhang_wei_needs_the_right_year(seeded, client, db, outbox):
    account = register(client, outbox, demo.ZHANG_WEI)
    with pytest.raises(binding.BindingError):
        binding.bind_by_certificate(account, "diploma", "982456", 1995, "示范学院",
                                    config=seeded.config)


def test_diplomas_before_1991_are_never_offered(seeded, db):
    old = list(Diploma.select().where(Diploma.graduation_date < datetime.date(1991, 1, 1)))
    assert old
    for n, record in enumerate(old):
        id_number = record.id_number or resident_id(
            "110105", record.birth_date, 2 * n + (1 if record.gender == "男" else 2))
        with seeded.app_context():
            account = accounts.create_student(
                username=f"old{n}@example.edu.cn", real_name=record.name, id_type="居民身份证",
                id_number=id_number, phone=f"1390000{n:04d}", password_hash="x")
        assert binding.matches_account(record, account)       # it is theirs ...
        binding.auto_bind(account, since_year=1991)
        number = record.certificate_number or record.school_number
        with pytest.raises(binding.BindingError):              # ... but not offered
            binding.bind_by_certificate(account, "diploma", number, record.graduation_date.year,
                                        record.school_name, config=seeded.config)
        assert Diploma.get_by_id(record.id).account_id is None
    for record in Degree.select().where(Degree.award_date < datetime.date(1991, 1, 1)):
        assert Degree.get_by_id(record.id).account_id is None


def test_maimaiti_may_type_his_old_15_digit_number(seeded, client, db, outbox):
    person = demo.MAIMAITI
    walk_to(client, outbox, "confirm", username=person.username, real_name=person.name,
            id_number=person.legacy_id_number, phone=person.phone)
    assert client.post("/register/confirm", data={"yes": "1"}).status_code == 303
    account = Account.get(Account.username == demo.MAIMAITI.username)
    assert account.id_number == demo.MAIMAITI.id_number
    binding.auto_bind(account, since_year=1991)
    assert sum(map(len, bound_to(account).values())) == sum(demo.MAIMAITI.auto_binds.values())
