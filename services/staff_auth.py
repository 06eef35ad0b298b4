"""The registrar's second factor: TOTP (RFC 6238) plus one-time recovery codes.

Registrar accounts can read and change every record, so a password alone does not
log them in. The first login after the password enrols an authenticator app (the
secret is stored encrypted and counts only once the person has typed a right code);
every later login asks for a current code or an unused recovery code.

Rules enforced here, whatever the caller:
- a code is accepted in its 30-second step and one step either side;
- a code works once: the step of the last accepted code is stored and moved
  forward by one conditional UPDATE, so two requests with the same code cannot
  both pass;
- `MAX_FAILED` wrong codes in a row bump `generation`, which voids every pending
  login of the account: the person must type the password again;
- recovery codes are stored as keyed hashes and used by one conditional UPDATE.
"""
import hmac
import secrets
import unicodedata

import pyotp
from flask_babel import lazy_gettext as _l

import crypto
from models import Account, StaffRecoveryCode, StaffTotp, db, utcnow
from services import accounts, audit
from services.errors import ServiceError

STEP_SECONDS = 30
VALID_WINDOW = 1          # steps either side of now
MAX_FAILED = 5
PENDING_SECONDS = 5 * 60  # how long a correct password waits for the code
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
_RECOVERY_LENGTH = 10


class SecondFactorError(ServiceError):
    """A wrong, reused or malformed code; `restart` says the password is needed again."""

    def __init__(self, message, field="code", restart=False):
        super().__init__(message, field=field)
        self.restart = restart


def needs_second_factor(account: Account) -> bool:
    return bool(account and account.is_staff)


def factor_for(account: Account):
    return StaffTotp.get_or_none(StaffTotp.account == account.id)


def is_enrolled(account: Account) -> bool:
    factor = factor_for(account)
    return bool(factor and factor.enrolled_at)


def pending_secret(account: Account) -> str:
    """The secret to enrol, made once and kept until confirmed (a reload shows the
    same QR code). Refused for an account that is already enrolled."""
    factor = factor_for(account)
    if factor and factor.enrolled_at:
        raise SecondFactorError(_l("这个账号已经设置了动态验证码。"))
    if factor:
        return factor.secret
    with db.atomic():
        StaffTotp.insert(account=account.id, secret=pyotp.random_base32(),
                         created_at=utcnow()).on_conflict_ignore().execute()
    return factor_for(account).secret


def provisioning_uri(account: Account, secret: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account.username, issuer_name=issuer)


