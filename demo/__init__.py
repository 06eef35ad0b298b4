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
管理员 account `DEMO_ADMIN` and the 查询员 `DEMO_VIEWER`. Nobody in here is a real person.

The package: people (the three and the staff), vocabulary (names, majors),
generator (numbers and one record of each kind), stories (the data set),
photos (placeholders for the three). Demo data are no domain rule: services
never import this package.
"""
from demo import photos
from demo.people import (DEMO_ADMIN, DEMO_PEOPLE, DEMO_VIEWER, LI_HUA, MAIMAITI, ZHANG_WEI,
                         ZHANG_WEI_OLD_DIPLOMA)
from demo.stories import build
from models import RECORD_MODELS, Account, Diploma, db
from services import accounts, staff_accounts
from services.columns import KINDS

__all__ = ["seed", "build", "DEMO_ADMIN", "DEMO_VIEWER", "DEMO_PEOPLE", "LI_HUA", "MAIMAITI",
           "ZHANG_WEI", "ZHANG_WEI_OLD_DIPLOMA"]


def records_present() -> bool:
    """The marker: 张伟's 1994 diploma."""
    return Diploma.select().where(
        Diploma.certificate_number == ZHANG_WEI_OLD_DIPLOMA["certificate_number"]).exists()


def seed(*, school_names: list, if_empty: bool = False, with_photos: bool = True) -> str:
    """Idempotent: each part (admin, records, photos) is added only when missing.

    `school_names` is the configured SCHOOL_NAMES: old records carry the name
    the school had then.
    """
    if if_empty and (Account.select().exists()
                     or any(model.select().exists() for model in RECORD_MODELS)):
        return "demo data skipped: the database already has accounts or records"
    done = []
    if not Account.select().where(Account.username == DEMO_ADMIN[0]).exists():
        accounts.create_or_reset_admin(*DEMO_ADMIN)
        done.append(f"admin {DEMO_ADMIN[0]} / {DEMO_ADMIN[1]}")
    if not Account.select().where(Account.username == DEMO_VIEWER[0]).exists():
        staff_accounts.create(DEMO_VIEWER[0], Account.VIEWER, DEMO_VIEWER[1], actor=None)
        done.append(f"viewer {DEMO_VIEWER[0]} / {DEMO_VIEWER[1]}")
    if not records_present():
        counts = dict.fromkeys(KINDS, 0)
        with db.atomic():
            for row in build(school_names):
                KINDS[row.kind].model.create(**row.values)
                counts[row.kind] += 1
        done.append("records: " + ", ".join(f"{n} {kind}" for kind, n in counts.items()))
    if with_photos:
        written = photos.write()
        if written:
            done.append(f"{written} photos")
    return "demo data: " + (", ".join(done) if done else "already present")
