"""The numbers on the staff overview (概览): a handful of aggregate queries, no
per-row work in Python.

Student accounts (all, new in the window), records per kind bound to an account
or not (withdrawn records left out), the pending queues with their oldest item,
reports issued and verifications in the window by channel.
"""
import datetime
from dataclasses import dataclass

from peewee import Case, fn

from models import Account, Appeal, CorrectionRequest, Report, Verification
from services.columns import KINDS

WINDOW_DAYS = 30


@dataclass(frozen=True)
class KindCount:
    key: str
    total: int
    bound: int

    @property
    def unbound(self) -> int:
        return self.total - self.bound


@dataclass(frozen=True)
class Queue:
    pending: int
    oldest: datetime.datetime | None


@dataclass(frozen=True)
class Overview:
    students: int
    new_students: int
    records: list[KindCount]
    corrections: Queue
    appeals: Queue
    reports_issued: int
    verifications: dict[str, int]   # channel -> count, every channel present
    window_days: int = WINDOW_DAYS

    @property
    def verifications_total(self) -> int:
        return sum(self.verifications.values())


def _int(value) -> int:
    return int(value or 0)


def overview(now: datetime.datetime, window_days: int = WINDOW_DAYS) -> Overview:
    """The overview as of `now` (naive UTC); `window_days` back for the "recent" counts."""
    since = now - datetime.timedelta(days=window_days)
    students, new_students = (Account.select(
        fn.COUNT(Account.id),
        fn.SUM(Case(None, ((Account.created_at >= since, 1),), 0)))
        .where(Account.role == Account.STUDENT).scalar(as_tuple=True))
    records = []
    for key, kind in KINDS.items():
        model = kind.model
        total, bound = (model.select(fn.COUNT(model.id), fn.COUNT(model.account))
                        .where(model.withdrawn_at.is_null()).scalar(as_tuple=True))
        records.append(KindCount(key, _int(total), _int(bound)))
    corrections = Queue(*CorrectionRequest.select(
        fn.COUNT(CorrectionRequest.id), fn.MIN(CorrectionRequest.created_at))
        .where(CorrectionRequest.status == CorrectionRequest.PENDING).scalar(as_tuple=True))
    appeals = Queue(*Appeal.select(fn.COUNT(Appeal.id), fn.MIN(Appeal.created_at))
                    .where(Appeal.status == Appeal.PENDING).scalar(as_tuple=True))
    reports_issued = Report.select().where(Report.issued_at >= since).count()
    verifications = dict.fromkeys((Verification.WEB, Verification.PDF, Verification.API), 0)
    for channel, count in (Verification.select(Verification.channel, fn.COUNT(Verification.id))
                           .where(Verification.at >= since).group_by(Verification.channel)
                           .tuples()):
        verifications[channel] = count
    return Overview(_int(students), _int(new_students), records,
                    Queue(_int(corrections.pending), _parse(corrections.oldest)),
                    Queue(_int(appeals.pending), _parse(appeals.oldest)),
                    reports_issued, verifications, window_days)


def _parse(value):
    """MIN() over a DateTimeField comes back as text on SQLite."""
    if value is None or isinstance(value, datetime.datetime):
        return value
    return datetime.datetime.fromisoformat(str(value))


def age(since: datetime.datetime | None, now: datetime.datetime) -> tuple[str, int] | None:
    """How long an item has waited, as ("days", n) from a day on, else ("hours", n)."""
    if since is None:
        return None
    seconds = max(0, (now - since).total_seconds())
    if seconds >= 86400:
        return "days", int(seconds // 86400)
    return "hours", int(seconds // 3600)
