"""查验提醒: tell a report's owner when someone checks it.

The owner switches it on per report (Report.alert_checks). Every check
(views.log_check: web, PDF, API, batch, ID match) then either wins the right to
send a message, or is counted in Report.alerts_pending, so a report sends at
most one message an hour however often it is checked. Both are decided by one
guarded UPDATE each (the database settles a race): the winner sets
`alerted_at` and takes the pending count it read back to zero, and only if
that count is still what it read, so no check is lost or counted twice.

A message describes the latest check (time in the school's zone, channel, and
the organisation and purpose the verifier typed, neutralised) and says how
many other checks came since the last message. Checks counted during the hour
are summed up by the next check after it or, when none comes, by
`send_due` (the `send-alerts` command, run from cron).

It goes by SMS to the bound phone or, when the school's SMS does not reach it
(INTERNATIONAL_SMS off), by e-mail to the username when that is an address. A
message that fails is logged and its checks are put back to be summed up later:
the verifier's check never fails because of it.
"""
import datetime
import logging
import re
import unicodedata

from models import Report, Verification, utcnow
from services import accounts, audit
from services.columns import KINDS

log = logging.getLogger(__name__)

ALERT_EVERY = datetime.timedelta(hours=1)
# The verifier's words are shortened to this many characters: an SMS stays one or
# two segments; an e-mail shows what the 查验记录 shows.
SMS_TEXT_LIMIT = 20
EMAIL_TEXT_LIMIT = 100
# How many times a check retries when other checks change the report meanwhile.
_TRIES = 5

SMS_TEMPLATE = "report_checked.txt"
EMAIL_TEMPLATE = "report_checked_email.txt"

OFF, SENT, COUNTED, FAILED = "off", "sent", "counted", "failed"

# Anything a phone or mail program could turn into a link: a scheme, www., or a
# word ending in a dot and a top-level-domain-like run of letters (evil.cn/x).
_LINKISH = re.compile(r"\S*(?:://|www\.|\.[a-z]{2,}(?![a-z]))\S*", re.IGNORECASE)
# Brackets a text could use to pose as another sender's 【signature】.
_SIGNATURE_MARKS = str.maketrans("", "", "【】〖〗")


def neutral(text: str | None, limit: int) -> str:
    """A verifier's untrusted words, safe inside a message: one line of printable
    characters, no link and no 【signature】, at most `limit` characters."""
    text = unicodedata.normalize("NFKC", text or "")
    text = "".join(" " if unicodedata.category(char).startswith(("C", "Z")) else char
                   for char in text)
    text = _LINKISH.sub("…", text.translate(_SIGNATURE_MARKS))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def set_alerts(report: Report, on: bool, *, ip: str = "") -> bool:
    """Switch 查验提醒 on or off; whether it changed (the same choice twice is no
    change and no audit entry). Switching off forgets the checks not yet told."""
    values = {Report.alert_checks: on}
    if not on:
        values[Report.alerts_pending] = 0
    changed = Report.update(values).where(Report.id == report.id,
                                          Report.alert_checks != on).execute()
    report.alert_checks = on
    if changed:
        audit.log("report.alerts_on" if on else "report.alerts_off", account=report.account,
                  ip=ip, detail=str(report.id))
    return bool(changed)


def _due(now: datetime.datetime):
    return Report.alerted_at.is_null() | (Report.alerted_at <= now - ALERT_EVERY)


def _claim(report_id: int, pending: int, now: datetime.datetime) -> bool:
    """Win the right to send: the hour has passed and nobody counted a check since
    this one read `pending` (then the message tells exactly those)."""
    return bool(Report.update(alerted_at=now, alerts_pending=0).where(
        Report.id == report_id, _due(now), Report.alerts_pending == pending).execute())


def checked(report: Report, verification: Verification, *, postman, now=None) -> str:
    """After each check of `report` (its Verification row): send a message or count
    the check. Returns OFF, SENT, COUNTED or FAILED; never raises."""
    if not report.alert_checks:
        return OFF
    now = now or utcnow()
    try:
        for _ in range(_TRIES):
            state = (Report.select(Report.alerted_at, Report.alerts_pending, Report.alert_checks)
                     .where(Report.id == report.id).first())
            if state is None or not state.alert_checks:
                return OFF
            if state.alerted_at is None or state.alerted_at <= now - ALERT_EVERY:
                if _claim(report.id, state.alerts_pending, now):
                    return _send(report, verification, state.alerts_pending, postman=postman)
                continue  # another check claimed or counted meanwhile: look again
            if Report.update(alerts_pending=Report.alerts_pending + 1).where(
                    Report.id == report.id, ~_due(now)).execute():
                return COUNTED
        # Still racing: count it; the next message or send_due tells it.
        Report.update(alerts_pending=Report.alerts_pending + 1).where(
            Report.id == report.id).execute()
        return COUNTED
    except Exception:  # a verifier's check must not fail because of the owner's alert
        log.exception("check alert for report %s failed", report.id)
        return FAILED


def send_due(*, postman, now=None) -> int:
    """Sum up the checks counted during an hour that no later check told: one
    message per report whose hour has passed (run from cron). Returns how many."""
    now = now or utcnow()
    sent = 0
    due = (Report.select(Report.id, Report.alerts_pending)
           .where(Report.alert_checks == True, Report.alerts_pending > 0,  # noqa: E712
                  _due(now))
           .order_by(Report.id))
    for row in list(due):
        if not _claim(row.id, row.alerts_pending, now):
            continue  # a check or another run sent it meanwhile
        report = Report.get_by_id(row.id)
        latest = (Verification.select().where(Verification.report == report)
                  .order_by(Verification.at.desc(), Verification.id.desc()).first())
        if latest is not None and _send(report, latest, row.alerts_pending - 1,
                                        postman=postman) == SENT:
            sent += 1
    return sent


def _send(report: Report, check: Verification, more: int, *, postman) -> str:
    """The message about `check` and `more` other checks since the last message."""
    owner = report.account
    kind = KINDS.get(report.kind)
    context = dict(title=kind.report_title if kind else report.kind, at=check.at,
                   via=check.channel, more=max(more, 0))
    if owner.phone and postman.can_text(owner.phone):
        channel, to, template, limit = "sms", owner.phone, SMS_TEMPLATE, SMS_TEXT_LIMIT
    else:
        channel, to, template, limit = ("email", accounts.email_of(owner), EMAIL_TEMPLATE,
                                        EMAIL_TEXT_LIMIT)
    if not to:
        log.info("check alert for report %s not sent: no phone SMS reaches and no e-mail address",
                 report.id)
        return FAILED
    try:
        postman.send(template, channel=channel, to=to,
                     organisation=neutral(check.organisation, limit),
                     purpose=neutral(check.purpose, limit), **context)
    except Exception:  # the gateway, SMTP or a template: put the checks back for later
        log.exception("check alert for report %s could not be sent", report.id)
        Report.update(alerts_pending=Report.alerts_pending + more + 1).where(
            Report.id == report.id).execute()
        return FAILED
    return SENT
