"""校验码: 6-digit one-time codes sent by SMS or edu.cn e-mail.

A code serves one purpose for one subject (a challenge's token) and is stored
as a keyed hash. Rules: valid 10 minutes, 5 wrong tries, a new
code no sooner than 60 seconds after the last, at most 5 codes an hour to one
destination. Issuing a new code retires the older ones.
"""
import datetime
import hmac
import secrets

from flask_babel import lazy_gettext as _l

import crypto
from models import OneTimeCode, db, utcnow
from services import identity
from services.errors import ServiceError

VALID_MINUTES = 10
MAX_ATTEMPTS = 5
RESEND_SECONDS = 60
MAX_PER_DESTINATION_PER_HOUR = 5


class CodeError(ServiceError):
    """A code refused or not issued; `retry_after` says how many seconds until
    a new code may be had."""

    def __init__(self, message, field=None, *, retry_after: int = 0):
        super().__init__(message, field)
        self.retry_after = retry_after


def _hash(purpose: str, subject: str, code: str) -> str:
    return crypto.blind_index(f"code:{purpose}:{subject}:{code}")


def _destination_index(channel: str, destination: str) -> str:
    return crypto.blind_index(f"{channel}:{destination}")


def _latest(purpose: str, subject: str):
    return (OneTimeCode.select()
            .where(OneTimeCode.purpose == purpose, OneTimeCode.subject == subject)
            .order_by(OneTimeCode.created_at.desc(), OneTimeCode.id.desc())
            .first())


def seconds_until_resend(purpose: str, subject: str, now=None) -> int:
    now = now or utcnow()
    latest = _latest(purpose, subject)
    if latest is None:
        return 0
    wait = RESEND_SECONDS - (now - latest.created_at).total_seconds()
    return max(0, int(wait + 0.999))


def issue(purpose: str, subject: str, channel: str, destination: str, *, ip: str = "",
          now=None) -> str:
    """Create a code and return it in clear, for the caller to send at once."""
    now = now or utcnow()
    wait = seconds_until_resend(purpose, subject, now)
    if wait:
        raise CodeError(_l("校验码已发送，请 %(seconds)s 秒后再重新获取。", seconds=wait),
                        retry_after=wait)
    destination_index = _destination_index(channel, destination)
    hour_ago = now - datetime.timedelta(hours=1)
    sent_last_hour = (OneTimeCode.select()
                      .where(OneTimeCode.destination_index == destination_index,
                             OneTimeCode.created_at > hour_ago)
                      .count())
    if sent_last_hour >= MAX_PER_DESTINATION_PER_HOUR:
        raise CodeError(_l("该号码或邮箱一小时内获取校验码次数过多，请稍后再试。"),
                        retry_after=3600)
    code = f"{secrets.randbelow(10 ** 6):06d}"
    with db.atomic():
        (OneTimeCode.update(used_at=now)
         .where(OneTimeCode.purpose == purpose, OneTimeCode.subject == subject,
                OneTimeCode.used_at.is_null())
         .execute())
        OneTimeCode.create(purpose=purpose, subject=subject, channel=channel,
                           destination_index=destination_index,
                           code_hash=_hash(purpose, subject, code), created_at=now,
                           expires_at=now + datetime.timedelta(minutes=VALID_MINUTES), ip=ip)
    return code


def verify(purpose: str, subject: str, code: str, *, now=None) -> None:
    """Accept the code or raise CodeError saying why, counting the wrong try."""
    now = now or utcnow()
    typed = identity.fold(code)
    latest = _latest(purpose, subject)
    if latest is None:
        raise CodeError(_l("请先获取校验码。"))
    if latest.used_at is not None:
        raise CodeError(_l("该校验码已使用或已失效，请重新获取。"))
    if latest.expires_at <= now:
        raise CodeError(_l("校验码已过期，请重新获取。"))
    if latest.attempts >= MAX_ATTEMPTS:
        raise CodeError(_l("校验码错误次数过多，请重新获取。"))
    if not hmac.compare_digest(latest.code_hash, _hash(purpose, subject, typed)):
        # Counted in SQL so two wrong tries at once both count.
        (OneTimeCode.update(attempts=OneTimeCode.attempts + 1)
         .where(OneTimeCode.id == latest.id).execute())
        left = MAX_ATTEMPTS - latest.attempts - 1
        if left <= 0:
            raise CodeError(_l("校验码错误次数过多，请重新获取。"))
        raise CodeError(_l("校验码不正确，还可以再试 %(left)s 次。", left=left))
    used = (OneTimeCode.update(used_at=now)
            .where(OneTimeCode.id == latest.id, OneTimeCode.used_at.is_null())
            .execute())
    if not used:
        raise CodeError(_l("该校验码已使用或已失效，请重新获取。"))
