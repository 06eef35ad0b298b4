"""在线验证报告: issue, extend, close, look up by code, and log every check.

A report is a snapshot of one record (学籍, 学历 or 学位) with a 16-character
code. The code is the only key a verifier has: it is compared through its
keyed hash, and every verification is shown to the report's owner.
"""
import base64
import calendar
import datetime
import hashlib
import json
import re
import secrets
import unicodedata
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from models import Record, Report, Verification, db, utcnow, write_transaction
from services import accounts, audit, closing, clock, files, identity, values
from services.errors import ServiceError
from services.columns import KINDS

REPORTABLE = ("enrollment", "diploma", "degree")
# No 0/O or 1/I: codes are read aloud and typed from paper.
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 16
REMIND_DAYS = 7

VALID, EXPIRED, CLOSED, UNKNOWN, MALFORMED = "valid", "expired", "closed", "unknown", "malformed"
# Withdrawn by the school: the report itself (Report.withdrawn_at) or its record (撤销).
WITHDRAWN = "withdrawn"


class ReportError(ServiceError):
    def __init__(self, message, field=None, existing=None):
        super().__init__(message, field)
        self.existing = existing


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def grouped(code: str, separator: str = " ") -> str:
    return separator.join(code[i:i + 4] for i in range(0, len(code), 4))


def normalize_code(typed: str):
    """The code in canonical form, or None when it cannot be a code at all."""
    text = unicodedata.normalize("NFKC", typed or "").upper()
    text = re.sub(r"[\s\-‐‑–—_]", "", text)
    return text if re.fullmatch(rf"[A-Z0-9]{{{CODE_LENGTH}}}", text) else None


def add_months(moment: datetime.datetime, months: int) -> datetime.datetime:
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def status_of(report: Report, now=None, *, withdrawn: bool | None = None) -> str:
    """The report's outcome. The school's withdrawal comes first: of the report
    itself, or of its record (restoring the record makes the report work again).
    `withdrawn`: whether the record is withdrawn, when the caller read it already."""
    if withdrawn is None:
        withdrawn = report.withdrawn_at is None and record_withdrawn(report)
    if report.withdrawn_at is not None or withdrawn:
        return WITHDRAWN
    if report.closed_at is not None:
        return CLOSED
    if report.expires_at <= (now or utcnow()):
        return EXPIRED
    return VALID


def record_of(report: Report):
    model = KINDS[report.kind].model
    return model.get_or_none(model.id == report.record_id)


def statuses_of(many: list, now=None) -> list[str]:
    """status_of of each report, their records' withdrawals read with one query per
    kind of record among them (not one per report: /reports, issue 12)."""
    ids = {}
    for report in many:
        ids.setdefault(report.kind, set()).add(report.record_id)
    withdrawn = set()
    for kind_key, record_ids in ids.items():
        model = KINDS[kind_key].model
        withdrawn.update((kind_key, row[0]) for row in model.select(model.id).where(
            model.id.in_(sorted(record_ids)), model.withdrawn_at.is_null(False)).tuples())
    return [status_of(report, now, withdrawn=(report.kind, report.record_id) in withdrawn)
            for report in many]


def record_withdrawn(report: Report) -> bool:
    model = KINDS[report.kind].model
    return model.select().where(model.id == report.record_id,
                                model.withdrawn_at.is_null(False)).exists()


def _iso(moment: datetime.datetime) -> str:
    return moment.replace(microsecond=0).isoformat() + "Z"


def record_fields(kind_key: str, record: Record, school: values.School) -> list:
    """Each field as {"key", "zh", "en", "value", "value_en"} (services.values)."""
    return values.report_fields(kind_key, record, school=school)


def _photo(kind_key: str, record: Record):
    kind = KINDS[kind_key]
    data = files.read(getattr(record, "photo", None))
    if not kind.photo_label or data is None:
        return None
    return {"zh": kind.photo_label, "en": kind.photo_english,
            "jpeg_base64": base64.b64encode(data).decode("ascii")}


