"""The three invented people to try the portal with (listed in README.md), and the
staff accounts of the demo installation (a 管理员 and a 查询员). None of them is registered.
"""
import datetime
from dataclasses import dataclass, field

from services import identity

DEMO_ADMIN = ("registrar", "Demo-2026-office")
# A 查询员 (front desk): looks people and records up, changes nothing.
DEMO_VIEWER = ("frontdesk", "Demo-2026-lookup")


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

