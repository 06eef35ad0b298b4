"""Accounts: password hashing, creation, login with lockout, audit entries."""
import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import lazy_gettext as _l
from peewee import IntegrityError

from models import Account, AuditEntry, LoginEvent, db, utcnow
from services import identity

_hasher = PasswordHasher()

MAX_FAILED_LOGINS = 5
LOCK_MINUTES = 15
# Compared against when the username is unknown, so both paths cost one hash.
_DUMMY_HASH = _hasher.hash("not-a-real-password-0")


class AccountError(ValueError):
    """A rule about accounts was broken; `field` names the form field, if any."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def username_taken(username: str) -> bool:
    return Account.select().where(Account.username == username).exists()


def id_number_taken(id_number: str) -> bool:
    return Account.select().where(Account.id_number.matches(id_number)).exists()


def audit(action: str, *, account=None, actor: str = "", detail: str = "", ip: str = ""):
    AuditEntry.create(account=account, actor=actor or (account.username if account else ""),
                      action=action, detail=detail, ip=ip)


def create_student(*, username, real_name, id_type, id_number, phone, password_hash, ip=""):
    """Create the account in one transaction; the unique indexes decide races."""
    try:
        with db.atomic():
            account = Account.create(
                username=username, real_name=real_name, id_type=id_type,
                id_number=id_number, phone=phone, password_hash=password_hash)
            audit("account.registered", account=account, ip=ip)
    except IntegrityError:
        if username_taken(username):
            raise AccountError(_l("该用户名已被注册，请换一个。"), field="username") from None
        raise AccountError(_l("该证件号码已被注册。"), field="id_number") from None
    return account


def create_or_reset_admin(username: str, password: str):
    problem = identity.password_problem(password, username=username)
    if problem:
        raise AccountError(problem)
    with db.atomic():
        account = Account.get_or_none(Account.username == username)
        created = account is None
        if created:
            account = Account(username=username, role=Account.ADMIN)
        elif not account.is_admin:
            raise AccountError(f"{username} is a student account")
        account.password_hash = hash_password(password)
        account.session_version += 0 if created else 1
        account.failed_logins = 0
        account.locked_until = None
        account.save()
        audit("admin.created" if created else "admin.password_reset", account=account, actor="cli")
    return account, created


def find_for_login(login: str):
    """An account by username, phone or ID number (whichever the person typed)."""
    login = (login or "").strip()
    if not login:
        return None
    account = Account.get_or_none(Account.username == login.lower())
    if account:
        return account
    for normalize, field in ((identity.normalize_phone, Account.phone),
                             (identity.normalize_resident_id, Account.id_number),
                             (identity.normalize_other_id, Account.id_number)):
        try:
            value = normalize(login)
        except identity.IdentityError:
            continue
        found = Account.select().where(field.matches(value)).first()
        if found:
            return found
    return None


class LoginResult:
    def __init__(self, account=None, locked_until=None):
        self.account = account
        self.locked_until = locked_until

    @property
    def ok(self):
        return self.account is not None


def authenticate(login: str, password: str, *, ip: str, user_agent: str,
                 now: datetime.datetime | None = None) -> LoginResult:
    """Check a password, counting failures; 5 in a row lock the account."""
    now = now or utcnow()
    account = find_for_login(login)
    if account is None:
        check_password(_DUMMY_HASH, password)
        return LoginResult()
    if account.locked_until and account.locked_until > now:
        LoginEvent.create(account=account, ip=ip, user_agent=user_agent[:512], success=False)
        return LoginResult(locked_until=account.locked_until)
    if not check_password(account.password_hash, password):
        with db.atomic():
            account.failed_logins += 1
            if account.failed_logins >= MAX_FAILED_LOGINS:
                account.locked_until = now + datetime.timedelta(minutes=LOCK_MINUTES)
                account.failed_logins = 0
                audit("account.locked", account=account, ip=ip)
            account.save()
            LoginEvent.create(account=account, ip=ip, user_agent=user_agent[:512], success=False)
        return LoginResult(locked_until=account.locked_until if account.locked_until and account.locked_until > now else None)
    with db.atomic():
        account.failed_logins = 0
        account.locked_until = None
        account.last_login_at = now
        if _hasher.check_needs_rehash(account.password_hash):
            account.password_hash = hash_password(password)
        account.save()
        LoginEvent.create(account=account, ip=ip, user_agent=user_agent[:512], success=True)
    return LoginResult(account=account)