def masked_fields(fields: list) -> list:
    """The fields with the ID number masked (identity.mask_id: 4201**********452X), as
    a report issued with a masked number shows it; masking a masked value changes nothing."""
    return [dict(item, value=identity.mask_id(item.get("value") or ""),
                 value_en=identity.mask_id(item.get("value_en") or ""))
            if item.get("key") == "id_number" else item for item in fields]


def make_snapshot(kind_key: str, record: Record, code: str, issued_at, expires_at, *, config,
                  full_id: bool = True) -> dict:
    """The signed content of a report; without `full_id` its ID number is masked (so
    in the PDF, its report.json and everything shown from the snapshot)."""
    kind = KINDS[kind_key]
    fields = record_fields(kind_key, record, values.School.from_config(config))
    school, school_en = config["SCHOOL_NAME"], config["SCHOOL_NAME_EN"]
    return {
        # 2: each field has value_en (version 1 had none: services.values.with_english).
        "version": 2,
        "kind": kind_key,
        "title": {"zh": f"{school} {kind.report_title}", "en": f"{school_en} · {kind.report_english}"},
        "school": {"zh": school, "en": school_en},
        "code": code,
        "issued_at": _iso(issued_at),
        "expires_at": _iso(expires_at),
        # The school's day (issued_at/expires_at stay UTC "…Z": the snapshot is signed).
        "record_updated_at": clock.local_date(record.updated_at, config.get("TIMEZONE")).isoformat(),
        "fields": fields if full_id else masked_fields(fields),
        "photo": _photo(kind_key, record),
        "verify_url": f"{config['PORTAL_BASE_URL'].rstrip('/')}/verify/{code}",
    }


def snapshot_of(report: Report) -> dict:
    return json.loads(report.snapshot)


def issued_as(report: Report, snapshot: dict) -> bool:
    """Whether the data signed into a PDF is this report as issued. Once the closed
    account of its owner is erased (services.closing) the snapshot is gone: the
    school's valid signature over the report's code then stands for it."""
    stored = snapshot_of(report)
    return stored == snapshot or stored == json.loads(closing.ERASED_SNAPSHOT)


def current_report(kind_key: str, record_id: int, now=None):
    """The record's report that still works, if any (one at a time)."""
    now = now or utcnow()
    return (Report.select()
            .where(Report.kind == kind_key, Report.record_id == record_id,
                   Report.closed_at.is_null(), Report.withdrawn_at.is_null(),
                   Report.expires_at > now)
            .first())


def check_months(months, config) -> int:
    low, high = 1, min(12, int(config["REPORT_MAX_MONTHS"]))
    try:
        months = int(months)
    except (TypeError, ValueError):
        months = 0
    if not low <= months <= high:
        raise ReportError(_l("有效期应为 %(low)s 到 %(high)s 个月。", low=low, high=high),
                          field="months")
    return months


