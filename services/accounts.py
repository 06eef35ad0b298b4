"""Accounts: password hashing, creation, login with lockout, audit entries,
and the changes a student makes on the account page."""
import datetime
import hashlib
import logging
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import lazy_gettext as _l
from peewee import IntegrityError

import crypto
from models import (Account, Challenge, LoginEvent, LoginSession, LoginThrottle, db,
                    new_token, utcnow)
from services import audit, challenges, identity, phone_regions
from services.errors import ServiceError
from services.messaging import MessagingError

_hasher = PasswordHasher()
log = logging.getLogger(__name__)

# Throttle per (account or typed login, client address): after MAX_FAILED_LOGINS
# failures each further failure pauses logins from that address for
# FIRST_DELAY_MINUTES, doubling, at most LOCK_MINUTES. A right password, or a
# password reset (忘记密码, by SMS code), starts afresh.
MAX_FAILED_LOGINS = 5
FIRST_DELAY_MINUTES = 1
LOCK_MINUTES = 15
FORGET_FAILURES_AFTER = datetime.timedelta(days=1)
ALERT_EVERY = datetime.timedelta(hours=1)
# Compared against when the username is unknown, so both paths cost one hash.
_DUMMY_HASH = _hasher.hash("not-a-real-password-0")


class AccountError(ServiceError):
    """A rule about accounts was broken; `field` names the form field, if any."""


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


def create_student(*, username, real_name, id_type, id_number, phone, password_hash, ip=""):
    """Create the account in one transaction; the unique indexes decide races.
    The phone is stored in E.164, as every look-up by phone expects."""
    phone = identity.normalize_phone(phone) if phone else phone
    try:
        with db.atomic():
            account = Account.create(
                username=username, real_name=real_name, id_type=id_type,
                id_number=id_number, phone=phone, password_hash=password_hash)
            audit.log("account.registered", account=account, ip=ip)
    except IntegrityError:
        if username_taken(username):
            raise AccountError(_l("该用户名已被注册，请换一个。"), field="username") from None
        raise AccountError(_l("该证件号码已被注册。"), field="id_number") from None
    return account


def create_or_reset_admin(username: str, password: str):
    # Logins look usernames up in lower case (find_for_login): store them so.
    username = username.strip().lower()
    problem = identity.password_problem(password, username=username)
    if problem:
        raise AccountError(problem)
    with db.atomic():
        account = Account.get_or_none(Account.username == username)
        created = account is None
        if created:
            account = Account(username=username, role=Account.ADMIN)
        elif not account.is_staff:
            raise AccountError(f"{username} is a student account")
        if created:
            account.password_hash = hash_password(password)
            account.save()
        else:
            # Only the columns a reset means to change; the version by SQL.
            Account.update(password_hash=hash_password(password),
                           session_version=Account.session_version + 1,
                           ).where(Account.id == account.id).execute()
            lift_throttles(account)
        audit.log("admin.created" if created else "admin.password_reset", account=account, actor="cli")
    return account, created


def find_for_login(login: str, region: str = phone_regions.DEFAULT):
    """An account by username, phone or ID number (whichever the person typed).
    A phone number is read with the country or region chosen (`region`) unless
    it starts with + or 00: 13812345678, +86 138 1234 5678 and 008613812345678
    all find the account whose number is +8613812345678."""
    login = (login or "").strip()
    if not login:
        return None
    # A closed account (services.closing) is found by nothing: it answers as unknown.
    account = Account.get_or_none(Account.username == login.lower(), Account.closed_at.is_null())
    if account:
        return account
    def phone(typed):
        return identity.normalize_phone(typed, region)
    for normalize, field in ((phone, Account.phone),
                             (identity.normalize_resident_id, Account.id_number),
                             (identity.normalize_other_id, Account.id_number)):
        try:
            value = normalize(login)
        except identity.IdentityError:
            continue
        found = Account.select().where(field.matches(value), Account.closed_at.is_null()).first()
        if found:
            return found
    return None


