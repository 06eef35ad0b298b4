"""批量查验: a verifier (an employer's HR) checks up to 100 report codes at once.

Codes come pasted (any separators, any case, spaces or hyphens inside a code),
from a CSV/XLSX column, or as a JSON list (the API). Each distinct code is
looked up once, with the same six outcomes as a single check (services.reports);
the result is kept server-side, encrypted, for an hour under an unguessable
token, so it can be downloaded as CSV or XLSX without checking (and logging)
again. Logging each check in its owner's 查验记录 is the view's job (it knows
the verifier's address).
"""
import csv
import datetime
import io
import re
import unicodedata
import zipfile
from dataclasses import asdict, dataclass, field

from flask_babel import lazy_gettext as _l

from models import Challenge, utcnow
from services import clock, exports, reports, values
from services.columns import KINDS
from services.errors import ServiceError

MAX_CODES = 100
# A stored result (a Challenge row of this purpose) is downloadable this long.
LIFETIME = datetime.timedelta(hours=1)
PURPOSE = "verify_batch"
# An .xlsx inflating to more than this many times its size is refused unread.
XLSX_MAX_RATIO = 40

# Strong separators: a new code starts after each (newlines, tabs, commas,
# semicolons, 、 and their full-width forms). Spaces may also sit inside a code.
_SEPARATORS = re.compile(r"[\r\n\t,;|、，；｜]+")
_INSIDE = re.compile(r"[\s\-‐‑–—_]")
# A header cell that names the code column.
_HEADER = re.compile(r"验证码|校验码|code", re.IGNORECASE)

# The wording of the single result page (templates/verify/_result.html).
OUTCOME_TEXT = {
    reports.VALID: _l("有效的在线验证报告。"),
    reports.EXPIRED: _l("该报告已过期。请联系报告的主人重新申请或延长有效期。"),
    reports.CLOSED: _l("该报告已被本人关闭。"),
    reports.WITHDRAWN: _l("该报告已被学校撤销。"),
    reports.UNKNOWN: _l("没有这个在线验证码对应的报告，请核对验证码。"),
    reports.MALFORMED: _l("这不是有效的在线验证码格式：验证码由 16 位字母和数字组成。"),
}
# What the table shows of a valid report besides name and school (services.values fields).
KEY_FIELDS = {
    "enrollment": ("level", "major", "status", "admission_date"),
    "diploma": ("level", "major", "graduation_date", "completion", "certificate_number"),
    "degree": ("degree", "discipline", "award_date", "certificate_number"),
}
SCHOOL_FIELDS = ("school_name", "awarding_unit")

HEADERS = (_l("验证码"), _l("查验结果"), _l("姓名"), _l("类别"), _l("学校"), _l("主要信息"),
           _l("有效期至"))


class BatchError(ServiceError):
    """Input that cannot be checked: no codes, too many, a file that cannot be read."""


def too_many() -> BatchError:
    return BatchError(_l("一次最多查验 %(max)s 个验证码，请分批查验。", max=MAX_CODES), field="codes")


def no_codes(field_name: str = "codes") -> BatchError:
    return BatchError(_l("请填写或上传至少一个在线验证码。"), field=field_name)


def _compact(text: str) -> str:
    return _INSIDE.sub("", unicodedata.normalize("NFKC", text)).upper()


def split_codes(text: str) -> list[str]:
    """The codes in pasted text, as typed. Separators are newlines, commas,
    semicolons, 、 and the like; spaces separate codes too, but a code may itself be
    written in groups ("ABCD EFGH JKLM NPQR"): space-separated pieces are joined
    until they make 16 characters."""
    found = []
    for chunk in _SEPARATORS.split(text or ""):
        pieces, length = [], 0
        for piece in chunk.split():
            size = len(_compact(piece))
            if pieces and length + size > reports.CODE_LENGTH:
                found.append(" ".join(pieces))
                pieces, length = [], 0
            pieces.append(piece)
            length += size
            if length >= reports.CODE_LENGTH:
                found.append(" ".join(pieces))
                pieces, length = [], 0
        if pieces:
            found.append(" ".join(pieces))
    return [code for code in found if _compact(code)]


