"""公开查询: anyone holding a diploma's 证书编号 and the graduate's name may check that
the school issued it, without a report and without an account.

The answer is deliberately thin. A match shows five fields (school, 层次, 专业,
毕(结)业日期, 毕(结)业) and nothing else: no ID number, birth date, photo or name
beyond what was typed. Every other outcome — an unknown number, a wrong name, a
withdrawn record, an owner who switched public checks off — is the same "not found",
so the page cannot be used to learn which of those it was. Each match is logged
(PublicCheck) and the diploma's owner sees the checks made while it was theirs.
"""
import datetime
import ipaddress
from dataclasses import dataclass

from peewee import JOIN

from models import Account, Diploma, PublicCheck, db
from services import audit, identity, values
from services.columns import KINDS

# What a match shows, in this order; everything else on the record stays hidden.
SHOWN = ("school_name", "level", "major", "graduation_date", "completion")
# How many checks the owner's list shows (newest first).
LIST_LIMIT = 100


@dataclass(frozen=True)
class Found:
    """A diploma that matched: its shown fields as report fields ({"zh", "en",
    "value", "value_en"}, services.values) for the bilingual result page."""
    fields: list


@dataclass(frozen=True)
class Check:
    """One public check, for the diploma's owner."""
    at: datetime.datetime
    ip: str
    major: str
    graduation_date: datetime.date
    certificate: str


def find(number: str, name: str, *, school: values.School, ip: str = "") -> Found | None:
    """The diploma whose 证书编号 or 学校编号 is `number` (typed in any of the forms
    identity.certificate_key accepts) and whose name is `name` (compared with
    identity.name_key), logged as a PublicCheck; None for every other outcome.
    A malformed number raises identity.IdentityError (a format problem, said plainly)."""
    key = identity.certificate_key(number)
    wanted = identity.name_key(name)
    # An unbound diploma has nobody to switch checks off: it is found.
    candidates = (Diploma.select()
                  .join(Account, JOIN.LEFT_OUTER, on=(Diploma.account == Account.id))
                  .where((Diploma.certificate_key == key) | (Diploma.school_number_key == key),
                         Diploma.withdrawn_at.is_null(),
                         Diploma.account.is_null() | (Account.public_checks == True))  # noqa: E712
                  .order_by(Diploma.id))
    for diploma in candidates:
        if identity.name_key(diploma.name) != wanted:
            continue
        PublicCheck.create(diploma=diploma, ip=ip)
        kind = KINDS["diploma"]
        return Found([values.report_field("diploma", kind.column(attr), diploma, school=school)
                      for attr in SHOWN])
    return None


def masked_ip(ip: str) -> str:
    """The checker's address as the owner sees it: the network, not the machine
    (IPv4 /24, IPv6 /48). Enough to tell one office checking twice from many
    strangers; a stranger's full address is not the owner's to keep."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ""
    if address.version == 4:
        return ".".join(ip.split(".")[:3]) + ".*"
    groups = address.exploded.split(":")[:3]
    return ":".join(f"{int(group, 16):x}" for group in groups) + ":*"


def for_owner(account: Account, limit: int = LIST_LIMIT) -> list[Check]:
    """The public checks of the account's diplomas, newest first: only those made
    since the diploma was bound to it (checks from before, or from when it belonged
    to someone else, are not this account's to see), and none of withdrawn records."""
    rows = (PublicCheck.select(PublicCheck, Diploma.major, Diploma.graduation_date,
                               Diploma.certificate_number, Diploma.school_number)
            .join(Diploma)
            .where(Diploma.account == account.id, Diploma.withdrawn_at.is_null(),
                   Diploma.bound_at.is_null() | (PublicCheck.at >= Diploma.bound_at))
            .order_by(PublicCheck.at.desc(), PublicCheck.id.desc())
            .limit(limit))
    return [Check(at=row.at, ip=masked_ip(row.ip), major=row.diploma.major,
                  graduation_date=row.diploma.graduation_date,
                  certificate=row.diploma.certificate_number or row.diploma.school_number or "")
            for row in rows]


def set_allowed(account: Account, allowed: bool, *, ip: str = "") -> bool:
    """Allow or refuse public checks of the account's diplomas. Writes that column
    alone, with an audit entry; nothing is written when it is unchanged (the
    conditional UPDATE decides, so two tabs saving the same choice log it once).
    Returns whether anything changed."""
    allowed = bool(allowed)
    with db.atomic():
        changed = (Account.update(public_checks=allowed)
                   .where(Account.id == account.id, Account.public_checks != allowed)
                   .execute())
        if changed:
            audit.log("account.public_checks_on" if allowed else "account.public_checks_off",
                      account=account, ip=ip)
    account.public_checks = allowed
    return bool(changed)