_BROWSERS = (("MicroMessenger", "WeChat"), ("QQBrowser", "QQ Browser"), ("UCBrowser", "UC Browser"),
             ("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"),
             ("Chrome/", "Chrome"), ("Chromium/", "Chromium"), ("Safari/", "Safari"))


def browser_family(user_agent: str) -> str:
    """A short name for the browser, enough for a student to recognise a device."""
    for marker, name in _BROWSERS:
        if marker in (user_agent or ""):
            return name
    return user_agent.split("/", 1)[0][:40] if user_agent else "?"


class LoginResult:
    def __init__(self, account=None, locked_until=None, disabled_reason=None):
        self.account = account
        self.locked_until = locked_until
        # Set only after a RIGHT password on an account the school disabled: a
        # wrong password answers as for anyone, so this tells nothing to a guesser.
        self.disabled_reason = disabled_reason

    @property
    def disabled(self):
        return self.disabled_reason is not None

    @property
    def ok(self):
        return self.account is not None


def lock_delay(failures: int):
    """How long logins pause after this many failures in a row (None: not yet)."""
    if failures < MAX_FAILED_LOGINS:
        return None
    minutes = FIRST_DELAY_MINUTES * 2 ** min(failures - MAX_FAILED_LOGINS, 10)
    return datetime.timedelta(minutes=min(minutes, LOCK_MINUTES))


def _throttle_key(account, login: str, ip: str) -> str:
    who = f"account:{account.id}" if account else f"login:{identity.fold(login or '').strip().lower()}"
    return crypto.blind_index(f"login-throttle:{who}|{ip}")


def lift_throttles(account: Account) -> int:
    """The owner proved who they are (a password reset), or the school unlocked the
    account: every pause ends. Returns how many throttles were lifted."""
    return LoginThrottle.delete().where(LoginThrottle.account == account.id).execute()


def _count_failure(key: str, account, now: datetime.datetime):
    """One more failure, counted by SQL; the pause it starts, if any."""
    with db.atomic():
        LoginThrottle.insert(key=key, account=account.id if account else None, failures=1,
                             updated_at=now).on_conflict(
            conflict_target=[LoginThrottle.key],
            update={LoginThrottle.failures: LoginThrottle.failures + 1,
                    LoginThrottle.updated_at: now}).execute()
        failures = LoginThrottle.select(LoginThrottle.failures).where(
            LoginThrottle.key == key).scalar()
        delay = lock_delay(failures)
        if delay is None:
            return None
        until = now + delay
        LoginThrottle.update(locked_until=until).where(LoginThrottle.key == key).execute()
    return until


def _alert_owner(account: Account, now: datetime.datetime, postman) -> None:
    """At most one SMS an hour per account about repeated failed logins."""
    if postman is None or not account.phone:
        return
    claimed = Account.update(failure_alert_at=now).where(
        Account.id == account.id,
        Account.failure_alert_at.is_null() | (Account.failure_alert_at < now - ALERT_EVERY)
    ).execute()
    if claimed:
        try:
            notify(account, "login_failures.txt", postman=postman)
        except MessagingError:
            pass  # the pause stands; the owner sees the failures in 登录记录


