"""绑定: linking records to the account of the person they describe.

Automatic: a record whose ID number and name match the account binds at
account creation and at each login. How much more the school asks first is
the setting BIND_MODE:

- "auto" (the default, as CHSI): name + ID number are enough;
- "number": the student also types a 学号 or 证书编号 of one of those records
  once, on /records (counted like certificate attempts, BIND_ATTEMPTS_PER_DAY);
- "approval": the records are held (a pending BindRequest) until the registrar
  approves them on /admin/bindings.

Once an account passed the check or was approved, its later records bind
automatically again. By certificate: old diplomas (and degrees) without a
usable ID number bind with certificate number + graduation year + school, if
the record still matches the account. A failed attempt says the same neutral
thing whatever the reason, and attempts are counted so certificate numbers
cannot be enumerated. Whenever records bind, the student is told by SMS (and
e-mail) which ones.
"""
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from peewee import IntegrityError

from models import (Account, BindAttempt, BindRequest, Degree, Diploma, Enrollment, Record, db,
                    utcnow, write_transaction)
from services import accounts, audit, clock, identity, messaging
from services.columns import KINDS
from services.errors import ServiceError
from services.records import kind_of, summary


class BindingError(ServiceError):
    pass


NEUTRAL = _l("没有找到与你的实名信息相符、且可以绑定的记录。请核对证书编号、毕业年份和学校名称；"
             "如仍无法绑定，请联系学校学籍管理部门核实你的记录。")

AUTO = "auto"
NUMBER = "number"
APPROVAL = "approval"
MODES = {
    AUTO: _l("姓名和证件号码相符即自动绑定"),
    NUMBER: _l("还需学生输入一次学号或证书编号"),
    APPROVAL: _l("由学籍管理员确认后绑定"),
}
# At most this many records are listed in one notice; the rest are counted.
NOTICE_LINES = 10


def mode_of(value) -> str:
    """The binding mode a setting names. A value that names no mode holds records
    for approval: a typo must not make binding looser than the school meant."""
    return value if value in MODES else APPROVAL


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
    if birth and account.id_number and identity.carries_birth_date(account.id_type):
        return birth == identity.birth_date_of(account.id_number)
    return True


def bindable(model):
    """Records that may bind by themselves: unbound, not withdrawn (撤销), and not
    unbound by the registrar (bound_by stays "registrar" without an account: a
    person decided, so no rule binds it again; the registrar may bind it by hand)."""
    return (model.account.is_null() & model.withdrawn_at.is_null()
            & ((model.bound_by.is_null()) | (model.bound_by != Record.REGISTRAR)))


def _bind(record: Record, account: Account, how: str) -> bool:
    """Bind if still unbound; the WHERE clause settles two binds at once."""
    model = type(record)
    now = utcnow()
    changed = (model.update(account=account, bound_by=how, bound_at=now)
               .where(model.id == record.id, bindable(model))
               .execute())
    if changed:
        record.account, record.bound_by, record.bound_at = account, how, now
    return bool(changed)


def waiting(account: Account, since_year: int) -> list:
    """The unbound records that match the account by ID number and name: what
    automatic binding would take. Withdrawn records wait until they are restored."""
    if not account.id_number or account.is_staff:
        return []
    name = identity.name_key(account.real_name or "")
    found = []
    for kind in KINDS.values():
        model = kind.model
        found.extend(record for record in model.select().where(
            bindable(model), model.id_number.matches(account.id_number)).order_by(model.id)
            if identity.name_key(record.name) == name and eligible(record, since_year))
    return found


class TooEarly(BindingError):
    """What the person typed (or their own name and ID number) leads only to records
    from before the eligibility year: said plainly, with the registrar's contacts."""


def only_before(account: Account, since_year: int) -> bool:
    """Everything the school holds for this person is from before the eligibility
    year: the account has no record, nothing waits for it, and records that match its
    own name and ID number exist, each dated before `since_year`. /records and the end
    of registration then say so instead of "no records". Asked only for the signed-in
    person's own (code-checked) name and ID number, and it names no record: it says
    no more than "the school has records of yours, older than the year it publishes"."""
    if not account.id_number or account.is_staff:
        return False
    name = identity.name_key(account.real_name or "")
    early = False
    for kind in KINDS.values():
        model = kind.model
        if model.select().where(model.account == account, model.withdrawn_at.is_null()).exists():
            return False
        for record in model.select().where(bindable(model),
                                           model.id_number.matches(account.id_number)):
            if identity.name_key(record.name) != name:
                continue
            if eligible(record, since_year):
                return False
            year = record_year(record)
            early = early or (year is not None and year < since_year)
    return early