def distinct(typed: list[str]) -> list[str]:
    """Each code once, in input order (the first spelling of a repeated code kept),
    at most MAX_CODES of them."""
    seen, kept = set(), []
    for code in typed:
        text = code.strip()
        key = reports.normalize_code(text) or _compact(text)
        if key in seen:
            continue
        seen.add(key)
        kept.append(text)
        if len(kept) > MAX_CODES:
            raise too_many()
    return kept


def codes_from_list(items) -> list[str]:
    """The API's "codes": a list of strings, checked like pasted codes."""
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise BatchError(_l("codes 必须是字符串列表。"), field="codes")
    codes = distinct(items)
    if not codes:
        raise no_codes()
    return codes


# --- files -----------------------------------------------------------------

def unreadable() -> BatchError:
    return BatchError(_l("无法读取这个文件：请上传 CSV 或 XLSX 文件，验证码放在一列中。"),
                      field="file")


def codes_from_file(filename: str, data: bytes, max_bytes: int) -> list[str]:
    """The codes in a CSV/XLSX file's code column: the column whose header names a
    code (验证码, 校验码, code), else the first column."""
    if len(data) > max_bytes:
        raise BatchError(_l("文件太大：不能超过 %(size)s KB。", size=max_bytes // 1024), field="file")
    if not data:
        raise no_codes("file")
    rows = _xlsx_rows(data, max_bytes) if data.startswith(b"PK") else _csv_rows(filename, data)
    return _column(rows)


def _csv_rows(filename: str, data: bytes):
    if filename.lower().endswith((".xlsx", ".xls")):
        raise unreadable()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        # Control characters mean a binary file (a PDF, an .xls) under a .csv name.
        if any(unicodedata.category(char) == "Cc" and char not in "\r\n\t" for char in text):
            raise unreadable()
        try:
            return list(csv.reader(io.StringIO(text, newline="")))
        except csv.Error:
            raise unreadable() from None
    raise unreadable()


def _xlsx_rows(data: bytes, max_bytes: int):
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            inflated = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise unreadable() from None
    if inflated > max(max_bytes, len(data)) * XLSX_MAX_RATIO:
        raise unreadable()
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds of errors for a damaged file
        raise unreadable() from None
    try:
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()
        rows = []
        # Enough rows for MAX_CODES codes and their blanks; a longer sheet is too many.
        for row in sheet.iter_rows(values_only=True):
            rows.append(["" if value is None else str(value) for value in row])
            if len(rows) > 10 * MAX_CODES:
                break
        return rows
    except Exception:  # a damaged sheet
        raise unreadable() from None
    finally:
        workbook.close()


def _column(rows: list) -> list[str]:
    rows = [row for row in rows if any(str(cell).strip() for cell in row)]
    if not rows:
        raise no_codes("file")
    header = rows[0]
    index = next((i for i, cell in enumerate(header) if _HEADER.search(str(cell))), None)
    if index is None:
        index = 0
        # A first row that is no code is a header naming the column otherwise.
        if reports.normalize_code(str(header[0]) if header else "") is None:
            rows = rows[1:]
    else:
        rows = rows[1:]
    codes = [str(row[index]).strip() for row in rows if index < len(row) and str(row[index]).strip()]
    if not codes:
        raise no_codes("file")
    return codes


def collect(text: str = "", file=None, max_bytes: int = 0) -> list[str]:
    """The distinct codes of a batch form: the pasted ones, then the file's.
    `file`: (filename, bytes) or None."""
    typed = split_codes(text)
    if file is not None:
        typed += codes_from_file(file[0], file[1], max_bytes)
    codes = distinct(typed)
    if not codes:
        raise no_codes()
    return codes


# --- checking --------------------------------------------------------------

@dataclass
class Row:
    """One line of the result table (and of the downloads)."""
    typed: str
    outcome: str
    code: str | None = None
    kind: str | None = None
    name: dict | None = None            # {"value", "value_en"}
    school: dict | None = None
    fields: list = field(default_factory=list)   # [{"zh", "en", "value", "value_en"}]
    expires_at: str | None = None       # the school's day, YYYY-MM-DD


@dataclass
class Checked:
    """A checked batch: each code's lookup (services.reports.Lookup) and its row."""
    pairs: list                          # [(reports.Lookup, Row)], in input order

    @property
    def rows(self) -> list:
        return [row for _lookup, row in self.pairs]

    @property
    def found(self) -> list:
        """The pairs whose report exists: each such check goes in its owner's 查验记录."""
        return [(lookup, row) for lookup, row in self.pairs if lookup.report is not None]


def check(codes: list[str], *, school: values.School, tz=None, now=None) -> Checked:
    pairs = []
    for typed in codes:
        lookup = reports.lookup(typed, now)
        row = Row(typed=typed, outcome=lookup.outcome, code=lookup.code)
        if lookup.outcome == reports.VALID:
            _describe(row, lookup, school, tz)
        pairs.append((lookup, row))
    return Checked(pairs)


def _describe(row: Row, lookup, school: values.School, tz) -> None:
    view = reports.latest_view(lookup.report, school, lookup.record)
    by_key = {item.get("key"): item for item in view["fields"]}

    def pick(item):
        return {"zh": item.get("zh", ""), "en": item.get("en", ""),
                "value": item.get("value") or "", "value_en": item.get("value_en") or ""}

    row.kind = lookup.report.kind
    if "name" in by_key:
        row.name = pick(by_key["name"])
    school_key = next((key for key in SCHOOL_FIELDS if key in by_key), None)
    if school_key:
        row.school = pick(by_key[school_key])
    row.fields = [pick(by_key[key]) for key in KEY_FIELDS.get(row.kind, ()) if key in by_key]
    row.expires_at = clock.local_date(lookup.report.expires_at, tz).isoformat()


# --- keeping the result ------------------------------------------------------

def keep(rows: list, *, organisation: str = "", purpose: str = "") -> str:
    """Store the result (encrypted, a Challenge row) and return its token."""
    challenge = Challenge.create(purpose=PURPOSE, step="done", payload={
        "rows": [asdict(row) for row in rows],
        "organisation": organisation, "purpose": purpose})
    return challenge.token


def kept(token: str, now=None) -> list | None:
    """The rows stored under `token`, while they are kept (LIFETIME); else None."""
    if not token or len(token) > 64:
        return None
    challenge = Challenge.get_or_none(Challenge.token == token, Challenge.purpose == PURPOSE)
    if challenge is None:
        return None
    if challenge.created_at < (now or utcnow()) - LIFETIME:
        challenge.delete_instance()
        return None
    return [Row(**row) for row in challenge.payload.get("rows", [])]


def purge(now=None) -> int:
    """Forget results past their lifetime (services.retention)."""
    return (Challenge.delete()
            .where(Challenge.purpose == PURPOSE, Challenge.created_at < (now or utcnow()) - LIFETIME)
            .execute())


# --- downloads -----------------------------------------------------------------

def _text(part: dict | None, english: bool) -> str:
    if not part:
        return ""
    return (part.get("value_en") or part.get("value", "")) if english else part.get("value", "")


def table(rows: list, *, english: bool = False) -> tuple[list, list]:
    """Headers and rows of the download, in the reader's language (`english`)."""
    lines = []
    for row in rows:
        kind = KINDS.get(row.kind) if row.kind else None
        facts = "; ".join(f"{item['en'] if english else item['zh']}: {_text(item, english)}"
                          for item in row.fields)
        lines.append([row.typed, str(OUTCOME_TEXT[row.outcome]), _text(row.name, english),
                      (kind.english if english else kind.label) if kind else "",
                      _text(row.school, english), facts, row.expires_at or ""])
    return [str(header) for header in HEADERS], lines


def to_csv(rows: list, *, english: bool = False) -> bytes:
    return exports.to_csv(*table(rows, english=english))


def to_xlsx(rows: list, *, english: bool = False) -> bytes:
    headers, lines = table(rows, english=english)
    return exports.to_xlsx(headers, lines, title="batch")
