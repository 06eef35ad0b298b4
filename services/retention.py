"""What the portal forgets, and when (`flask --app app purge`, daily from cron).

- Challenges (recovery, phone change) past their lifetime; a purpose this module
  does not know is kept a day, so a new flow never loses a live challenge.
- Registration drafts past theirs (RegistrationDraft; when drafts become
  challenges, the line for them goes).
- One-time codes that are used or expired and older than an hour: younger ones
  still count for the hourly per-destination limit (services.codes).
- Outbox lines older than `outbox_days` (services.messaging.purge_outbox).
"""
import datetime
from dataclasses import dataclass

from models import Challenge, OneTimeCode, RegistrationDraft, db, utcnow
from services import accounts, recovery, registration
from services.messaging import purge_outbox

CHALLENGE_LIFETIMES = {
    recovery.FIND_USERNAME: recovery.LIFETIME,
    recovery.RESET_PASSWORD: recovery.LIFETIME,
    accounts.PHONE_CHANGE: recovery.LIFETIME,
}
UNKNOWN_CHALLENGE_LIFETIME = datetime.timedelta(days=1)
CODE_KEPT_FOR = datetime.timedelta(hours=1)


@dataclass
class Purged:
    challenges: int = 0
    drafts: int = 0
    codes: int = 0
    outbox_lines: int = 0


def purge(*, outbox_path, outbox_days: int, now: datetime.datetime | None = None) -> Purged:
    now = now or utcnow()
    done = Purged()
    with db.atomic():
        for purpose, lifetime in CHALLENGE_LIFETIMES.items():
            done.challenges += (Challenge.delete()
                                .where(Challenge.purpose == purpose,
                                       Challenge.created_at < now - lifetime).execute())
        done.challenges += (Challenge.delete()
                            .where(Challenge.purpose.not_in(list(CHALLENGE_LIFETIMES)),
                                   Challenge.created_at < now - UNKNOWN_CHALLENGE_LIFETIME)
                            .execute())
        done.drafts = (RegistrationDraft.delete()
                       .where(RegistrationDraft.updated_at < now - registration.DRAFT_LIFETIME)
                       .execute())
        done.codes = (OneTimeCode.delete()
                      .where(OneTimeCode.created_at < now - CODE_KEPT_FOR,
                             OneTimeCode.used_at.is_null(False) | (OneTimeCode.expires_at <= now))
                      .execute())
    before = now.replace(tzinfo=datetime.timezone.utc) - datetime.timedelta(days=outbox_days)
    done.outbox_lines = purge_outbox(outbox_path, before=before)
    return done