def too_early_year(year: int, since_year: int) -> TooEarly | None:
    """The plain answer for a year typed at binding that lies before the eligibility year."""
    if year >= since_year:
        return None
    return TooEarly(_l("你填写的年份 %(typed)s 早于 %(year)s 年。%(year)s 年以前的学历、学位记录不在网上"
                       "查询范围内，无法在这里绑定；需要证明请联系学校学籍管理部门。",
                       typed=year, year=since_year), field="year")


def confirmed(account: Account) -> bool:
    """The account passed the number check or the registrar approved it once."""
    return BindRequest.select().where(BindRequest.account == account,
                                      BindRequest.status == BindRequest.APPROVED).exists()


def pending_request(account: Account):
    return BindRequest.get_or_none(BindRequest.account == account,
                                   BindRequest.status == BindRequest.PENDING)


def latest_request(account: Account):
    return (BindRequest.select().where(BindRequest.account == account)
            .order_by(BindRequest.created_at.desc(), BindRequest.id.desc()).first())


def _bind_all(records, account: Account, how: str) -> list:
    return [record for record in records if _bind(record, account, how)]


def _listed(records) -> str:
    return ", ".join(f"{kind_of(record).key}:{record.id}" for record in records)


def auto_bind(account: Account, *, since_year: int, mode: str = AUTO, postman=None,
              ip: str = "") -> list:
    """Bind the account's waiting records as the binding mode allows; returns those
    bound. Under "approval" an account not yet approved gets a pending request
    instead (unless its last one was declined: then the student asks again)."""
    mode = mode_of(mode)
    if not waiting(account, since_year):
        return []   # most logins: nothing to write, no write lock
    bound = []
    with write_transaction():
        found = waiting(account, since_year)   # again, under the write lock
        if not found:
            return []
        if mode != AUTO and not confirmed(account):
            if mode == APPROVAL and latest_request(account) is None:
                open_request(account, ip=ip)
            return []
        bound = _bind_all(found, account, Record.AUTO)
        if bound:
            audit.log("records.auto_bound", account=account, ip=ip,
                      detail=f"{len(bound)}: {_listed(bound)}")
    tell(account, bound, how=Record.AUTO, postman=postman)
    return bound


def open_request(account: Account, *, ip: str = "") -> BindRequest:
    """The account's pending request, made now if it has none (one per account:
    the unique pending_key decides two logins at once)."""
    try:
        with db.atomic():
            request = BindRequest.create(account=account, pending_key=str(account.id))
            audit.log("bind_request.opened", account=account, ip=ip, detail=str(request.id))
            return request
    except IntegrityError:
        return BindRequest.get(BindRequest.pending_key == str(account.id))


@dataclass(frozen=True)
class Hold:
    """What /records says about records waiting for more than name + ID number.

    state: "" (nothing waiting), "number" (the 学号/证书编号 form), "pending"
    (等待学籍管理部门确认), "rejected" (declined: reason, and ask again), "ask"
    (approval mode, no request yet: ask)."""

    state: str
    request: BindRequest | None = None


def hold_of(account: Account, *, since_year: int, mode: str) -> Hold:
    mode = mode_of(mode)
    if mode == AUTO or account.is_staff or confirmed(account) or not waiting(account, since_year):
        return Hold("")
    pending = pending_request(account)
    if pending:
        return Hold("pending", pending)
    if mode == NUMBER:
        return Hold("number")
    last = latest_request(account)
    if last and last.status == BindRequest.REJECTED:
        return Hold("rejected", last)
    return Hold("ask")


