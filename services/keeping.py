"""学籍管理员 keeping records by hand: create and edit one record, withdraw (撤销)
and restore it, bind it to a student account or unbind it.

Values obey the same rules as an import (services.columns.clean_values). An
edit writes only the columns the registrar changed on the form: two registrars
editing one record at once each write their own columns, and nothing else.
Unique numbers (学号, 证书编号, 考生号) are settled by the database's unique
indexes. Every change writes one audit entry; the bound student gets an SMS.
"""
import datetime
import unicodedata

from flask_babel import lazy_gettext as _l
from peewee import IntegrityError

from models import Account, Record, utcnow, write_transaction
from services import accounts, audit, binding, messaging, photos
from services.columns import Kind, clean_values
from services.errors import ServiceError
from services.records import display_value

MAX_REASON = 500
# Look-up columns stored beside a column, written with it.
DERIVED = {"id_number": ("id_number_index",), "certificate_number": ("certificate_key",),
           "school_number": ("school_number_key",)}
# The unique numbers of each kind, and the field a clash is shown beside.
UNIQUE = {"enrollment": ("student_number",), "diploma": ("certificate_number",),
          "degree": ("certificate_number",), "admission": ("candidate_number",),
          "aid": ("id_number_index", "school_year", "program", "paid_on")}


class KeepingError(ServiceError):
    pass


class RecordInvalid(KeepingError):
    """Values that break the rules: `problems` holds (field, message) for each."""

    def __init__(self, problems: list):
        super().__init__(problems[0][1], problems[0][0])
        self.problems = problems


def form_values(kind: Kind, record: Record | None) -> dict:
    """Each column's value as the form shows it (the full ID number: the registrar edits it)."""
    if record is None:
        return {column.attr: "" for column in kind.columns}
    return {column.attr: display_value(record, column) for column in kind.columns}


def _field_of(kind: Kind, header: str) -> str:
    """The form field a problem named by its Chinese column name belongs beside."""
    for column in kind.columns:
        if column.header == header:
            return column.attr
    return kind.columns[0].attr


def _photo(kind: Kind, data: bytes | None, max_bytes: int, problems: list):
    """The uploaded photo as a 120x160 JPEG (cropped to 3:4), or None; problems noted."""
    if not data:
        return None
    if kind.photo_label is None:
        problems.append(("photo", _l("这类记录没有照片。")))
        return None
    if len(data) > max_bytes:
        problems.append(("photo", _l("照片不能超过 %(mb)s MB。", mb=f"{max_bytes / 1024 / 1024:g}")))
        return None
    try:
        return photos.small_jpeg(data)   # the pixel limit (before decoding), JPEG or PNG, 3:4
    except photos.PhotoError as error:
        problems.append(("photo", _l("照片无法使用：%(problem)s", problem=str(error))))
        return None


def _clean(kind: Kind, raw: dict, photo: bytes | None, max_photo_bytes: int, today):
    values, found = clean_values(kind, raw, today)
    problems = [(_field_of(kind, header), message) for header, message in found]
    jpeg = _photo(kind, photo, max_photo_bytes, problems)
    if problems:
        raise RecordInvalid(problems)
    return values, jpeg


def _duplicate(kind: Kind, values: dict, record_id: int | None) -> KeepingError:
    """After the database refused a write: which unique number is taken, said beside its field."""
    model = kind.model
    fields = UNIQUE[kind.key]
    query = model.select(model.id).where(*[model._meta.fields[name] == values.get(name)
                                          for name in fields])
    if record_id is not None:
        query = query.where(model.id != record_id)
    other = query.first()
    ref = f"#{other.id}" if other else ""
    if kind.key == "aid":
        return KeepingError(_l("同一证件号码、学年、资助项目和发放日期的资助记录已经存在%(ref)s。", ref=ref),
                            field="program")
    label = kind.column(fields[0]).header
    return KeepingError(_l("%(label)s「%(value)s」已被另一条记录%(ref)s使用。", label=label,
                           value=values.get(fields[0]), ref=ref), field=fields[0])


def _model_values(kind: Kind, values: dict) -> dict:
    fields = kind.model._meta.fields
    return {name: value for name, value in values.items() if name in fields}


def _tell(account_id, template: str, *, postman, **context) -> None:
    """An SMS to the record's student, if it is bound; the change stands if it cannot be sent."""
    if account_id is None or postman is None:
        return
    account = Account.get_or_none(Account.id == account_id)
    if account is None:
        return
    try:
        accounts.notify(account, template, postman=postman, **context)
    except messaging.MessagingError:
        pass  # the student sees the record as it is when they log in


# --- create and edit -----------------------------------------------------------

