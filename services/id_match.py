"""核对证件号码: a verifier who holds the candidate's ID number checks it against a
valid report, which may show the number masked (Report.full_id), and learns only
一致 or 不一致.

The typed number is normalised by the rule of the report's 证件类型 (full-width
characters, a lower-case x, spaces, a 15-digit resident ID), then compared with
the report's number through the keyed hash (crypto.blind_index) in constant
time. At most TRIES_PER_DAY tries per report in any 24 hours (a rolling window:
the school's day would let a guesser spend two days' tries around midnight),
counted from the report's 查验记录 (Verification.MATCH rows). A typed value that
is not a valid number is no try: it says only what rule it breaks.
"""
import datetime
import hmac

from flask_babel import lazy_gettext as _l
from peewee import SqliteDatabase

import crypto
from models import Report, Verification, db, utcnow, write_transaction
from services import identity
from services.errors import ServiceError
from services.reports import record_of, snapshot_of

TRIES_PER_DAY = 5
WINDOW = datetime.timedelta(hours=24)


class MatchError(ServiceError):
    """The report has no ID number to match against."""


class TooManyTries(ServiceError):
    """This report's tries of the last 24 hours are used up."""


def number_of(report: Report, record=None, snapshot: dict | None = None):
    """(证件类型, number) the report is matched against, or None without one: the
    signed snapshot's when it shows the number in full, else the record's (a masked
    report, a diploma report that leaves the number out). `record`: the report's
    record when the caller read it already (reports.Lookup.record), `snapshot` its
    snapshot likewise."""
    snapshot = snapshot if snapshot is not None else snapshot_of(report)
    shown = {item.get("key"): item.get("value") or "" for item in snapshot["fields"]}
    if report.full_id and shown.get("id_number"):
        return shown.get("id_type") or identity.RESIDENT_ID, shown["id_number"]
    record = record if record is not None else record_of(report)
    number = getattr(record, "id_number", None) if record is not None else None
    if not number:
        return None
    return record.id_type or shown.get("id_type") or identity.RESIDENT_ID, number


def _rule(id_type: str) -> str:
    return id_type if id_type in identity.ID_TYPES else identity.OTHER_ID


def normalize_typed(typed: str, id_type: str) -> str:
    """What the verifier typed in the stored form of its type; IdentityError if it
    is not a valid number of that type."""
    return identity.normalize_id_number(typed or "", _rule(id_type))


def _stored_form(number: str, id_type: str) -> str:
    """The report's number as the typed one is normalised (an old record may keep a
    15-digit resident ID); a number no rule accepts is compared as stored."""
    try:
        return identity.normalize_id_number(number, _rule(id_type))
    except identity.IdentityError:
        return identity.fold(number).upper()


def tries_in_window(report: Report, now=None) -> int:
    since = (now or utcnow()) - WINDOW
    return (Verification.select()
            .where(Verification.report == report, Verification.channel == Verification.MATCH,
                   Verification.at > since)
            .count())


def _lock(report: Report) -> None:
    """On PostgreSQL the report's row, so two tries of one report count in turn;
    SQLite has already taken the database's write lock (write_transaction)."""
    if not isinstance(db.obj, SqliteDatabase):
        list(Report.select(Report.id).where(Report.id == report.id).for_update())


def attempt(report: Report, typed: str, *, log, record=None, now=None) -> bool:
    """One try: whether `typed` is the report's ID number. `log(outcome)` writes the
    try to the 查验记录 (views.log_check) inside the transaction that counted the
    tries before, so two tries at once cannot both be the fifth.

    Raises MatchError (no number to match), identity.IdentityError (not a valid
    number: no try) or TooManyTries."""
    target = number_of(report, record)
    if target is None:
        raise MatchError(_l("这份报告没有可核对的证件号码。"), field="id_number")
    id_type, number = target
    typed_number = normalize_typed(typed, id_type)
    expected = _stored_form(number, id_type)
    with write_transaction():
        _lock(report)
        if tries_in_window(report, now) >= TRIES_PER_DAY:
            raise TooManyTries(_l("这份报告 24 小时内最多核对 %(num)s 次证件号码，次数已用完，"
                                  "请稍后再试。", num=TRIES_PER_DAY), field="id_number")
        matched = hmac.compare_digest(crypto.blind_index(typed_number),
                                      crypto.blind_index(expected))
        log(Verification.MATCHED if matched else Verification.MISMATCHED)
    return matched