def authenticate(login: str, password: str, *, ip: str, user_agent: str, postman=None,
                 now: datetime.datetime | None = None) -> LoginResult:
    """Check a password; failures pause logins for this account from this address.

    Unknown logins run the same way (a dummy hash, a throttle keyed by what was
    typed), so answers, pauses and timing do not tell whether an account exists.
    """
    now = now or utcnow()
    account = find_for_login(login)
    key = _throttle_key(account, login, ip)
    LoginThrottle.delete().where(
        LoginThrottle.key == key, LoginThrottle.updated_at < now - FORGET_FAILURES_AFTER).execute()
    throttle = LoginThrottle.get_or_none(LoginThrottle.key == key)
    if throttle and throttle.locked_until and throttle.locked_until > now:
        if account:
            LoginEvent.create(account=account, ip=ip, user_agent=user_agent[:512], success=False)
        return LoginResult(locked_until=throttle.locked_until)
    # The hash check takes a while: a password change or another failure may be
    # written meanwhile, so the writes below change only their own columns, by SQL.
    right = check_password(account.password_hash if account else _DUMMY_HASH, password)
    if not (account and right):
        locked_until = _count_failure(key, account, now)
        if account:
            LoginEvent.create(account=account, ip=ip, user_agent=user_agent[:512], success=False)
            if locked_until:
                audit.log("account.locked", account=account, ip=ip)
                _alert_owner(account, now, postman)
        return LoginResult(locked_until=locked_until)
    with db.atomic():
        # Guarded: an account disabled meanwhile (even during the hash) stays out.
        allowed = Account.update(last_login_at=now).where(
            Account.id == account.id, Account.disabled_at.is_null()).execute()
        if not allowed:
            LoginEvent.create(account=account, ip=ip, user_agent=user_agent[:512], success=False)
            reason = Account.select(Account.disabled_reason).where(
                Account.id == account.id).scalar()
            return LoginResult(disabled_reason=reason or "")
        LoginThrottle.delete().where(LoginThrottle.key == key).execute()
        if _hasher.check_needs_rehash(account.password_hash):
            # Only if the hash is still the one just checked.
            Account.update(password_hash=hash_password(password)).where(
                Account.id == account.id,
                Account.password_hash == account.password_hash).execute()
        LoginEvent.create(account=account, ip=ip, user_agent=user_agent[:512], success=True)
    return LoginResult(account=Account.get_by_id(account.id))


# --- login sessions (one per login on one device) -----------------------------

SEEN_EVERY = datetime.timedelta(minutes=5)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_login_session(account: Account, *, ip: str, user_agent: str) -> str:
    """A new login session; its token goes into the account's id for Flask-Login."""
    token = new_token()
    LoginSession.create(token_hash=_token_hash(token), account=account, ip=ip,
                        user_agent=(user_agent or "")[:512])
    account.login_token = token
    return token


def load_for_session(user_id: str, now: datetime.datetime | None = None):
    """The account a session or remember cookie names, if that login still stands.

    `user_id` is Account.get_id(): "account id:session version:login token".
    """
    parts = (user_id or "").split(":")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[2]:
        return None
    account_id, version, token = parts
    login = _login_with_account(_token_hash(token), int(account_id))
    if login is None or login.ended_at is not None:
        return None
    account = login.account
    if (str(account.session_version) != version or account.is_disabled
            or account.closed_at is not None):
        return None
    now = now or utcnow()
    if login.last_seen_at < now - SEEN_EVERY:
        LoginSession.update(last_seen_at=now).where(LoginSession.id == login.id).execute()
    account.login_token = token
    return account


_SESSION_SQL = {}  # database class -> (sql, params), built once per dialect
_HASH_SLOT = "<login token hash>"  # where the hash goes in the params (no hash looks like it)
_SESSION_COLUMNS = (LoginSession._meta.sorted_fields, Account._meta.sorted_fields)


def _login_with_account(token_hash: str, account_id: int):
    """The LoginSession of `token_hash` for `account_id`, its .account loaded by the same
    query (issue 12: at most 3 queries for /records), or None. This runs on every
    signed-in request: its SQL is built once per database dialect (building it cost
    more than running it) and the row is read into the models as peewee would."""
    dialect = type(db.obj)
    if dialect not in _SESSION_SQL:
        _SESSION_SQL[dialect] = (LoginSession.select(LoginSession, Account).join(Account)
                                 .where(LoginSession.token_hash == _HASH_SLOT,
                                        LoginSession.account == -1).limit(1).sql())
    sql, params = _SESSION_SQL[dialect]
    row = db.execute_sql(sql, [token_hash if p == _HASH_SLOT else account_id if p == -1 else p
                               for p in params]).fetchone()
    if row is None:
        return None
    session_fields, account_fields = _SESSION_COLUMNS
    login = _from_row(LoginSession, session_fields, row[:len(session_fields)])
    login.account = _from_row(Account, account_fields, row[len(session_fields):])
    return login


