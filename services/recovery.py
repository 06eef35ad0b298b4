"""Account recovery: 找回用户名 and 忘记密码.

Both flows identify an account from what the person typed, send a code to the
phone (or edu.cn e-mail) the account is bound to, and act once the code is
right. When the details match no account the flow runs just the same, with a
code that is never sent (services.challenges' decoy), so no answer reveals
whether an account exists.
"""
from flask_babel import lazy_gettext as _l

import crypto
from models import Account, Challenge, db, utcnow
from services import accounts, audit, challenges, identity, phone_regions
from services.errors import ServiceError

FLOWS = {"username": challenges.FIND_USERNAME, "password": challenges.RESET_PASSWORD}


class RecoveryError(ServiceError):
    pass


def find(flow: str, token: str | None):
    return challenges.find(FLOWS[flow], token)


def start_find_username(real_name: str, id_number: str) -> Challenge:
    account = (Account.select()
               .where(Account.id_number.matches(id_number), Account.role == Account.STUDENT)
               .first())
    if account and identity.name_key(account.real_name) != identity.name_key(real_name):
        account = None
    return challenges.start(challenges.FIND_USERNAME, account=account,
                            payload=_typed(challenges.FIND_USERNAME, id_number,
                                           identity.name_key(real_name)))


def start_password_reset(login: str, region: str = phone_regions.DEFAULT) -> Challenge:
    """`region`: the country or region a phone number typed without + is read in."""
    return challenges.start(challenges.RESET_PASSWORD,
                            account=accounts.find_for_login(login, region),
                            payload=_typed(challenges.RESET_PASSWORD,
                                           identity.fold(login or "").strip().lower()))


def _typed(flow, *typed) -> dict:
    """A keyed hash of what was typed: the decoy destination when nothing matched,
    so the hourly limit per destination fills up for an unknown identity too."""
    return {"typed": crypto.blind_index(":".join((flow.purpose, *typed)))}


def _verified_account(challenge: Challenge) -> Account:
    if challenge.verified_at is None or challenge.account is None:
        raise RecoveryError(_l("请先完成校验码验证。"))
    return challenge.account


def finish_find_username(challenge: Challenge, *, postman, ip: str) -> str:
    """Send the username in full by SMS; return it masked for the screen."""
    account = _verified_account(challenge)
    with db.atomic():
        challenges.finish(challenge)
        audit.log("account.username_recovered", account=account, ip=ip)
    accounts.notify(account, "username_recovered.txt", postman=postman, username=account.username)
    return identity.mask_email(account.username)


def finish_password_reset(challenge: Challenge, new_password: str, *, postman, ip: str) -> Account:
    """Set the new password, end every session and lift a lock."""
    account = _verified_account(challenge)
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
        challenges.finish(challenge, now=finished_at)
        Account.update(password_hash=new_hash, session_version=Account.session_version + 1
                       ).where(Account.id == account.id).execute()
        accounts.lift_throttles(account)
        audit.log("account.password_reset", account=account, ip=ip)
    accounts.notify(account, "password_reset.txt", postman=postman)
    return account