def issue(account, kind_key: str, record: Record, months, *, config, render, ip: str = "",
          now=None, full_id: bool = False) -> Report:
    """Issue a report: snapshot, code, PDF rendered and signed once, stored.
    `full_id`: the owner's choice to show the full ID number (masked by default).

    `render(snapshot) -> bytes` makes the signed PDF (services.pdf with the
    school's keys); it is a parameter so this module stays free of WeasyPrint.
    """
    if kind_key not in REPORTABLE:
        raise ReportError(_l("这类记录不能生成在线验证报告。"))
    if record.account_id != account.id or record.withdrawn_at is not None:
        raise ReportError(_l("只能为自己的记录生成报告。"))
    months = check_months(months, config)
    now = now or utcnow()
    existing = current_report(kind_key, record.id, now)
    if existing:
        raise ReportError(_l("这条记录已有一份有效的报告，可以延长它的有效期。"), existing=existing)
    issued_at = now.replace(microsecond=0)
    expires_at = add_months(issued_at, months)
    code = new_code()
    full_id = bool(full_id)
    snapshot = make_snapshot(kind_key, record, code, issued_at, expires_at, config=config,
                             full_id=full_id)
    pdf = render(snapshot)
    with write_transaction():
        # Closing the account at the same moment (services.closing): one waits for the other.
        if not closing.hold_open(account.id):
            raise ReportError(_l("账号已注销，不能生成报告。"))
        report = Report.create(account=account, kind=kind_key, record_id=record.id, code=code,
                               snapshot=json.dumps(snapshot, ensure_ascii=False, sort_keys=True),
                               issued_at=issued_at, expires_at=expires_at, full_id=full_id,
                               pdf_sha256=hashlib.sha256(pdf).hexdigest())
        # In the same transaction as its row, sealed (it shows the code and the ID
        # number); served as signed.
        report.pdf_path = files.put(f"reports/{report.id}-{secrets.token_hex(8)}.pdf", pdf,
                                    "application/pdf")
        report.save(only=[Report.pdf_path])
        audit.log("report.issued", account=account, ip=ip, detail=f"{kind_key}:{record.id}")
    return report


def extend(report: Report, months, *, config, ip: str = "", now=None) -> Report:
    """A new expiry counted from today; only for a report that still works."""
    now = now or utcnow()
    if status_of(report, now) != VALID:
        raise ReportError(_l("只能延长仍然有效的报告；已过期或已关闭的报告请重新申请。"))
    months = check_months(months, config)
    expires_at = add_months(now.replace(microsecond=0), months)
    # Only if still open: a close at the same moment is not undone.
    if not Report.update(expires_at=expires_at, reminded_at=None).where(
            Report.id == report.id, Report.closed_at.is_null(),
            Report.withdrawn_at.is_null()).execute():
        raise ReportError(_l("只能延长仍然有效的报告；已过期或已关闭的报告请重新申请。"))
    report.expires_at, report.reminded_at = expires_at, None
    audit.log("report.extended", account=report.account, ip=ip, detail=str(report.id))
    return report


def close(report: Report, *, ip: str = "", now=None) -> Report:
    closed_at = now or utcnow()
    if report.closed_at is None and Report.update(closed_at=closed_at).where(
            Report.id == report.id, Report.closed_at.is_null()).execute():
        report.closed_at = closed_at
        audit.log("report.closed", account=report.account, ip=ip, detail=str(report.id))
    return report


@dataclass
class Lookup:
    outcome: str
    report: Report | None = None
    code: str | None = None
    record: Record | None = None  # the report's record, as read by lookup


def lookup(typed: str, now=None) -> Lookup:
    code = normalize_code(typed)
    if code is None:
        return Lookup(MALFORMED)
    report = Report.select().where(Report.code.matches(code)).first()
    if report is None:
        return Lookup(UNKNOWN, code=code)
    # The record once, for its withdrawal and (latest_view) what the verifier sees.
    record = record_of(report)
    withdrawn = record is not None and record.withdrawn_at is not None
    return Lookup(status_of(report, now, withdrawn=withdrawn), report, code, record)


def log_verification(report: Report, channel: str, *, organisation: str = "", purpose: str = "",
                     ip: str = "", outcome: str | None = None) -> Verification:
    """One line of the owner's 查验记录. `outcome`: what the check saw (the report's
    status, or Verification.MATCHED / MISMATCHED for an ID match)."""
    return Verification.create(report=report, channel=channel,
                               organisation=(organisation or "").strip()[:100],
                               purpose=(purpose or "").strip()[:100], ip=ip, outcome=outcome)


