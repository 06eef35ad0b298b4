"""注销账号: a student closes their own account; the school's purge erases it later.

Closing needs the password and a 校验码 (the flow challenges.CLOSE_ACCOUNT, to the
bound phone, or to the username's e-mail where the school's SMS does not reach
the phone). Then, in one transaction:

- every report of the account not closed yet is closed: a verifier sees "closed
  by its owner" for its code, as after 关闭报告;
- every record bound to the account is unbound (account, bound_by and bound_at
  cleared) and stays with the school: an account registered later with the same
  ID number binds it again, like any record that was never bound;
- pending correction requests and the pending bind request are closed (status
  rejected, with the reason), running challenges (a phone change) end;
- the ID number is cleared, so the same person may register again, and the
  username becomes "#closed-<id>" (no username can hold "#"), so the register
  flow may take it again too;
- every session ends and login pauses go; a closed account cannot log in: the
  login, recovery and the registrar's bind-by-username no longer find it, and
  the login page answers as for an unknown account;
- `closed_at` is now and `erase_after` now + CLOSED_ACCOUNT_RETENTION_DAYS.

The real name and phone stay until then: the school can still answer the
person. Once `erase_after` has passed, `flask --app app purge` erases the
personal data left (`erase_due`): name, passport spelling, phone, password (an
unusable value), login events and sessions, challenges and their codes, bind
attempts, correction evidence files, the reports' PDFs and snapshots. The rows
stay (a report's code still verifies as closed), and so does the audit trail.
"""
import datetime
import json
import logging
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from models import (RECORD_MODELS, Account, BindAttempt, BindRequest, Challenge,
                    CorrectionRequest, LoginEvent, LoginSession, LoginThrottle, OneTimeCode,
                    Report, db, utcnow, write_transaction)
from services import accounts, audit, challenges, files, identity
from services.errors import ServiceError
from services.messaging import MessagingError

log = logging.getLogger(__name__)

# What an erased report's snapshot holds: its code stays in Report.code.
ERASED_SNAPSHOT = json.dumps({"erased": True})
# A password hash no password matches (argon2 refuses it as malformed).
ERASED_PASSWORD = "!erased"  # nosec B105 # not a password: a value no password matches
CLOSED_REASON = "账号已注销，申请随之关闭。"


class ClosingError(ServiceError):
    pass


def closed_username(account_id: int) -> str:
    return f"#closed-{account_id}"


def hold_open(account_id: int) -> bool:
    """Inside a write transaction: whether the account is still open, its row held
    until the transaction ends (a no-op UPDATE takes PostgreSQL's row lock; SQLite's
    write transaction holds the whole database). A close waits for the holder, or
    the holder sees the close: a report issued at the same moment is closed too, or
    refused."""
    return bool(Account.update(closed_at=Account.closed_at).where(
        Account.id == account_id, Account.closed_at.is_null()).execute())


def _channel(account: Account, reach) -> str:
    """The bound phone when the school's SMS reaches it, else the username's e-mail
    where codes may go there (challenges: edu.cn, or any under FOREIGN_ID_ANY_EMAIL)."""
    if account.phone and reach.can_text(account.phone):
        return challenges.SMS
    email = accounts.email_of(account)
    if email and (identity.is_edu_email(email) or (
            reach.foreign_id_any_email and account.id_type
            and account.id_type != identity.RESIDENT_ID)):
        return challenges.EMAIL
    raise ClosingError(_l("校验码无法发送到你绑定的手机或邮箱，请联系学校注销账号。"),
                       field="current_password")


def find(token: str | None, account: Account):
    """The account's close in progress with this token, or None."""
    return challenges.find(challenges.CLOSE_ACCOUNT, token, account=account)


def start(account: Account, password: str, *, postman, ip: str) -> tuple[Challenge, str]:
    """Check the password, then send a code to the account's phone (or e-mail);
    the challenge and where the code went, masked."""
    if account.is_staff:
        raise ClosingError(_l("工作人员账号不能自行注销，请联系管理员。"), field="current_password")
    accounts.require_password(account, password)
    channel = _channel(account, postman.reach())
    with db.atomic():
        challenge = challenges.start(challenges.CLOSE_ACCOUNT, account=account,
                                     payload={"channel": channel})
        return challenge, challenges.send_code(challenge, channel, postman=postman, ip=ip)


def sent_to(challenge: Challenge) -> str:
    """Where the close's codes go, masked for the screen."""
    account = challenge.account
    if challenge.payload.get("channel") == challenges.EMAIL:
        return identity.mask_email(account.username)
    return identity.mask_phone(account.phone or "")


@dataclass(frozen=True)
class Closed:
    reports: int            # reports closed now
    records: int            # records unbound
    erase_after: datetime.datetime