def grouped(secret: str) -> str:
    """The secret in groups of four, for typing into an app by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def _fold(code: str) -> str:
    """Full-width digits and letters folded, spaces and hyphens dropped, upper case."""
    text = unicodedata.normalize("NFKC", code or "")
    return "".join(ch for ch in text if not ch.isspace() and ch not in "-—").upper()


def _matching_counter(secret: str, code: str, at: float) -> int | None:
    if not (len(code) == 6 and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    now_counter = int(at) // STEP_SECONDS
    for counter in range(now_counter - VALID_WINDOW, now_counter + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(counter), code):
            return counter
    return None


def _count_failure(factor: StaffTotp) -> None:
    """One more wrong code, counted in SQL; the last allowed one voids pending logins."""
    StaffTotp.update(failed=StaffTotp.failed + 1).where(StaffTotp.id == factor.id).execute()
    failed = StaffTotp.select(StaffTotp.failed).where(StaffTotp.id == factor.id).scalar()
    if failed >= MAX_FAILED:
        StaffTotp.update(failed=0, generation=StaffTotp.generation + 1).where(
            StaffTotp.id == factor.id, StaffTotp.failed >= MAX_FAILED).execute()
        raise SecondFactorError(
            _l("动态验证码连续输错 %(count)s 次，请重新输入密码登录。", count=MAX_FAILED),
            restart=True)
    raise SecondFactorError(_l("动态验证码不正确，还可以再试 %(left)s 次。", left=MAX_FAILED - failed))


def generation(account: Account) -> int:
    factor = factor_for(account)
    return factor.generation if factor else 0


def _new_recovery_codes(account: Account) -> list[str]:
    codes = ["".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
             for _ in range(RECOVERY_CODES)]
    StaffRecoveryCode.delete().where(StaffRecoveryCode.account == account.id).execute()
    StaffRecoveryCode.insert_many(
        [{"account": account.id, "code_hash": crypto.blind_index("recovery:" + code),
          "created_at": utcnow()} for code in codes]).execute()
    return [f"{code[:5]}-{code[5:]}" for code in codes]


def confirm_enrolment(account: Account, code: str, *, at: float, ip: str = "") -> list[str]:
    """Save the enrolment if `code` is right for the pending secret; returns the
    recovery codes, in clear text this once."""
    code = _fold(code)
    if not code:
        raise SecondFactorError(_l("请填写动态验证码。"))
    factor = factor_for(account)
    if factor is None or factor.enrolled_at:
        raise SecondFactorError(_l("请重新输入密码登录。"), restart=True)
    counter = _matching_counter(factor.secret, code, at)
    if counter is None:
        _count_failure(factor)
    with db.atomic():
        done = StaffTotp.update(enrolled_at=utcnow(), last_counter=counter, failed=0).where(
            StaffTotp.id == factor.id, StaffTotp.enrolled_at.is_null()).execute()
        if not done:
            raise SecondFactorError(_l("请重新输入密码登录。"), restart=True)
        recovery = _new_recovery_codes(account)
        audit.log("admin.totp_enrolled", account=account, ip=ip)
    return recovery


def verify(account: Account, code: str, *, at: float, ip: str = "") -> str:
    """Check a TOTP code or a recovery code; returns "totp" or "recovery".

    A TOTP code moves `last_counter` forward in one conditional UPDATE: a code
    already used (or an older one) is refused, even by two requests at once."""
    code = _fold(code)
    if not code:
        raise SecondFactorError(_l("请填写动态验证码。"))
    factor = factor_for(account)
    if factor is None or not factor.enrolled_at:
        raise SecondFactorError(_l("请重新输入密码登录。"), restart=True)
    counter = _matching_counter(factor.secret, code, at)
    if counter is not None:
        moved = StaffTotp.update(last_counter=counter, failed=0).where(
            StaffTotp.id == factor.id,
            StaffTotp.last_counter.is_null() | (StaffTotp.last_counter < counter)).execute()
        if moved:
            audit.log("admin.login_totp", account=account, ip=ip)
            return "totp"
        raise SecondFactorError(_l("这个动态验证码已经用过了，请等下一个验证码出现后再输入。"))
    if len(code) == _RECOVERY_LENGTH and not code.isdigit():
        used = StaffRecoveryCode.update(used_at=utcnow()).where(
            StaffRecoveryCode.account == account.id,
            StaffRecoveryCode.code_hash == crypto.blind_index("recovery:" + code),
            StaffRecoveryCode.used_at.is_null()).execute()
        if used:
            StaffTotp.update(failed=0).where(StaffTotp.id == factor.id).execute()
            left = StaffRecoveryCode.select().where(StaffRecoveryCode.account == account.id,
                                                    StaffRecoveryCode.used_at.is_null()).count()
            audit.log("admin.login_recovery_code", account=account, ip=ip,
                           detail=f"{left} left")
            return "recovery"
    _count_failure(factor)


def recovery_codes_left(account: Account) -> int:
    return StaffRecoveryCode.select().where(StaffRecoveryCode.account == account.id,
                                            StaffRecoveryCode.used_at.is_null()).count()


def reset(account: Account, *, actor: str = "cli", ip: str = "") -> None:
    """Remove the second factor: the next login enrols a new one."""
    with db.atomic():
        StaffRecoveryCode.delete().where(StaffRecoveryCode.account == account.id).execute()
        StaffTotp.delete().where(StaffTotp.account == account.id).execute()
        audit.log("admin.totp_reset", account=account, actor=actor, ip=ip)


def enrolled_ids(account_ids) -> set[int]:
    """Which of these accounts have an enrolled second factor (one query)."""
    return {row.account_id for row in StaffTotp.select(StaffTotp.account).where(
        StaffTotp.account.in_(list(account_ids)), StaffTotp.enrolled_at.is_null(False))}


def create_or_reset_admin(username: str, password: str, *, reset_totp: bool = False):
    """`create-admin`: the account (enrolment happens at its first login); on an
    existing admin, a new password keeps the second factor unless `reset_totp`."""
    with db.atomic():
        account, created = accounts.create_or_reset_admin(username, password)
        if reset_totp and not created:
            reset(account)
    return account, created