def create(kind: Kind, posted: dict, *, photo: bytes | None = None, actor: str, ip: str = "",
           max_photo_bytes: int, today: datetime.date | None = None) -> Record:
    """A new record from the form's values (as an import row), unbound; audited."""
    raw = {column.attr: posted.get(column.attr) or "" for column in kind.columns}
    values, jpeg = _clean(kind, raw, photo, max_photo_bytes, today)
    model = kind.model
    stored = None
    try:
        with write_transaction():
            record = model.create(**_model_values(kind, values))
            if jpeg:
                stored = photos.store_one(kind, record.id, jpeg)
                model.update(photo=stored).where(model.id == record.id).execute()
                record.photo = stored
            after = form_values(kind, record)
            if stored:
                after["photo"] = stored
            audit.log("record.created", actor=actor, ip=ip, detail=f"{kind.key}:{record.id}",
                      changes=audit.field_changes(kind.key, record.id, {}, after))
    except IntegrityError:
        raise _duplicate(kind, values, None) from None
    return record


def update(kind: Kind, record: Record, posted: dict, *, original: dict | None = None,
           photo: bytes | None = None, actor: str, ip: str = "", postman=None,
           max_photo_bytes: int, today: datetime.date | None = None) -> list:
    """Write what the registrar changed; the names of the changed columns ([] for none).

    `original` holds the values the form showed (None: the record as stored now). A
    column counts as changed only where the posted value differs from it, so a
    registrar never writes back a stale value of a column someone else changed since.
    """
    model = kind.model
    current = {column.attr: display_value(record, column) for column in kind.columns}
    shown = current if original is None else original
    touched = {column.attr for column in kind.columns
               if posted.get(column.attr) is not None
               and str(posted[column.attr]).strip() != str(shown.get(column.attr) or "").strip()}
    raw = {**current, **{attr: posted[attr] for attr in touched}}
    values, jpeg = _clean(kind, raw, photo, max_photo_bytes, today)
    if "id_type" in touched:
        touched.add("id_number")   # the type decides the number's stored form
    changed = {}
    for attr in sorted(touched):
        if values.get(attr) != getattr(record, attr):
            changed[attr] = values.get(attr)
            for derived in DERIVED.get(attr, ()):
                if derived in model._meta.fields:
                    changed[derived] = values.get(derived)
    if not changed and jpeg is None:
        return []
    before = {attr: current[attr] for attr in changed if attr in current}
    old_photo = getattr(record, "photo", None)
    now = utcnow()
    try:
        with write_transaction():
            # The new photo, the record pointing at it and the old photo's removal
            # are one transaction: a failure leaves the record and its photo as they were.
            stored = None
            if jpeg:
                # Read under the write lock: a photo saved meanwhile is the one replaced.
                old_photo = model.select(model.photo).where(model.id == record.id).scalar()
                stored = photos.store_one(kind, record.id, jpeg)
            writes = dict(changed, updated_at=now, **({"photo": stored} if stored else {}))
            if not model.update(**writes).where(model.id == record.id).execute():
                raise KeepingError(_l("这条记录已不存在。"))
            for attr, value in writes.items():
                setattr(record, attr, value)
            after = {attr: display_value(record, kind.column(attr))
                     for attr in changed if attr in current}
            if stored:
                before["photo"], after["photo"] = old_photo or "", stored
            audit.log("record.changed", account=_account(record),
                      actor=actor, ip=ip, detail=f"{kind.key}:{record.id}",
                      changes=audit.field_changes(kind.key, record.id, before, after))
            if stored:
                photos.remove(old_photo)
    except IntegrityError:
        raise _duplicate(kind, values, record.id) from None
    names = [kind.column(attr).header for attr in changed if attr in current]
    if stored:
        names.append(kind.photo_label)
    _tell(record.account_id, "record_changed.txt", postman=postman, kind=kind.label,
          fields="、".join(names))
    return [attr for attr in changed if attr in current] + (["photo"] if stored else [])


# --- 撤销 and restore -------------------------------------------------------------

def _reason(text) -> str:
    reason = (text or "").strip()
    if not reason:
        raise KeepingError(_l("请写明理由。"), field="reason")
    if len(reason) > MAX_REASON:
        raise KeepingError(_l("理由最多 500 字。"), field="reason")
    return reason