def ask_again(account: Account, *, since_year: int, mode: str, ip: str = "") -> BindRequest:
    """The student asks the registrar to confirm (after a decline, or when the school
    turned approval on since the last login)."""
    state = hold_of(account, since_year=since_year, mode=mode).state
    if state == "pending":
        raise BindingError(_l("你的绑定申请正在等待学籍管理部门确认。"))
    if state not in ("rejected", "ask"):
        raise BindingError(_l("没有等待确认的记录。"))
    return open_request(account, ip=ip)


def _number_fits(record: Record, typed: str) -> bool:
    """The typed text is the record's 学号 (enrollment) or one of its certificate numbers."""
    if isinstance(record, Enrollment):
        return identity.fold(record.student_number or "").strip().upper() == typed.upper()
    if isinstance(record, (Diploma, Degree)):
        try:
            key = identity.certificate_key(typed)
        except identity.IdentityError:
            return False
        return key in {record.certificate_key, getattr(record, "school_number_key", None)} - {None}
    return False


def check_number(account: Account, number: str, *, since_year: int, mode: str, config,
                 postman=None, ip: str = "") -> list:
    """BIND_MODE "number": the student types a 学号 or 证书编号 of one of the records
    waiting for them; if it fits, all of them bind and the account counts as
    confirmed. Every try counts against BIND_ATTEMPTS_PER_DAY, like certificate binding."""
    if mode_of(mode) != NUMBER:
        raise BindingError(_l("学校没有开启学号或证书编号验证。"))
    typed = identity.fold(number or "").strip()
    if not typed:
        raise BindingError(_l("请填写学号或证书编号。"), field="number")
    bound = []
    # One write lock for count, check and attempt: parallel tries cannot pass the limit.
    with write_transaction():
        if _out_of_tries(account, config):
            raise BindingError(_l("今天的绑定尝试次数已用完，请明天再试，或联系学校学籍管理部门。"),
                               field="number")
        found = waiting(account, since_year)
        if not found and only_before(account, since_year):
            raise TooEarly(_l("学校保存的你的记录都早于 %(year)s 年，不在网上查询范围内，"
                              "无需验证；需要证明请联系学校学籍管理部门。", year=since_year),
                           field="number")
        if not found or confirmed(account):
            raise BindingError(_l("没有等待验证的记录。"), field="number")
        fits = any(_number_fits(record, typed) for record in found)
        BindAttempt.create(account=account, success=fits, ip=ip)
        if fits:
            now = utcnow()
            settled = dict(status=BindRequest.APPROVED, settled_by=NUMBER, decided_at=now,
                           decided_by=account.username, pending_key=None)
            if not BindRequest.update(**settled).where(
                    BindRequest.account == account,
                    BindRequest.status == BindRequest.PENDING).execute():
                BindRequest.create(account=account, created_at=now, **settled)
            bound = _bind_all(found, account, Record.NUMBER)
            audit.log("records.bound_by_number", account=account, ip=ip,
                      detail=f"{len(bound)}: {_listed(bound)}")
    if not fits:
        raise BindingError(_l("学号或证书编号与等待绑定的记录不符。请核对后再试，"
                              "或联系学校学籍管理部门。"), field="number")
    tell(account, bound, how=Record.NUMBER, postman=postman)
    return bound


def decide(request: BindRequest, approve: bool, reason: str, *, actor: str, since_year: int,
           postman=None, ip: str = "") -> list:
    """The registrar approves (the waiting records bind) or declines with a reason.
    Of two decisions at once, the second finds nothing pending and changes nothing."""
    reason = (reason or "").strip()
    if request.status != BindRequest.PENDING:
        raise BindingError(_l("这条绑定申请已经处理过了。"))
    if not approve and not reason:
        raise BindingError(_l("不通过时必须写明理由。"), field="reply")
    status = BindRequest.APPROVED if approve else BindRequest.REJECTED
    decided_at = utcnow()
    bound = []
    with write_transaction():
        if not BindRequest.update(
                status=status, settled_by=APPROVAL, decided_at=decided_at, decided_by=actor,
                reason=reason or None, pending_key=None).where(
                    BindRequest.id == request.id,
                    BindRequest.status == BindRequest.PENDING).execute():
            raise BindingError(_l("这条绑定申请已经处理过了。"))
        account = Account.get_by_id(request.account_id)
        if approve:
            bound = _bind_all(waiting(account, since_year), account, Record.APPROVAL)
            audit.log("bind_request.approved", account=account, actor=actor, ip=ip,
                      detail=f"{request.id}: {_listed(bound)}")
        else:
            audit.log("bind_request.rejected", account=account, actor=actor, ip=ip,
                      detail=f"{request.id}: {reason}")
    request.status, request.settled_by, request.reason = status, APPROVAL, reason or None
    request.decided_at, request.decided_by, request.pending_key = decided_at, actor, None
    if approve:
        tell(account, bound, how=Record.APPROVAL, postman=postman)
    elif postman is not None:
        try:
            accounts.notify(account, "bind_request_rejected.txt", postman=postman, email=True,
                            reason=reason)
        except messaging.MessagingError:
            pass  # the decision stands; the student sees it on /records
    return bound