def _from_row(model, fields, values):
    instance = model(__no_default__=1, **{
        field.name: field.python_value(value) for field, value in zip(fields, values)})
    instance._dirty.clear()  # as read from the database: nothing to save
    return instance


def end_all_login_sessions(account_id: int, now: datetime.datetime | None = None) -> int:
    """Every device of the account logged out: the session version moves (by SQL) and
    every open LoginSession row ends. Returns how many login sessions were open."""
    now = now or utcnow()
    with db.atomic():
        Account.update(session_version=Account.session_version + 1).where(
            Account.id == account_id).execute()
        return LoginSession.update(ended_at=now).where(
            LoginSession.account == account_id, LoginSession.ended_at.is_null()).execute()


def end_login_session(account: Account) -> None:
    """Log out this device: its session and remember cookies stop working."""
    if account.login_token:
        LoginSession.update(ended_at=utcnow()).where(
            LoginSession.token_hash == _token_hash(account.login_token),
            LoginSession.ended_at.is_null()).execute()


# --- self-service changes (the account page) --------------------------------

def email_of(account: Account) -> str | None:
    """The account's e-mail address: a student's username is one (checked at
    registration, not proven unless the code went there); staff names may not be."""
    try:
        return identity.normalize_email(account.username or "")
    except identity.IdentityError:
        return None


def notify(account: Account, template_name: str, *, postman, email: bool = False,
           phone: str | None = None, **context) -> None:
    """An SMS to the account's bound phone (or `phone`) about something done to the
    account; with `email`, the same text to the username's address too. Both are
    tried; the first failure is raised afterwards.

    When the school's SMS does not reach the number (INTERNATIONAL_SMS off, a
    number outside +86) the text goes to the username's address instead, or,
    when the username is not an e-mail address, nowhere (logged)."""
    failure = None
    phone = phone or account.phone
    destinations = [("sms", phone)]
    if phone and not postman.can_text(phone):
        destinations = [("email", email_of(account))]
        if destinations[0][1] is None:
            log.info("%s for account %s not sent: no SMS abroad and no e-mail address",
                     template_name, account.id)
    if email and ("email", email_of(account)) not in destinations:
        destinations.append(("email", email_of(account)))
    for channel, to in destinations:
        if not to:
            continue
        try:
            postman.send(template_name, channel=channel, to=to, **context)
        except MessagingError as error:
            failure = failure or error
    if failure:
        raise failure


def require_password(account: Account, password: str) -> None:
    if not check_password(account.password_hash, password or ""):
        raise AccountError(_l("当前密码不正确。"), field="current_password")


def change_username(account: Account, new_username: str, current_password: str, *,
                    postman, ip: str) -> None:
    require_password(account, current_password)
    old = account.username
    if new_username == old:
        raise AccountError(_l("新用户名与当前用户名相同。"), field="new_username")
    try:
        with db.atomic():
            account.username = new_username
            account.save(only=[Account.username])
            audit.log("account.username_changed", account=account, ip=ip,
                  detail=f"{identity.mask_email(old)} -> {identity.mask_email(new_username)}")
    except IntegrityError:
        account.username = old
        raise AccountError(_l("该用户名已被注册，请换一个。"), field="new_username") from None
    notify(account, "username_changed.txt", postman=postman, username=new_username)