def close(challenge: Challenge, *, retention_days: int, postman, ip: str,
          now: datetime.datetime | None = None) -> Closed:
    """The code was right: close the account (see the module's docstring) and tell
    its owner. Two closes at once: the guarded UPDATE lets one through."""
    if challenge.verified_at is None or challenge.account is None:
        raise ClosingError(_l("请先完成校验码验证。"), field="code")
    account = challenge.account
    now = now or utcnow()
    erase_after = now + datetime.timedelta(days=int(retention_days))
    old_username = account.username
    with write_transaction():
        if not Account.update({
                Account.closed_at: now, Account.erase_after: erase_after,
                Account.username: closed_username(account.id),
                Account.id_number: None, Account.id_number_index: None,
                Account.session_version: Account.session_version + 1,
        }).where(Account.id == account.id, Account.closed_at.is_null()).execute():
            raise ClosingError(_l("该账号已经注销。"), field="code")
        LoginSession.update(ended_at=now).where(
            LoginSession.account == account.id, LoginSession.ended_at.is_null()).execute()
        accounts.lift_throttles(account)
        reports = Report.update(closed_at=now).where(
            Report.account == account.id, Report.closed_at.is_null()).execute()
        records = sum(model.update(account=None, bound_by=None, bound_at=None)
                      .where(model.account == account.id).execute() for model in RECORD_MODELS)
        corrections = CorrectionRequest.update(
            status=CorrectionRequest.REJECTED, reply=CLOSED_REASON, decided_at=now,
            decided_by=old_username, pending_key=None).where(
            CorrectionRequest.account == account.id,
            CorrectionRequest.status == CorrectionRequest.PENDING).execute()
        BindRequest.update(status=BindRequest.REJECTED, reason=CLOSED_REASON, decided_at=now,
                           decided_by=old_username, pending_key=None).where(
            BindRequest.account == account.id,
            BindRequest.status == BindRequest.PENDING).execute()
        challenges.finish(challenge, now=now)
        Challenge.update(finished_at=now, payload={}, password_hash=None).where(
            Challenge.account == account.id, Challenge.finished_at.is_null()).execute()
        audit.log("account.closed", account=account, actor=old_username, ip=ip,
                  detail=(f"{identity.mask_email(old_username)}; reports closed {reports}, "
                          f"records unbound {records}, corrections closed {corrections}; "
                          f"erase after {erase_after:%Y-%m-%d}"))
    try:
        # The object still holds the old username and phone: where the message goes.
        accounts.notify(account, "account_closed.txt", postman=postman, email=True,
                        erase_after=erase_after)
    except MessagingError:
        log.exception("the closing confirmation for account %s was not sent", account.id)
    account.closed_at, account.erase_after = now, erase_after
    account.username, account.id_number = closed_username(account.id), None
    return Closed(reports=reports, records=records, erase_after=erase_after)


def erase(account_id: int, *, now: datetime.datetime | None = None) -> bool:
    """Erase what is personal in a closed account (see the module's docstring); False
    when it is not closed or erased already."""
    now = now or utcnow()
    with write_transaction():
        account = Account.get_or_none(Account.id == account_id, Account.closed_at.is_null(False),
                                      Account.erase_after.is_null(False))
        if account is None:
            return False
        tokens = [token for (token,) in Challenge.select(Challenge.token)
                  .where(Challenge.account == account_id).tuples()]
        if tokens:
            OneTimeCode.delete().where(OneTimeCode.subject.in_(tokens)).execute()
        Challenge.delete().where(Challenge.account == account_id).execute()
        for model in (LoginEvent, LoginSession, LoginThrottle, BindAttempt):
            model.delete().where(model.account == account_id).execute()
        pdfs = [name for (name,) in Report.select(Report.pdf_path)
                .where(Report.account == account_id).tuples()]
        Report.update(snapshot=ERASED_SNAPSHOT, pdf_path=None, pdf_sha256=None).where(
            Report.account == account_id).execute()
        evidence = [name for (name,) in CorrectionRequest.select(CorrectionRequest.evidence_path)
                    .where(CorrectionRequest.account == account_id).tuples()]
        CorrectionRequest.update(evidence_path=None).where(
            CorrectionRequest.account == account_id).execute()
        removed = files.delete(*pdfs, *evidence)
        Account.update({
            Account.real_name: None, Account.latin_name: None,
            Account.phone: None, Account.phone_index: None,
            Account.password_hash: ERASED_PASSWORD, Account.last_login_at: None,
            Account.failure_alert_at: None, Account.disabled_reason: None,
            Account.erase_after: None,
        }).where(Account.id == account_id).execute()
        audit.log("account.erased", account=account, actor="cli",
                  detail=f"closed {account.closed_at:%Y-%m-%d}; files {removed}")
    return True


def erase_due(now: datetime.datetime | None = None) -> int:
    """Erase every closed account whose retention period has passed; how many."""
    now = now or utcnow()
    due = [account_id for (account_id,) in Account.select(Account.id).where(
        Account.closed_at.is_null(False), Account.erase_after <= now).tuples()]
    return sum(erase(account_id, now=now) for account_id in due)