def withdraw(kind: Kind, record: Record, reason: str, *, actor: str, ip: str = "",
             postman=None) -> Record:
    """撤销: the student no longer sees the record, its reports verify as withdrawn."""
    reason = _reason(reason)
    model = kind.model
    now = utcnow()
    with write_transaction():
        if not model.update(withdrawn_at=now, withdrawn_reason=reason).where(
                model.id == record.id, model.withdrawn_at.is_null()).execute():
            raise KeepingError(_l("这条记录已经撤销了。"), field="reason")
        record.withdrawn_at, record.withdrawn_reason = now, reason
        audit.log("record.withdrawn", account=_account(record), actor=actor, ip=ip,
                  detail=f"{kind.key}:{record.id}: {reason}")
    _tell(record.account_id, "record_withdrawn.txt", postman=postman, kind=kind.label,
          reason=reason)
    return record


def restore(kind: Kind, record: Record, *, actor: str, ip: str = "", postman=None) -> Record:
    """Undo a withdrawal: the student sees the record again, its reports work again
    (those not withdrawn one by one, closed or expired)."""
    model = kind.model
    with write_transaction():
        if not model.update(withdrawn_at=None, withdrawn_reason=None).where(
                model.id == record.id, model.withdrawn_at.is_null(False)).execute():
            raise KeepingError(_l("这条记录没有被撤销。"))
        reason = record.withdrawn_reason or ""
        record.withdrawn_at = record.withdrawn_reason = None
        audit.log("record.restored", account=_account(record), actor=actor, ip=ip,
                  detail=f"{kind.key}:{record.id} (was: {reason})")
    _tell(record.account_id, "record_restored.txt", postman=postman, kind=kind.label)
    return record


def _account(record: Record):
    return Account.get_or_none(Account.id == record.account_id) if record.account_id else None


# --- binding by hand ----------------------------------------------------------------

def bind(kind: Kind, record: Record, username: str, reason: str, *, actor: str,
         ip: str = "", postman=None) -> Account:
    """Bind the record to a student account named by its username (bound_by registrar);
    the student is told, as after every binding (services.binding.tell)."""
    login = unicodedata.normalize("NFKC", username or "").strip().lower()
    if not login:
        raise KeepingError(_l("请填写学生账号的用户名。"), field="username")
    reason = _reason(reason)
    account = Account.get_or_none(Account.username == login)
    if account is None or account.closed_at is not None:
        raise KeepingError(_l("没有用户名为「%(username)s」的账号。", username=login), field="username")
    if account.is_staff:
        raise KeepingError(_l("「%(username)s」是工作人员账号，记录只能绑定到学生账号。", username=login),
                           field="username")
    if account.is_disabled:
        raise KeepingError(_l("账号「%(username)s」已停用，不能绑定记录。", username=login),
                           field="username")
    model = kind.model
    now = utcnow()
    with write_transaction():
        current = model.get_or_none(model.id == record.id)
        if current is None:
            raise KeepingError(_l("这条记录已不存在。"), field="username")
        if current.withdrawn_at is not None:
            raise KeepingError(_l("这条记录已撤销，不能绑定；请先恢复。"), field="username")
        if current.account_id is not None:
            raise KeepingError(_l("这条记录已经绑定了账号，请先解除绑定。"), field="username")
        # Guarded: of two binds at once, one wins.
        if not model.update(account=account, bound_by=Record.REGISTRAR, bound_at=now).where(
                model.id == record.id, model.account.is_null(),
                model.withdrawn_at.is_null()).execute():
            raise KeepingError(_l("这条记录已经绑定了账号，请先解除绑定。"), field="username")
        record.account, record.bound_by, record.bound_at = account, Record.REGISTRAR, now
        audit.log("record.bound", account=account, actor=actor, ip=ip,
                  detail=f"{kind.key}:{record.id}: {reason}")
    binding.tell(account, [record], how=Record.REGISTRAR, postman=postman)
    return account


def unbind(kind: Kind, record: Record, reason: str, *, actor: str, ip: str = "") -> Account | None:
    """Take the record out of its student's archive. Its reports stay as they are.

    The record keeps bound_by = registrar with no account, so that automatic binding
    and binding by certificate leave it alone: the registrar decided."""
    reason = _reason(reason)
    model = kind.model
    with write_transaction():
        current = model.get_or_none(model.id == record.id)
        if current is None or current.account_id is None:
            raise KeepingError(_l("这条记录没有绑定账号。"), field="reason")
        previous = _account(current)
        if not model.update(account=None, bound_by=Record.REGISTRAR, bound_at=utcnow()).where(
                model.id == record.id, model.account == current.account_id).execute():
            raise KeepingError(_l("这条记录没有绑定账号。"), field="reason")
        record.account, record.bound_by = None, Record.REGISTRAR
        audit.log("record.unbound", account=previous, actor=actor, ip=ip,
                  detail=f"{kind.key}:{record.id}: {reason}")
    return previous
