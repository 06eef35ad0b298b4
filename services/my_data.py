"""下载我的数据: everything the portal holds about one person, as a ZIP they download.

The export is complete (the full ID and phone numbers, report codes), so the
signed-in person first proves again that they hold the bound phone (or e-mail):
a 校验码 through services.challenges (flow MY_DATA). A right code buys ONE
download within the challenge's lifetime: `claim` finishes the challenge with a
conditional UPDATE (two downloads at once: one wins) and writes the audit entry;
a broken download needs a new code.

`entries` names each file of the ZIP with its content: bytes, or an iterator of
bytes for what may be long (reports with their snapshots, checks, logins, the
PDFs one at a time). `zip_stream` turns them into the ZIP a chunk at a time, so
the whole archive is never in memory, however many reports there are.

What is in it (docs/domain.md, "My data"): the profile, the records the person
sees on /records (a record the school withdrew is not theirs to see) with their
photos, every report with its snapshot and signed PDF, every check of their
reports and the public checks of their diplomas, their correction requests with
evidence, the appeals against their ID number as the account page shows them
(never the appellant's details), every login attempt and login session. Times
are ISO 8601 with the school's offset; CSV cells are neutralised like every
export (services.exports).
"""
import datetime
import io
import json
import zipfile
from collections.abc import Iterable, Iterator
from decimal import Decimal
from pathlib import PurePosixPath

from flask_babel import lazy_gettext as _l

from models import (Account, Challenge, CorrectionRequest, Diploma, LoginEvent, LoginSession,
                    PublicCheck, Report, Verification, db, utcnow)
from services import appeals, audit, challenges, clock, exports, files, reports
from services.columns import KINDS
from services.errors import ServiceError

DOWNLOAD_STEP = "download"
# Entries already compressed: stored as they are.
STORED_SUFFIXES = (".pdf", ".jpg", ".jpeg", ".png")


class MyDataError(ServiceError):
    pass


# --- the code before the download ------------------------------------------------------

def find(token: str | None, account: Account) -> Challenge | None:
    """The account's export challenge with this token, while it runs."""
    return challenges.find(challenges.MY_DATA, token, account=account)


def start(account: Account, *, postman, ip: str) -> tuple[Challenge, str]:
    """A new challenge and its first code: by SMS to the bound phone, or by e-mail to
    the username where the school's SMS does not reach the phone and the username may
    take codes (services.challenges). Returns the challenge and where the code went,
    masked."""
    with db.atomic():
        challenge = challenges.start(challenges.MY_DATA, account=account)
        step = challenges.code_step(challenge, postman=postman)
        if account.phone and step.sms_allowed:
            channel = challenges.SMS
        elif step.email_allowed:
            channel = challenges.EMAIL
        else:
            raise MyDataError(_l("无法向你绑定的手机或邮箱发送校验码，请联系学校。"))
        shown_to = challenges.send_code(challenge, channel, postman=postman, ip=ip)
    return challenge, shown_to


def ready(challenge: Challenge | None) -> bool:
    """Whether the code was right and the download not yet made."""
    return (challenge is not None and challenge.step == DOWNLOAD_STEP
            and challenge.verified_at is not None and challenge.finished_at is None)


def claim(challenge: Challenge, *, ip: str, now=None) -> bool:
    """Take the one download a right code buys: False when it was taken already (or
    the code was never right). The audit entry is written in the same transaction."""
    if not ready(challenge):
        return False
    now = now or utcnow()
    with db.atomic():
        taken = Challenge.update(finished_at=now, updated_at=now).where(
            Challenge.id == challenge.id, Challenge.finished_at.is_null(),
            Challenge.verified_at.is_null(False), Challenge.step == DOWNLOAD_STEP).execute()
        if not taken:
            return False
        challenge.finished_at = now
        audit.log("account.data_downloaded", account=challenge.account, ip=ip)
    return True


# --- the files of the export ----------------------------------------------------------