def requested_records(request: BindRequest, *, since_year: int) -> list:
    """What the registrar looks at: the records waiting while the request is
    pending, the records bound by it once approved."""
    account = request.account
    if request.status == BindRequest.PENDING:
        return waiting(account, since_year)
    if request.status != BindRequest.APPROVED:
        return []
    how = Record.APPROVAL if request.settled_by == APPROVAL else Record.NUMBER
    return [record for kind in KINDS.values()
            for record in kind.model.select().where(kind.model.account == account,
                                                   kind.model.bound_by == how)]


def tell(account: Account, records, *, how: str, postman) -> None:
    """The notice that records were bound: SMS, and e-mail to the username, listing
    each record by kind and summary (never an ID number)."""
    if not records or postman is None:
        return
    lines = [f"{kind_of(record).label}：{summary(record)}" for record in records[:NOTICE_LINES]]
    try:
        accounts.notify(account, "records_bound.txt", postman=postman, email=True, how=how,
                        lines=lines, more=len(records) - len(lines))
    except messaging.MessagingError:
        pass  # the records are bound; the student sees them on /records


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
    """Unbind the account's records that carry `id_number` (the ID went to someone else);
    a pending request of the account is closed, there is nothing left to confirm."""
    BindRequest.update(status=BindRequest.REJECTED, decided_at=utcnow(), pending_key=None,
                       reason="证件号码已因申诉转出。").where(
        BindRequest.account == account, BindRequest.status == BindRequest.PENDING).execute()
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


def _out_of_tries(account: Account, config) -> bool:
    return attempts_today(account, timezone=config.get("TIMEZONE")) >= config["BIND_ATTEMPTS_PER_DAY"]


def attempts_today(account: Account, now=None, timezone=None) -> int:
    """Tries since the start of the school's day (TIMEZONE): the limit is per
    local day, so "try again tomorrow" means after midnight where the school is."""
    since = clock.day_start(timezone, now)
    return (BindAttempt.select()
            .where(BindAttempt.account == account, BindAttempt.at >= since).count())


def bind_by_certificate(account: Account, kind_key: str, number: str, year: int, school: str, *,
                        config, ip: str = "", postman=None) -> Record:
    if kind_key not in ("diploma", "degree"):
        raise BindingError(_l("只能按证书编号绑定学历或学位记录。"))
    early = too_early_year(year, config["ELIGIBLE_SINCE_YEAR"])
    if early is not None:
        raise early   # implied by the year typed alone: nothing is looked up, no try counted
    if _out_of_tries(account, config):
        raise BindingError(_l("今天的绑定尝试次数已用完，请明天再试，或联系学校学籍管理部门。"))
    if school not in school_names(config):
        raise BindingError(_l("请从列表中选择学校名称。"), field="school")
    key = identity.certificate_key(number)   # IdentityError: a format problem, said plainly
    model = Diploma if kind_key == "diploma" else Degree
    date_field = model.graduation_date if kind_key == "diploma" else model.award_date
    by_number = (model.certificate_key == key)
    if kind_key == "diploma":
        by_number = by_number | (model.school_number_key == key)
    candidates = model.select().where(by_number, date_field.year == year,
                                      model.withdrawn_at.is_null())
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
        tell(account, [found], how=Record.CERTIFICATE, postman=postman)
        return found
    if outcome == "already mine":
        raise BindingError(_l("这条记录已经在你的档案中了。"))
    raise BindingError(NEUTRAL)
