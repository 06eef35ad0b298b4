"""What the portal forgets, and when (`flask --app app purge`, daily from cron).

- Challenges (registration, recovery, phone change) past their flow's lifetime,
  counted from the last step where the flow says so (registration); a purpose
  that is not a flow is kept a day, so nothing live is lost to a rename.
- Batch check results (services.verify_batch) an hour after the check.
- One-time codes that are used or expired and older than an hour: younger ones
  still count for the hourly per-destination limit (services.codes).
- Outbox lines older than `outbox_days` (services.messaging.purge_outbox).
- Login sessions ended (logout, a password change) more than
  ENDED_SESSIONS_KEPT_FOR ago: the account page's login history reads
  LoginEvent, not these rows; an ended row only refuses its old cookies, which
  the session version refuses as well once the password changed.
- Import batches still pending (or stuck committing) a day after their upload:
  their stored files go and they show as expired in the import history
  (services.importer.expire).
- Stored files (services.files) that no row names any more, a day after they
  were stored: a photo, evidence file or report PDF goes with the row that
  named it, whatever deleted or re-pointed that row.
- Closed accounts (注销账号) past their `erase_after`: their personal data
  (services.closing.erase_due; the account's retention period was set when it
  was closed, from CLOSED_ACCOUNT_RETENTION_DAYS).
"""
import datetime
from dataclasses import dataclass

from models import Challenge, LoginSession, OneTimeCode, db, utcnow
from services import closing, files, importer, verify_batch
from services.challenges import FLOWS
from services.messaging import purge_outbox

UNKNOWN_CHALLENGE_LIFETIME = datetime.timedelta(days=1)
CODE_KEPT_FOR = datetime.timedelta(hours=1)
ENDED_SESSIONS_KEPT_FOR = datetime.timedelta(days=30)
UNNAMED_FILE_KEPT_FOR = datetime.timedelta(days=1)


@dataclass
class Purged:
    challenges: int = 0
    codes: int = 0
    outbox_lines: int = 0
    import_batches: int = 0
    login_sessions: int = 0
    stored_files: int = 0
    closed_accounts: int = 0


def purge(*, outbox_path, outbox_days: int, now: datetime.datetime | None = None) -> Purged:
    now = now or utcnow()
    done = Purged()
    with db.atomic():
        for flow in FLOWS.values():
            since = Challenge.updated_at if flow.sliding else Challenge.created_at
            done.challenges += (Challenge.delete()
                                .where(Challenge.purpose == flow.purpose,
                                       since < now - flow.lifetime).execute())
        done.challenges += verify_batch.purge(now)
        done.challenges += (Challenge.delete()
                            .where(Challenge.purpose.not_in(list(FLOWS)),
                                   Challenge.created_at < now - UNKNOWN_CHALLENGE_LIFETIME)
                            .execute())
        done.codes = (OneTimeCode.delete()
                      .where(OneTimeCode.created_at < now - CODE_KEPT_FOR,
                             OneTimeCode.used_at.is_null(False) | (OneTimeCode.expires_at <= now))
                      .execute())
        done.login_sessions = (LoginSession.delete()
                               .where(LoginSession.ended_at < now - ENDED_SESSIONS_KEPT_FOR)
                               .execute())
        done.closed_accounts = closing.erase_due(now)
        done.import_batches = importer.expire(now)
        done.stored_files = files.sweep(now - UNNAMED_FILE_KEPT_FOR)
    before = now.replace(tzinfo=datetime.timezone.utc) - datetime.timedelta(days=outbox_days)
    done.outbox_lines = purge_outbox(outbox_path, before=before)
    return done