def change_password(account: Account, current_password: str, new_password: str, *,
                    postman, ip: str) -> None:
    """New password; every other session ends (the caller renews its own)."""
    require_password(account, current_password)
    problem = identity.password_problem(new_password, username=account.username,
                                        id_number=account.id_number or "")
    if problem:
        raise AccountError(problem, field="new_password")
    new_hash = hash_password(new_password)
    with db.atomic():
        # Guarded by the session version read: if every session was ended
        # meanwhile (a reset, an appeal), this session no longer counts.
        changed = Account.update(password_hash=new_hash,
                                 session_version=Account.session_version + 1).where(
            Account.id == account.id,
            Account.session_version == account.session_version).execute()
        if not changed:
            raise AccountError(_l("账号的登录状态已变化，请重新登录后再修改密码。"),
                               field="current_password")
        account.password_hash = new_hash
        account.session_version += 1
        audit.log("account.password_changed", account=account, ip=ip)
    notify(account, "password_changed.txt", postman=postman)


def phone_change(token: str | None, account: Account):
    """The account's phone change in progress with this token, or None."""
    return challenges.find(challenges.CHANGE_PHONE, token, account=account)


def start_phone_change(account: Account, current_password: str, new_phone: str, *,
                       postman, ip: str) -> Challenge:
    """Check the password, then send a code to the NEW number (stored in E.164)."""
    require_password(account, current_password)
    new_phone = identity.normalize_phone(new_phone)
    if new_phone == account.phone:
        raise AccountError(_l("新手机号码与当前号码相同。"), field="new_phone")
    if not postman.can_text(new_phone):
        raise AccountError(_l("本校短信服务不支持境外号码，无法向这个号码发送校验码；"
                              "请填写中国大陆手机号码，或联系学校。"), field="new_phone")
    with db.atomic():
        challenge = challenges.start(challenges.CHANGE_PHONE, account=account,
                                     payload={"phone": new_phone})
        challenges.send_code(challenge, challenges.SMS, postman=postman, ip=ip)
    return challenge


def finish_phone_change(challenge: Challenge, *, postman, ip: str) -> str:
    """The code to the new number was right: change the number, tell both
    numbers; returns the new number masked."""
    if challenge.verified_at is None:
        raise AccountError(_l("请先完成校验码验证。"))
    account = challenge.account
    new_phone = challenge.payload["phone"]
    old_phone = account.phone
    with db.atomic():
        account.phone = new_phone
        account.save(only=[Account.phone, Account.phone_index])
        challenges.finish(challenge)
        audit.log("account.phone_changed", account=account, ip=ip,
              detail=f"{identity.mask_phone(old_phone)} -> {identity.mask_phone(new_phone)}")
    # One message per address: two numbers abroad both fall back to the same e-mail.
    for phone in sorted({new_phone, old_phone} - {None, ""}, key=lambda p: p != new_phone):
        if not postman.can_text(phone) and phone != new_phone and not postman.can_text(new_phone):
            continue
        notify(account, "phone_changed.txt", postman=postman, phone=phone,
               old_phone=identity.mask_phone(old_phone),
               new_phone=identity.mask_phone(new_phone))
    return identity.mask_phone(new_phone)


@dataclass(frozen=True)
class LoginHistory:
    recent: list            # the last 20 successful logins, newest first
    failures: list          # failed attempts since the login before this session's


def login_history(account: Account) -> LoginHistory:
    recent = list(LoginEvent.select()
                  .where(LoginEvent.account == account.id, LoginEvent.success == True)  # noqa: E712
                  .order_by(LoginEvent.at.desc(), LoginEvent.id.desc()).limit(20))
    failures = LoginEvent.select().where(LoginEvent.account == account.id,
                                         LoginEvent.success == False)  # noqa: E712
    # "Since the last success" means before the current session's own login.
    if len(recent) > 1:
        failures = failures.where(LoginEvent.at > recent[1].at)
    return LoginHistory(recent=recent,
                        failures=list(failures.order_by(LoginEvent.at.desc()).limit(50)))


@dataclass(frozen=True)
class Profile:
    masked_id: str
    masked_phone: str