def file_name(tz, now=None) -> str:
    return f"my-data-{clock.stamp(tz, now)}.zip"


def _value(value, tz):
    """A stored value as JSON: times in the school's zone with its offset, dates ISO,
    amounts as exact text."""
    if isinstance(value, datetime.datetime):
        return clock.iso(value, tz)
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:.2f}"   # amounts of money (资助), kept to the fen
    return value


def _json(document) -> bytes:
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _json_list(items: Iterable[dict]) -> Iterator[bytes]:
    """A JSON array written an item at a time."""
    first = True
    yield b"["
    for item in items:
        yield (b"\n  " if first else b",\n  ") + json.dumps(item, ensure_ascii=False).encode("utf-8")
        first = False
    yield b"\n]\n" if not first else b"]\n"


def _csv(columns: list[tuple[str, str, str]], items: Iterable[dict]) -> Iterator[bytes]:
    """A CSV of `items` (dicts) with one column per (key, Chinese, English) and
    headers in both languages."""
    return exports.iter_csv([f"{zh} / {en}" for _key, zh, en in columns],
                            ([item.get(key) for key, _zh, _en in columns] for item in items))


def _times(row, tz, *names) -> dict:
    return {name: _value(getattr(row, name), tz) for name in names}


def _profile(account: Account, tz, now) -> dict:
    return {
        "exported_at": clock.iso(now, tz),
        "timezone": str(clock.zone(tz)),
        "username": account.username,
        "role": account.role,
        "real_name": account.real_name,
        "id_type": account.id_type,
        "id_number": account.id_number,
        "phone": account.phone,
        "latin_name": account.latin_name,
        "public_checks": account.public_checks,
        **_times(account, tz, "created_at", "last_login_at", "disabled_at", "closed_at"),
        "disabled_reason": account.disabled_reason,
    }


def _photo_name(kind_key: str, record) -> str | None:
    stored = getattr(record, "photo", None)
    if not stored:
        return None
    return f"records/photos/{kind_key}-{record.id}{PurePosixPath(stored).suffix or '.jpg'}"


def _records(account: Account, tz) -> dict:
    """kind -> the person's visible records of that kind, every column by name."""
    found = {}
    for kind in KINDS.values():
        model = kind.model
        rows = (model.select().where(model.account == account.id, model.withdrawn_at.is_null())
                .order_by(model.id))
        found[kind.key] = [{
            "id": record.id,
            **{column.attr: _value(getattr(record, column.attr), tz) for column in kind.columns},
            "bound_by": record.bound_by,
            **_times(record, tz, "bound_at", "created_at", "updated_at"),
            "photo": _photo_name(kind.key, record),
        } for record in rows]
    return found


RECORD_META = [("id", "记录编号", "Record id"), ("bound_by", "绑定方式", "Bound by"),
               ("bound_at", "绑定时间", "Bound at"), ("updated_at", "更新时间", "Updated at"),
               ("photo", "照片文件", "Photo file")]


def _record_columns(kind) -> list:
    return [RECORD_META[0], *((c.attr, c.header, c.english) for c in kind.columns),
            *RECORD_META[1:]]


def _record_photos(account: Account, found: dict) -> Iterator[tuple[str, bytes]]:
    for kind_key, items in found.items():
        model = KINDS[kind_key].model
        if "photo" not in model._meta.fields:
            continue
        for record in (model.select(model.id, model.photo)
                       .where(model.account == account.id, model.withdrawn_at.is_null(),
                              model.photo.is_null(False)).order_by(model.id)):
            data = files.read(record.photo)
            if data is not None:
                yield _photo_name(kind_key, record), data


def _report_statuses(account: Account, now) -> dict:
    """report id -> its status (valid, expired, closed, withdrawn), with one query per
    kind of record for the withdrawals (reports.statuses_of on light rows)."""
    light = list(Report.select(Report.id, Report.kind, Report.record_id, Report.expires_at,
                               Report.closed_at, Report.withdrawn_at)
                 .where(Report.account == account.id))
    return dict(zip((report.id for report in light), reports.statuses_of(light, now)))


