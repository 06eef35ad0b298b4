"""Account recovery: 找回用户名 and 忘记密码.

Both flows identify an account from what the person typed, send a code to the
phone (or edu.cn e-mail) the account is bound to, and act once the code is
right. When the details match no account the flow runs just the same, with a
code that is never sent, so no answer reveals whether an account exists.
"""
import datetime

from flask_babel import lazy_gettext as _l

import crypto
from models import Account, Challenge, db, utcnow
from services import accounts, codes, identity
from services.errors import ServiceError

FIND_USERNAME = "recover_username"
RESET_PASSWORD = "reset_password"
LIFETIME = datetime.timedelta(minutes=30)


class RecoveryError(ServiceError):
    pass


def find_challenge(token, purpose, now=None):
    if not token:
        return None
    challenge = Challenge.get_or_none(Challenge.token == token, Challenge.purpose == purpose)
    if challenge is None or challenge.finished_at is not None:
        return None
    if challenge.created_at < (now or utcnow()) - LIFETIME:
        return None
    return challenge


def start_find_username(real_name: str, id_number: str) -> Challenge:
    account = (Account.select()
               .where(Account.id_number.matches(id_number), Account.role == Account.STUDENT)
               .first())
    if account and identity.name_key(account.real_name) != identity.name_key(real_name):
        account = None
    return Challenge.create(purpose=FIND_USERNAME, account=account,
                            payload=_typed(FIND_USERNAME, id_number, identity.name_key(real_name)))


def start_password_reset(login: str) -> Challenge:
    account = accounts.find_for_login(login)
    return Challenge.create(purpose=RESET_PASSWORD, account=account,
                            payload=_typed(RESET_PASSWORD, identity.fold(login or "").strip().lower()))


def _typed(purpose: str, *typed) -> dict:
    """A keyed hash of what was typed: the decoy destination when nothing matched,
    so the hourly limit per destination fills up for an unknown identity too."""
    return {"typed": crypto.blind_index(":".join((purpose, *typed)))}


def _destination(challenge: Challenge, channel: str):
    """Where the code goes, or None when it must not be sent anywhere."""
    account = challenge.account
    if account is None:
        return None
    if channel == "email":
        return account.username if identity.is_edu_email(account.username) else None
    return account.phone


def send_code(challenge: Challenge, channel: str, *, postman, ip: str) -> None:
    """Issue a code; it is sent only to a real account's bound phone or e-mail.

    The resend and hourly limits apply in both cases, counted per challenge and
    per destination, so an unknown ID behaves like a known one.
    """
    if channel not in ("sms", "email"):
        raise RecoveryError(_l("请选择获取校验码的方式。"), field="channel")
    to = _destination(challenge, channel)
    decoy = (f"account:{challenge.account_id}" if challenge.account_id
             else challenge.payload.get("typed", challenge.token))
    code = codes.issue(challenge.purpose, challenge.token, channel, to or f"nowhere:{decoy}", ip=ip)
    if to is None:
        return
    template = ("recover_username_code.txt" if challenge.purpose == FIND_USERNAME
                else "recover_password_code.txt")
    postman.send(template, channel=channel, to=to, code=code, minutes=codes.VALID_MINUTES)


def check_code(challenge: Challenge, code: str) -> None:
    codes.verify(challenge.purpose, challenge.token, code)
    if challenge.account is None:
        # Nobody received this code; a lucky guess must not look different.
        raise codes.CodeError(_l("校验码不正确。"))
    challenge.verified_at = utcnow()
    challenge.save()


def finish_find_username(challenge: Challenge, *, postman, ip: str) -> str:
    """Send the username in full by SMS; return it masked for the screen."""
    if challenge.verified_at is None or challenge.account is None:
        raise RecoveryError(_l("请先完成校验码验证。"))
    account = challenge.account
    with db.atomic():
        challenge.finished_at = utcnow()
        challenge.save()
        accounts.audit("account.username_recovered", account=account, ip=ip)
    accounts.notify(account, "username_recovered.txt", postman=postman, username=account.username)
    return identity.mask_email(account.username)


def finish_password_reset(challenge: Challenge, new_password: str, *, postman, ip: str) -> Account:
    """Set the new password, end every session and lift a lock."""
    if challenge.verified_at is None or challenge.account is None:
        raise RecoveryError(_l("请先完成校验码验证。"))
    account = challenge.account
    problem = identity.password_problem(new_password, username=account.username,
                                        id_number=account.id_number or "")
    if problem:
        raise RecoveryError(problem, field="password")
    new_hash = accounts.hash_password(new_password)
    with db.atomic():
        # One reset per challenge, and only the columns a reset means to change.
        finished_at = utcnow()
        if not Challenge.update(finished_at=finished_at).where(
                Challenge.id == challenge.id, Challenge.finished_at.is_null()).execute():
            raise RecoveryError(_l("请先完成校验码验证。"))
        challenge.finished_at = finished_at
        Account.update(password_hash=new_hash, session_version=Account.session_version + 1
                       ).where(Account.id == account.id).execute()
        accounts.lift_throttles(account)
        accounts.audit("account.password_reset", account=account, ip=ip)
    accounts.notify(account, "password_reset.txt", postman=postman)
    return account
