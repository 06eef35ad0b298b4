"""Staff accounts, kept by the 管理员 in the portal: create one, change its role,
disable (停用) or re-enable (启用) it, reset its second factor.

Rules enforced here, whatever the caller:
- the one acting must still be an enabled 管理员 when the change is written;
- nobody disables or demotes themselves;
- the last enabled 管理员 is never disabled or demoted.
The check and the write are one write transaction: on SQLite BEGIN IMMEDIATE
serialises them, on PostgreSQL the enabled 管理员 rows are locked FOR UPDATE.
So two 管理员 demoting (or disabling) each other at the same moment cannot both
succeed: the second one finds that they are no longer a 管理员.

`create-admin` (services.accounts.create_or_reset_admin) stays the way to make
the first account on a new installation.
"""
import re
import unicodedata

from flask_babel import lazy_gettext as _l
from peewee import IntegrityError, SqliteDatabase

from models import Account, db, write_transaction
from services import accounts, audit, identity, staff_auth
from services.accounts import AccountError

# 3–64 characters: lower-case letters, digits and . _ @ -, starting with a letter or digit.
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._@-]{2,63}")


class StaffError(AccountError):
    """A staff account change that the rules refuse; `field` names the form field."""


def normalize_username(raw: str) -> str:
    """Full-width folded, trimmed, lower case (the login looks usernames up that way)."""
    text = unicodedata.normalize("NFKC", raw or "").strip().lower()
    if not text:
        raise StaffError(_l("请填写用户名。"), field="username")
    if not _USERNAME.fullmatch(text):
        raise StaffError(_l("用户名为 3–64 位小写字母、数字或 . _ @ -，以字母或数字开头。"),
                         field="username")
    return text


def staff_list():
    return list(Account.select().where(Account.role.in_(Account.STAFF_ROLES))
                .order_by(Account.username))


def role_changes(account_id: int, old: str, new: str) -> dict:
    return {"account": account_id, "fields": {"role": [old, new]}}


def create(username: str, role: str, password: str, *, actor: Account | None,
           ip: str = "") -> Account:
    """A new staff account; its owner enrols the second factor at the first login.
    `actor` None is the server's shell (seed-demo), like `create-admin`."""
    username = normalize_username(username)
    if role not in Account.STAFF_ROLES:
        raise StaffError(_l("请选择角色。"), field="role")
    problem = identity.password_problem(password or "", username=username)
    if problem:
        raise StaffError(problem, field="password")
    password_hash = accounts.hash_password(password)
    try:
        with write_transaction():
            if actor is not None:
                _acting_admins(actor)
            account = Account.create(username=username, role=role, password_hash=password_hash)
            audit.log("staff.created", account=account, actor=actor.username if actor else "cli",
                      ip=ip,
                      changes=role_changes(account.id, "", role))
    except IntegrityError:
        raise StaffError(_l("该用户名已被使用，请换一个。"), field="username") from None
    return account


def _acting_admins(actor: Account) -> set[int]:
    """The ids of the enabled 管理员, read (and on PostgreSQL locked) inside the
    caller's transaction; refused unless `actor` is one of them."""
    query = Account.select(Account.id).where(Account.role == Account.ADMIN,
                                             Account.disabled_at.is_null())
    if not isinstance(db.obj, SqliteDatabase):
        query = query.order_by(Account.id).for_update()
    admins = {row.id for row in query}
    if actor.id not in admins:
        raise StaffError(_l("你已不是启用中的管理员，不能修改工作人员账号。"))
    return admins


def _staff(account_id: int) -> Account:
    """The target as it is now, inside the transaction."""
    current = Account.get_or_none(Account.id == account_id)
    if current is None or not current.is_staff:
        raise StaffError(_l("没有这个工作人员账号。"))
    return current


def _may_lose_admin(actor: Account, target: Account, admins: set[int], field: str) -> None:
    """Refused when `target` stops being an enabled 管理员 and must not."""
    if target.id == actor.id:
        raise StaffError(_l("不能停用自己的账号，也不能取消自己的管理员角色。"), field=field)
    if target.id in admins and not admins - {target.id}:
        raise StaffError(_l("这是最后一个启用中的管理员，不能停用或改为其他角色。"), field=field)


def change_role(target: Account, role: str, *, actor: Account, ip: str = "") -> str:
    """Returns the old role. Takes effect at the target's next request."""
    if role not in Account.STAFF_ROLES:
        raise StaffError(_l("请选择角色。"), field="role")
    with write_transaction():
        admins = _acting_admins(actor)
        current = _staff(target.id)
        old = current.role
        if old == role:
            raise StaffError(_l("角色没有变化。"), field="role")
        if old == Account.ADMIN:
            _may_lose_admin(actor, current, admins, "role")
        Account.update(role=role).where(Account.id == current.id).execute()
        audit.log("staff.role_changed", account=current, actor=actor.username, ip=ip,
                  detail=f"{old} -> {role}", changes=role_changes(current.id, old, role))
    target.role = role
    return old


def disable(target: Account, reason: str, *, actor: Account, ip: str = "") -> None:
    """停用 a staff account: as for a student (accounts.disable), within the rules above."""
    reason = accounts.clean_reason(reason)
    with write_transaction():
        admins = _acting_admins(actor)
        current = _staff(target.id)
        _may_lose_admin(actor, current, admins, "reason")
        accounts.disable(current, reason, actor=actor.username, ip=ip)
    target.disabled_at, target.disabled_reason = current.disabled_at, current.disabled_reason


def enable(target: Account, *, actor: Account, ip: str = "") -> None:
    with write_transaction():
        _acting_admins(actor)
        current = _staff(target.id)
        accounts.enable(current, actor=actor.username, ip=ip)
    target.disabled_at = target.disabled_reason = None


def reset_second_factor(target: Account, *, actor: Account, ip: str = "") -> None:
    """The target's authenticator and recovery codes are removed and every session of
    theirs ends: the next login enrols a new authenticator (a lost phone)."""
    with write_transaction():
        _acting_admins(actor)
        current = _staff(target.id)
        staff_auth.reset(current, actor=actor.username, ip=ip)
        accounts.end_all_login_sessions(current.id)