def _report_pdf_name(code: str) -> str:
    return f"reports/{code}.pdf"


def _reports(account: Account, tz, now) -> Iterator[dict]:
    statuses = _report_statuses(account, now)
    for report in (Report.select().where(Report.account == account.id)
                   .order_by(Report.issued_at, Report.id).iterator()):
        yield {
            "id": report.id,
            "code": report.code,
            "kind": report.kind,
            "record_id": report.record_id,
            "status": statuses.get(report.id),
            **_times(report, tz, "issued_at", "expires_at", "closed_at", "withdrawn_at"),
            "full_id": report.full_id,
            "alert_checks": report.alert_checks,
            "pdf": _report_pdf_name(report.code) if report.pdf_path else None,
            "pdf_sha256": report.pdf_sha256,
            "snapshot": reports.snapshot_of(report),
        }


def _report_pdfs(account: Account) -> Iterator[tuple[str, Iterable[bytes]]]:
    """Each signed PDF, read from the database only when the ZIP reaches it."""
    for report in (Report.select(Report.id, Report.code, Report.pdf_path)
                   .where(Report.account == account.id, Report.pdf_path.is_null(False))
                   .order_by(Report.issued_at, Report.id).iterator()):
        yield _report_pdf_name(report.code), _read_later(report.pdf_path)


def _read_later(name: str) -> Iterator[bytes]:
    data = files.read(name)
    if data is not None:
        yield data


VERIFICATION_COLUMNS = [
    ("type", "类型", "Type"), ("at", "时间", "Time"), ("report_code", "报告编号", "Report code"),
    ("certificate_number", "证书编号", "Certificate number"), ("channel", "方式", "Channel"),
    ("organisation", "查验单位", "Organisation"), ("purpose", "查验用途", "Purpose"),
    ("outcome", "结果", "Outcome"), ("ip", "IP", "IP")]


def _verifications(account: Account, tz) -> Iterator[dict]:
    """Every check of the person's reports, then every public check of their diplomas."""
    query = (Verification.select(Verification, Report.id, Report.code)
             .join(Report).where(Report.account == account.id)
             .order_by(Verification.at, Verification.id))
    for check in query.iterator():
        yield {"type": "report", "at": clock.iso(check.at, tz), "report_id": check.report.id,
               "report_code": check.report.code, "channel": check.channel,
               "organisation": check.organisation, "purpose": check.purpose,
               "outcome": check.outcome, "ip": check.ip}
    query = (PublicCheck.select(PublicCheck, Diploma.id, Diploma.certificate_number)
             .join(Diploma).where(Diploma.account == account.id, Diploma.withdrawn_at.is_null())
             .order_by(PublicCheck.at, PublicCheck.id))
    for check in query.iterator():
        yield {"type": "public_check", "at": clock.iso(check.at, tz),
               "diploma_id": check.diploma.id,
               "certificate_number": check.diploma.certificate_number, "ip": check.ip}


def _evidence_name(correction: CorrectionRequest) -> str | None:
    if not correction.evidence_path:
        return None
    return f"corrections/{correction.id}-evidence{PurePosixPath(correction.evidence_path).suffix}"


def _corrections(account: Account, tz) -> list[dict]:
    found = []
    for correction in (CorrectionRequest.select().where(CorrectionRequest.account == account.id)
                       .order_by(CorrectionRequest.created_at, CorrectionRequest.id)):
        kind = KINDS.get(correction.kind)
        column = next((c for c in kind.columns if c.attr == correction.field), None) if kind else None
        found.append({
            "id": correction.id, "kind": correction.kind, "record_id": correction.record_id,
            "field": correction.field, "field_label": column.header if column else None,
            "current_value": correction.current_value,
            "proposed_value": correction.proposed_value,
            "adopted_value": correction.adopted_value,
            "reason": correction.reason, "status": correction.status, "reply": correction.reply,
            **_times(correction, tz, "created_at", "decided_at"),
            "evidence": _evidence_name(correction),
        })
    return found


