"""绑定: linking records to the account of the person they describe.

Automatic: a record whose ID number and name match the account binds at
account creation and at each login. By certificate: old diplomas (and
degrees) without a usable ID number bind with certificate number +
graduation year + school, if the record still matches the account. A failed
attempt says the same neutral thing whatever the reason, and attempts are
counted so certificate numbers cannot be enumerated.
"""
import datetime

from flask_babel import lazy_gettext as _l

from models import Account, BindAttempt, Degree, Diploma, Record, db, utcnow
from services import audit, identity
from services.errors import ServiceError
from services.columns import KINDS


class BindingError(ServiceError):
    pass


NEUTRAL = _l("没有找到与你的实名信息相符、且可以绑定的记录。请核对证书编号、毕业年份和学校名称；"
             "如仍无法绑定，请联系学校学籍管理部门核实你的记录。")


def record_year(record: Record):
    """The year that decides eligibility: graduation, award, or the record's own year."""
    for attr in ("graduation_date", "award_date", "expected_graduation", "paid_on"):
        value = getattr(record, attr, None)
        if value:
            return value.year
    return getattr(record, "year", None)


def eligible(record: Record, since_year: int) -> bool:
    """Records of people who graduated before the eligibility year are never offered."""
    year = record_year(record)
    if isinstance(record, (Diploma, Degree)):
        return year is not None and year >= since_year
    return year is None or year >= since_year


def matches_account(record: Record, account: Account) -> bool:
    """Same name, and the same ID number or birth date where the record has them."""
    if identity.name_key(record.name) != identity.name_key(account.real_name or ""):
        return False
    if record.id_number:
        return record.id_number == account.id_number
    birth = getattr(record, "birth_date", None)
    if birth and account.id_number and account.id_type == identity.RESIDENT_ID:
        return birth == identity.birth_date_of(account.id_number)
    return True


def _bind(record: Record, account: Account, how: str) -> bool:
    """Bind if still unbound; the WHERE clause settles two binds at once."""
    model = type(record)
    now = utcnow()
    changed = (model.update(account=account, bound_by=how, bound_at=now)
               .where(model.id == record.id, model.account.is_null())
               .execute())
    if changed:
        record.account, record.bound_by, record.bound_at = account, how, now
    return bool(changed)


def auto_bind(account: Account, *, since_year: int) -> int:
    """Bind every unbound record whose ID number and name match; returns how many."""
    if not account.id_number or account.is_staff:
        return 0
    bound = 0
    with db.atomic():
        for kind in KINDS.values():
            model = kind.model
            candidates = model.select().where(model.account.is_null(),
                                              model.id_number.matches(account.id_number))
            for record in candidates:
                if (identity.name_key(record.name) == identity.name_key(account.real_name)
                        and eligible(record, since_year) and _bind(record, account, Record.AUTO)):
                    bound += 1
        if bound:
            audit.log("records.auto_bound", account=account, detail=str(bound))
    return bound


def records_carrying(account: Account, id_number: str) -> dict:
    """{kind key: [record id, …]} of the account's records that carry `id_number`."""
    found = {}
    for kind in KINDS.values():
        model = kind.model
        ids = [row.id for row in model.select(model.id).where(
            model.account == account, model.id_number.matches(id_number))]
        if ids:
            found[kind.key] = ids
    return found


def release(account: Account, id_number: str) -> int:
    """Unbind the account's records that carry `id_number` (the ID went to someone else)."""
    released = 0
    for kind in KINDS.values():
        model = kind.model
        released += (model.update(account=None, bound_by=None, bound_at=None)
                     .where(model.account == account, model.id_number.matches(id_number))
                     .execute())
    return released


def school_names(config) -> list:
    return [entry["name"] for entry in config["SCHOOL_NAMES"]]


def _school_accepts(chosen: str, record_school: str, year: int, config) -> bool:
    """The chosen name fits the record: its own name, the name that year, or today's name."""
    if chosen == record_school:
        return True
    for entry in config["SCHOOL_NAMES"]:
        if entry["name"] != chosen:
            continue
        until = entry.get("until") or 9999
        return entry.get("from", 0) <= year <= until or entry is config["SCHOOL_NAMES"][0]
    return False


def attempts_today(account: Account, now=None) -> int:
    since = (now or utcnow()) - datetime.timedelta(days=1)
    return (BindAttempt.select()
            .where(BindAttempt.account == account, BindAttempt.at > since).count())


def bind_by_certificate(account: Account, kind_key: str, number: str, year: int, school: str, *,
                        config, ip: str = "") -> Record:
    if kind_key not in ("diploma", "degree"):
        raise BindingError(_l("只能按证书编号绑定学历或学位记录。"))
    if attempts_today(account) >= config["BIND_ATTEMPTS_PER_DAY"]:
        raise BindingError(_l("今天的绑定尝试次数已用完，请明天再试，或联系学校学籍管理部门。"))
    if school not in school_names(config):
        raise BindingError(_l("请从列表中选择学校名称。"), field="school")
    key = identity.certificate_key(number)   # IdentityError: a format problem, said plainly
    model = Diploma if kind_key == "diploma" else Degree
    date_field = model.graduation_date if kind_key == "diploma" else model.award_date
    by_number = (model.certificate_key == key)
    if kind_key == "diploma":
        by_number = by_number | (model.school_number_key == key)
    candidates = model.select().where(by_number, date_field.year == year)
    since = config["ELIGIBLE_SINCE_YEAR"]
    found = None
    for record in candidates:
        record_school = record.school_name if kind_key == "diploma" else record.awarding_unit
        if (eligible(record, since) and matches_account(record, account)
                and _school_accepts(school, record_school, year, config)):
            found = record
            break
    outcome = None
    with db.atomic():
        if found and found.account_id == account.id:
            outcome = "already mine"
        elif found and found.account_id is None and _bind(found, account, Record.CERTIFICATE):
            outcome = "bound"
            audit.log("records.bound_by_certificate", account=account, ip=ip,
                           detail=f"{kind_key}:{found.id}")
        BindAttempt.create(account=account, success=outcome is not None, ip=ip)
    if outcome == "bound":
        return found
    if outcome == "already mine":
        raise BindingError(_l("这条记录已经在你的档案中了。"))
    raise BindingError(NEUTRAL)