def profile(account: Account) -> Profile:
    return Profile(masked_id=identity.mask_id(account.id_number or ""),
                   masked_phone=identity.mask_phone(account.phone or ""))


# --- what the school does to an account (学籍管理员 for students, 管理员 for staff) ---

MAX_REASON = 200


def unlock(account: Account, *, actor: str, ip: str = "") -> int:
    """解除锁定: every login pause of the account ends. Returns how many were lifted."""
    with db.atomic():
        lifted = lift_throttles(account)
        audit.log("account.unlocked", account=account, detail=f"{lifted} lifted", actor=actor,
                  ip=ip)
    return lifted


def end_sessions(account: Account, *, actor: str, ip: str = "") -> int:
    """结束全部会话: every device of the account is logged out at once."""
    with db.atomic():
        ended = end_all_login_sessions(account.id)
        audit.log("account.sessions_ended", account=account, detail=f"{ended} ended",
                  actor=actor, ip=ip)
    return ended


def clean_reason(reason: str) -> str:
    text = " ".join((reason or "").split())
    if not text:
        raise AccountError(_l("请写明停用的原因，账号的主人登录时会看到。"), field="reason")
    if len(text) > MAX_REASON:
        raise AccountError(_l("原因最多 %(count)s 字。", count=MAX_REASON), field="reason")
    return text


def disable(account: Account, reason: str, *, actor: str, ip: str = "",
            now: datetime.datetime | None = None) -> None:
    """停用: the account can no longer log in (the login page gives the reason) and
    every session ends. One guarded UPDATE: disabling twice at once disables once."""
    reason = clean_reason(reason)
    now = now or utcnow()
    with db.atomic():
        done = Account.update(disabled_at=now, disabled_reason=reason).where(
            Account.id == account.id, Account.disabled_at.is_null()).execute()
        if not done:
            raise AccountError(_l("该账号已经停用。"), field="reason")
        end_all_login_sessions(account.id, now)
        audit.log("account.disabled", account=account, detail=reason,
                  changes={"account": account.id,
                           "fields": {"state": ["enabled", "disabled"],
                                      "disabled_reason": ["", reason]}},
                  actor=actor, ip=ip)
    account.disabled_at, account.disabled_reason = now, reason


def enable(account: Account, *, actor: str, ip: str = "") -> None:
    """启用: the account may log in again (its password is unchanged)."""
    with db.atomic():
        reason = Account.select(Account.disabled_reason).where(Account.id == account.id).scalar()
        done = Account.update(disabled_at=None, disabled_reason=None).where(
            Account.id == account.id, Account.disabled_at.is_null(False)).execute()
        if not done:
            raise AccountError(_l("该账号没有停用。"))
        audit.log("account.enabled", account=account,
                  changes={"account": account.id,
                           "fields": {"state": ["disabled", "enabled"],
                                      "disabled_reason": [reason or "", ""]}},
                  actor=actor, ip=ip)
    account.disabled_at = account.disabled_reason = None


@dataclass(frozen=True)
class AccessState:
    """What the staff see about an account's access: disabled, or its logins paused."""
    disabled: bool
    disabled_at: datetime.datetime | None
    disabled_reason: str
    paused_until: datetime.datetime | None   # the latest login pause still running
    failures: int                            # failed logins counted now, all addresses


def access_state(account: Account, now: datetime.datetime | None = None) -> AccessState:
    now = now or utcnow()
    throttles = LoginThrottle.select().where(
        LoginThrottle.account == account.id,
        LoginThrottle.updated_at >= now - FORGET_FAILURES_AFTER)
    paused = [t.locked_until for t in throttles if t.locked_until and t.locked_until > now]
    return AccessState(disabled=account.is_disabled, disabled_at=account.disabled_at,
                       disabled_reason=account.disabled_reason or "",
                       paused_until=max(paused) if paused else None,
                       failures=sum(t.failures for t in throttles))