def _evidence(account: Account) -> Iterator[tuple[str, Iterable[bytes]]]:
    for correction in (CorrectionRequest.select(CorrectionRequest.id,
                                                CorrectionRequest.evidence_path)
                       .where(CorrectionRequest.account == account.id,
                              CorrectionRequest.evidence_path.is_null(False))
                       .order_by(CorrectionRequest.id)):
        yield _evidence_name(correction), _read_later(correction.evidence_path)


def _appeals(account: Account, tz) -> list[dict]:
    """As the account page shows them: the reference only when the appeal was approved
    (the reader was the appellant), nothing about who filed it."""
    return [{
        "reference": appeal.reference if appeal.status == appeal.APPROVED else None,
        "status": appeal.status,
        **_times(appeal, tz, "created_at", "decided_at"),
        "holder_answer": appeal.holder_answer,
        "holder_answered_at": _value(appeal.holder_answered_at, tz),
    } for appeal in reversed(appeals.for_account(account))]


LOGIN_COLUMNS = [("at", "时间", "Time"), ("success", "成功", "Succeeded"), ("ip", "IP", "IP"),
                 ("user_agent", "浏览器", "Browser")]
SESSION_COLUMNS = [("created_at", "登录时间", "Logged in"),
                   ("last_seen_at", "最近活动", "Last seen"),
                   ("ended_at", "结束时间", "Ended"), ("ip", "IP", "IP"),
                   ("user_agent", "浏览器", "Browser")]


def _logins(account: Account, tz) -> Iterator[dict]:
    for event in (LoginEvent.select().where(LoginEvent.account == account.id)
                  .order_by(LoginEvent.at, LoginEvent.id).iterator()):
        yield {"at": clock.iso(event.at, tz), "success": event.success, "ip": event.ip,
               "user_agent": event.user_agent}


def _sessions(account: Account, tz) -> Iterator[dict]:
    """Every login session on the server (its token is never exported: only a hash is kept)."""
    for login in (LoginSession.select().where(LoginSession.account == account.id)
                  .order_by(LoginSession.created_at, LoginSession.id).iterator()):
        yield {**_times(login, tz, "created_at", "last_seen_at", "ended_at"),
               "ip": login.ip, "user_agent": login.user_agent}


README = """\
我的数据 · My data
==================

{school}
账号 Account: {username}
生成时间 Made at: {made_at}
时区 Time zone: {zone}（文件中的时间都是这个时区，带 UTC 偏移 / every time in these files is in
this zone, with its UTC offset, ISO 8601）

这是学信档案保存的关于你的全部数据，包括完整的证件号码、手机号码和报告编号，请妥善保管。
This is everything the student records portal holds about you, including your full ID
number, phone number and report codes. Keep it safe.

文件 / Files
------------
README.txt            本说明 / this file
profile.json          账户信息：用户名、姓名、证件类型与号码、手机号码、护照姓名拼写、注册时间等
                      your account: username, name, ID type and number, phone, passport
                      spelling of the name, when you registered, …
records.json          你在"我的学信档案"中看到的全部记录（学籍 enrollment、学历 diploma、学位 degree、
                      录取 admission、资助 aid），每个字段一个键 / every record you see under
                      "My records", one key per field
records/<kind>.csv    同样的记录，每类一个 CSV（UTF-8，Excel 可直接打开）/ the same records,
                      one CSV per kind (UTF-8, opens in Excel)
records/photos/       记录中的照片 / the photos of your records
reports.json          你生成的全部在线验证报告：编号、状态、有效期、报告内容（snapshot）
                      every online verification report you issued: code, status, validity,
                      the report's content (snapshot)
reports/<code>.pdf    学校签名的报告 PDF，与当时下载的文件完全相同 / the school-signed report
                      PDFs, byte for byte as issued
verifications.json    查验记录：每次有人查验你的报告（方式 channel: web 网页, pdf PDF 文件,
verifications.csv     api 接口, batch 批量查验, match 证件号码比对；结果 outcome），以及对你的学历
                      证书的公开查询（type public_check）/ every check of your reports, and
                      every public check of your diplomas
corrections.json      你的更正申请及学校的答复 / your correction requests and the school's
corrections/          replies; the evidence you attached
appeals.json          关于你的证件号码的申诉（与账户页面显示的内容相同，不含申诉人的信息）
                      appeals against your ID number, as the account page shows them
                      (nothing about who filed them)
logins.json           每一次登录尝试（成功和失败）/ every login attempt, successful or not
logins.csv
sessions.json         服务器上的每个登录会话（设备）/ every login session (device) on the server
sessions.csv

CSV 文件中以 = + - @ 开头的内容前加了一个撇号 '，以免电子表格把它当作公式。
In the CSV files a value starting with = + - @ has an apostrophe ' in front, so that a
spreadsheet does not run it as a formula.
"""