def latest_view(report: Report, school: values.School | None = None, record=None) -> dict:
    """What a verifier sees: the record as it is now (online data is authoritative).
    `school` (values.School, from the settings) maps former names to the English name;
    without it, the school as the report names it. `record`: the report's record when
    the caller read it already (Lookup.record). A report issued with a masked ID
    number shows it masked here too, also when the record changed since."""
    snapshot = snapshot_of(report)
    school = school or values.School.from_snapshot(snapshot)
    record = record if record is not None else record_of(report)
    if record is None:
        return {"fields": values.with_english(report.kind, snapshot["fields"], school=school),
                "changed_at": None, "snapshot": snapshot}
    changed = record.updated_at.replace(microsecond=0) > report.issued_at
    fields = (record_fields(report.kind, record, school) if changed
              else values.with_english(report.kind, snapshot["fields"], record, school=school))
    if not report.full_id:
        fields = masked_fields(fields)
    return {"fields": fields, "changed_at": record.updated_at if changed else None,
            "snapshot": snapshot}


def api_body(found: Lookup, tz=None, school: values.School | None = None) -> dict:
    """The JSON an HR system gets; for anything but a valid report, the outcome alone.
    Times in ISO 8601 with the offset of the school's zone `tz`; each field has
    `value` (Chinese) and `value_en` (English)."""
    body = {"status": found.outcome}
    if found.outcome == VALID:
        view = latest_view(found.report, school, found.record)
        snapshot = view["snapshot"]
        body.update({
            "code": found.code, "kind": found.report.kind, "title": snapshot["title"],
            "issued_at": clock.iso(clock.parse_utc(snapshot["issued_at"]), tz),
            "expires_at": clock.iso(found.report.expires_at, tz),
            "record_updated_at": snapshot["record_updated_at"],
            "changed_since_issue": view["changed_at"] is not None,
            "fields": view["fields"],
        })
    return body


def withdraw_valid(account, record_ids: dict, *, actor: str, ip: str = "", why: str = "",
                   now=None) -> list:
    """The school withdraws `account`'s valid reports on these records
    ({kind key: [record id, …]}), e.g. when an approved appeal moves the records'
    ID number to someone else. Expired and closed reports stay as they are. Each
    report is written by a guarded UPDATE (a report closed meanwhile stays closed)
    with one audit entry; the caller's transaction holds it all together."""
    now = now or utcnow()
    withdrawn = []
    for kind_key, ids in record_ids.items():
        if not ids:
            continue
        valid = Report.select().where(
            Report.account == account, Report.kind == kind_key, Report.record_id.in_(list(ids)),
            Report.closed_at.is_null(), Report.withdrawn_at.is_null(), Report.expires_at > now)
        for report in valid.order_by(Report.id):
            if Report.update(withdrawn_at=now).where(
                    Report.id == report.id, Report.closed_at.is_null(),
                    Report.withdrawn_at.is_null()).execute():
                report.withdrawn_at = now
                audit.log("report.withdrawn", account=account, actor=actor, ip=ip,
                          detail=f"{report.id}" + (f" ({why})" if why else ""))
                withdrawn.append(report)
    return withdrawn


def for_account(account):
    return list(Report.select().where(Report.account == account)
                .order_by(Report.issued_at.desc(), Report.id.desc()))


def due_for_reminder(now=None):
    now = now or utcnow()
    soon = now + datetime.timedelta(days=REMIND_DAYS)
    due = Report.select().where(Report.closed_at.is_null(), Report.withdrawn_at.is_null(),
                                Report.expires_at > now, Report.expires_at <= soon,
                                Report.reminded_at.is_null())
    return [report for report in due if not record_withdrawn(report)]


def send_reminders(*, postman, now=None) -> int:
    """SMS the owners of reports that expire within seven days (once per report)."""
    now = now or utcnow()
    sent = 0
    for report in due_for_reminder(now):
        # Claimed first, so two runs at once remind once.
        if not Report.update(reminded_at=now).where(
                Report.id == report.id, Report.reminded_at.is_null()).execute():
            continue
        report.reminded_at = now
        accounts.notify(report.account, "report_expiring.txt", postman=postman,
                        title=snapshot_of(report)["title"]["zh"], code=grouped(report.code),
                        expires_at=report.expires_at)
        sent += 1
    return sent