def _readme(account: Account, tz, now, school: str) -> bytes:
    text = README.format(school=school, username=account.username, made_at=clock.iso(now, tz),
                         zone=str(clock.zone(tz)))
    return text.replace("\n", "\r\n").encode("utf-8")


def entries(account: Account, *, tz, school: str = "", now=None) -> Iterator[tuple[str, object]]:
    """The files of the export, in order: (name in the ZIP, bytes or an iterator of
    bytes). Everything is read as the ZIP reaches it."""
    now = now or utcnow()
    yield "README.txt", _readme(account, tz, now, school)
    yield "profile.json", _json(_profile(account, tz, now))
    found = _records(account, tz)
    yield "records.json", _json(found)
    for kind in KINDS.values():
        yield f"records/{kind.key}.csv", _csv(_record_columns(kind), found[kind.key])
    yield from _record_photos(account, found)
    yield "reports.json", _json_list(_reports(account, tz, now))
    yield from _report_pdfs(account)
    yield "verifications.json", _json_list(_verifications(account, tz))
    yield "verifications.csv", _csv(VERIFICATION_COLUMNS, _verifications(account, tz))
    yield "corrections.json", _json(_corrections(account, tz))
    yield from _evidence(account)
    yield "appeals.json", _json(_appeals(account, tz))
    yield "logins.json", _json_list(_logins(account, tz))
    yield "logins.csv", _csv(LOGIN_COLUMNS, _logins(account, tz))
    yield "sessions.json", _json_list(_sessions(account, tz))
    yield "sessions.csv", _csv(SESSION_COLUMNS, _sessions(account, tz))


# --- the ZIP, a chunk at a time ------------------------------------------------------------

class _Pipe(io.RawIOBase):
    """Where zipfile writes: kept until the next `drain`. It cannot seek, so zipfile
    writes each entry's sizes after its data (a data descriptor) instead of going back."""

    def __init__(self):
        super().__init__()
        self._chunks = []

    def writable(self):
        return True

    def write(self, data):
        self._chunks.append(bytes(data))
        return len(data)

    def drain(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


def zip_stream(files_in: Iterable[tuple[str, object]], *, tz, now=None) -> Iterator[bytes]:
    """The ZIP of `files_in` (entries' shape), yielded as it is written: at most one
    chunk of one entry is held at a time. Entry times are `now` in the school's zone."""
    stamp = clock.local(now or utcnow(), tz).timetuple()[:6]
    pipe = _Pipe()
    with zipfile.ZipFile(pipe, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in files_in:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.external_attr = 0o600 << 16
            stored = name.lower().endswith(STORED_SUFFIXES)
            info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            chunks = [content] if isinstance(content, bytes) else content
            with archive.open(info, "w") as out:
                for chunk in chunks:
                    out.write(chunk)
                    yield from _some(pipe.drain())
            yield from _some(pipe.drain())
    yield from _some(pipe.drain())


def _some(data: bytes) -> Iterator[bytes]:
    if data:
        yield data
