"""Bulk import of records from the registrar's spreadsheets (CSV or XLSX), with photos.

Every row is checked before anything is written: a file with one bad row
imports nothing, and the registrar gets every problem at once, by row and
column, to fix in the spreadsheet. A valid file is written in one transaction.
Re-importing a file updates the records it describes instead of adding copies.
"""
import csv
import datetime
import io
import os
import re
import time
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path, PurePosixPath

from peewee import CharField, IntegrityError, chunked
from PIL import Image, ImageOps

import crypto
from models import db, utcnow
from services import identity
from services.accounts import audit
from services.records import KINDS, Kind

MAX_BYTES = 50 * 1024 * 1024
MAX_ERRORS = 200
# An XLSX is a zip: refuse one that would inflate to far more than a sheet can be.
XLSX_MAX_RATIO = 40
# SQLite's old limit on bound variables is 999 per statement.
LOOKUP_CHUNK = 900
INSERT_ROWS = 2000

PHOTO_MAX_ENTRIES = 20_000
PHOTO_MAX_ENTRY_BYTES = 10 * 1024 * 1024
PHOTO_MAX_TOTAL_BYTES = 1024 * 1024 * 1024
PHOTO_MAX_PIXELS = 40_000_000
PHOTO_SIZE = (120, 160)
PHOTO_MAX_JPEG_BYTES = 15 * 1024

# Identifiers that look like numbers: a spreadsheet must not turn them into numbers.
_IDENTIFIERS = {"student_number", "candidate_number", "certificate_number", "school_number"}
_SCIENTIFIC = re.compile(r"\d+(?:\.\d+)?[eE]\+?\d+")
_LOST_PRECISION = ("这一格是位数过长的 Excel 数字（如 1.10105194912310e+17），后几位已丢失："
                   "请把该列设为“文本”格式，重新填写后再导入。")
_DATE_FORMATS = (
    re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})"),
    re.compile(r"(\d{4})(\d{2})(\d{2})"),
    re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日?"),
)
_TIME_OF_DAY = re.compile(r"\s+\d{1,2}:\d{2}(?::\d{2})?$")
_FUTURE_ALLOWED = {"expected_graduation"}


@dataclass(frozen=True)
class RowError:
    """One problem: `row` is the spreadsheet's row number (header = 1, 0 = the file)."""

    row: int
    column: str
    message: str

    def __str__(self):
        where = (f"第 {self.row} 行" if self.row else "") + (f"「{self.column}」" if self.column else "")
        return f"{where}：{self.message}" if where else self.message


class ImportRejected(Exception):
    """Nothing was written; `errors` says why, row by row."""

    def __init__(self, errors):
        self.errors = list(errors)
        super().__init__(f"导入被拒绝：{len(self.errors)} 处问题，未写入任何记录。")


@dataclass
class ImportResult:
    kind: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    photos: int = 0
    # Updated records, already bound to an account, whose name or ID number changed.
    bound_identity_changed: int = 0
    seconds_validating: float = 0.0
    seconds_writing: float = 0.0


class _CellError(ValueError):
    pass


def import_file(kind_key: str, filename: str, data: bytes, *, photos_zip: bytes | None = None,
                upload_dir, max_bytes: int = MAX_BYTES, actor: str = "cli") -> ImportResult:
    """Check the whole file, then create or update its records in one transaction."""
    kind = KINDS[kind_key]
    started = time.perf_counter()
    check_size(filename, len(data), max_bytes)
    table = _read_table(filename, data, max_bytes)
    columns = _map_headers(kind, table)
    rows, errors = _clean_rows(kind, columns, table[1:])
    plan = _plan(kind, rows, errors)
    photos = _read_photos(kind, photos_zip, rows, errors) if photos_zip is not None else {}
    if errors:
        raise ImportRejected(_capped(errors))

    result = ImportResult(kind=kind_key, rows=len(rows),
                          seconds_validating=time.perf_counter() - started)
    started = time.perf_counter()
    try:
        with db.atomic():
            _write(kind, plan, result)
            result.photos = _store_photos(kind, photos, Path(upload_dir))
            audit("records.imported", actor=actor, detail=(
                f"kind={kind_key}, file={_basename(filename)}, created={result.created}, "
                f"updated={result.updated}, unchanged={result.unchanged}, photos={result.photos}"))
    except IntegrityError as error:
        # Another import or an edit got in between the checks and the writes.
        raise ImportRejected([RowError(0, "", f"数据库拒绝了写入（{error}），未写入任何记录；请重新导入。")]) from None
    result.seconds_writing = time.perf_counter() - started
    return result


def check_size(filename: str, size: int, max_bytes: int = MAX_BYTES) -> None:
    """Refuse a file by its name and size alone, before reading it."""
    suffix = Path(filename).suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise ImportRejected([RowError(0, "", f"不支持的文件类型「{suffix or filename}」：请上传 .csv 或 .xlsx 文件。")])
    if size > max_bytes:
        raise ImportRejected([RowError(0, "", f"文件太大（{_size_text(size)}），上限为 "
                                              f"{_size_text(max_bytes)}：请拆分后分批导入。")])
    if size == 0:
        raise ImportRejected([RowError(0, "", "文件是空的。")])


# --- reading ---------------------------------------------------------------

def _read_table(filename: str, data: bytes, max_bytes: int) -> list:
    """All rows, the header first, as lists of cell values (str, or Excel's types)."""
    if Path(filename).suffix.lower() == ".csv":
        rows = _read_csv(data)
    else:
        rows = _read_xlsx(data, max_bytes)
    while rows and _blank(rows[-1]):
        rows.pop()
    if not rows:
        raise ImportRejected([RowError(0, "", "文件是空的。")])
    if all(_blank(row) for row in rows[1:]):
        raise ImportRejected([RowError(0, "", "文件只有列名，没有数据行。")])
    return rows


def _read_csv(data: bytes) -> list:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ImportRejected([RowError(0, "", "无法识别文件的编码：请另存为“CSV UTF-8”或 GB18030 编码的 CSV 文件。")])
    try:
        return [list(row) for row in csv.reader(io.StringIO(text, newline=""))]
    except csv.Error as error:
        raise ImportRejected([RowError(0, "", f"CSV 文件格式有误（{error}）。")]) from None


def _read_xlsx(data: bytes, max_bytes: int) -> list:
    from openpyxl import load_workbook

    not_xlsx = RowError(0, "", "这不是有效的 .xlsx 文件（可能已损坏，或是旧版 .xls 改了扩展名）：请用 Excel 另存为 .xlsx 或 CSV。")
    if not data.startswith(b"PK"):
        raise ImportRejected([not_xlsx])
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            inflated = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise ImportRejected([not_xlsx]) from None
    if inflated > max(max_bytes, len(data)) * XLSX_MAX_RATIO:
        raise ImportRejected([RowError(0, "", "这个 .xlsx 文件解压后过大，无法导入：请拆分后分批导入。")])
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds of errors for a damaged file
        raise ImportRejected([not_xlsx]) from None
    try:
        sheet = workbook.worksheets[0]
        # Some programs write a wrong sheet size; read what is really there.
        sheet.reset_dimensions()
        return [list(row) for row in sheet.iter_rows(values_only=True)]
    except Exception:
        raise ImportRejected([not_xlsx]) from None
    finally:
        workbook.close()


def _blank(row) -> bool:
    return all(value is None or (isinstance(value, str) and not value.strip()) for value in row)


def _header_key(text) -> str:
    return unicodedata.normalize("NFKC", "" if text is None else str(text)).replace("\ufeff", "").strip()


def _map_headers(kind: Kind, table: list) -> dict:
    """Column position -> records.Column, or ImportRejected naming what is wrong."""
    wanted = {_header_key(column.header): column for column in kind.columns}
    header = table[0]
    width = max(len(row) for row in table)
    found, errors, seen = {}, [], {}
    for position in range(width):
        text = _header_key(header[position] if position < len(header) else None)
        if not text:
            if any(position < len(row) and not _blank([row[position]]) for row in table[1:]):
                errors.append(RowError(1, "", f"第 {position + 1} 列有数据但没有列名。"))
            continue
        if text in seen:
            errors.append(RowError(1, text, f"列名重复（第 {seen[text] + 1} 列和第 {position + 1} 列）。"))
            continue
        seen[text] = position
        if text in wanted:
            found[position] = wanted[text]
    unknown = [text for text in seen if text not in wanted]
    missing = [column.header for key, column in wanted.items() if key not in seen]
    if missing:
        errors.append(RowError(1, "", f"缺少列：{'、'.join(missing)}。"))
    if unknown:
        errors.append(RowError(1, "", f"无法识别的列：{'、'.join(unknown)}；"
                                      f"{kind.label}记录的列为：{'、'.join(kind.headers)}。"))
    if errors:
        raise ImportRejected(errors)
    return found


# --- checking cells ----------------------------------------------------------

def _text(value) -> str:
    """A cell as text; numbers Excel stored for digits turn back into those digits."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer():
            # Excel keeps 15 significant digits: longer numbers have lost their tail.
            if abs(value) >= 1e15:
                raise _CellError(_LOST_PRECISION)
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat(" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value).strip()


def _identifier(value) -> str:
    text = unicodedata.normalize("NFKC", _text(value)).strip()
    if _SCIENTIFIC.fullmatch(text):
        raise _CellError(f"「{text}」是被 Excel 改成科学计数法的数字，后几位已丢失："
                         "请把该列设为“文本”格式，重新填写后再导入。")
    return text


def _date(value, allow_future: bool, today: datetime.date):
    if isinstance(value, datetime.datetime):
        day = value.date()
    elif isinstance(value, datetime.date):
        day = value
    else:
        text = _TIME_OF_DAY.sub("", unicodedata.normalize("NFKC", _text(value)))
        if not text:
            return None
        match = next(filter(None, (pattern.fullmatch(text) for pattern in _DATE_FORMATS)), None)
        if match is None:
            raise _CellError(f"无法识别的日期「{text}」：请写成 2019-09-01 这样的格式。")
        try:
            day = datetime.date(*(int(part) for part in match.groups()))
        except ValueError:
            raise _CellError(f"日期「{text}」不存在，请核对。") from None
    if day.year < 1900:
        raise _CellError(f"日期 {day.isoformat()} 早于 1900 年，请核对。")
    if not allow_future and day > today:
        raise _CellError(f"日期 {day.isoformat()} 晚于今天，请核对。")
    return day


def _choice(value, choices) -> str | None:
    text = _text(value)
    if not text:
        return None
    if text in choices:
        return text
    folded = _choice_key(text)
    for choice in choices:
        if _choice_key(choice) == folded:
            return choice
    raise _CellError(f"「{text}」不是可选的值；可选：{'、'.join(choices)}。")


def _choice_key(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def _int(value) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    text = unicodedata.normalize("NFKC", _text(value))
    if not text:
        return None
    if not re.fullmatch(r"\d{1,9}", text):
        raise _CellError(f"「{text}」不是整数。")
    return int(text)


def _money(value) -> Decimal | None:
    text = unicodedata.normalize("NFKC", _text(value)).replace(",", "").lstrip("¥").strip()
    if not text:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise _CellError(f"「{text}」不是金额：请只填数字，如 1500 或 1500.50。") from None
    if not amount.is_finite():
        raise _CellError(f"「{text}」不是金额：请只填数字，如 1500 或 1500.50。")
    if amount < 0:
        raise _CellError(f"金额不能为负数（{text}）。")
    if amount != amount.quantize(Decimal("0.01")):
        raise _CellError(f"金额最多保留两位小数（{text}）。")
    if amount >= Decimal(10) ** 10:
        raise _CellError(f"金额 {text} 过大，请核对。")
    return amount.quantize(Decimal("0.01"))


# --- checking rows -----------------------------------------------------------

@dataclass
class _Row:
    number: int
    values: dict
    key: tuple = ()


def _clean_rows(kind: Kind, columns: dict, data_rows: list):
    today = datetime.date.today()
    rows, errors, first_seen = [], [], {}
    for number, cells in enumerate(data_rows, start=2):
        if _blank(cells):
            continue
        raw = {column.attr: (cells[position] if position < len(cells) else None)
               for position, column in columns.items()}
        values, problems = _clean_row(kind, raw, today)
        errors.extend(RowError(number, column, message) for column, message in problems)
        if problems:
            continue
        key, headers = _row_key(kind, values)
        if key in first_seen:
            errors.append(RowError(number, headers[0], f"与第 {first_seen[key]} 行重复"
                                                       f"（{'、'.join(headers)}相同）。"))
            continue
        first_seen[key] = number
        rows.append(_Row(number, values, key))
    return rows, errors


def clean_values(kind: Kind, raw: dict):
    """One record's values checked by the import rules: (values, [(header, message)]).

    `raw` maps each column's attr to its text, as a spreadsheet cell would hold it.
    The correction service uses this, so a corrected field obeys the same rules.
    """
    return _clean_row(kind, raw, datetime.date.today())


def _clean_row(kind: Kind, raw: dict, today: datetime.date):
    """The values to store, and (header, message) for each problem found."""
    values, problems = {}, []
    fields = kind.model._meta.fields
    for column in kind.columns:
        if column.type == "id_number":
            continue
        value = raw[column.attr]
        try:
            if column.attr == "name":
                text = _text(value)
                cleaned = identity.normalize_name(text) if text or column.required else None
            elif column.type == "date":
                cleaned = _date(value, column.attr in _FUTURE_ALLOWED, today)
            elif column.type == "choice":
                cleaned = _choice(value, column.choices)
            elif column.type == "int":
                cleaned = _int(value)
            elif column.type == "money":
                cleaned = _money(value)
            elif column.attr in _IDENTIFIERS:
                cleaned = _identifier(value) or None
            else:
                cleaned = _text(value) or None
        except (_CellError, identity.IdentityError) as error:
            problems.append((column.header, str(error)))
            values[column.attr] = None
            continue
        if cleaned is None and column.required:
            problems.append((column.header, "不能为空。"))
        field = fields[column.attr]
        if isinstance(cleaned, str) and isinstance(field, CharField) and len(cleaned) > field.max_length:
            problems.append((column.header, f"不能超过 {field.max_length} 个字符。"))
        values[column.attr] = cleaned

    values["id_type"] = values.get("id_type") or identity.RESIDENT_ID
    _clean_id_number(kind, raw, values, problems)
    _check_kind(kind, values, problems, today)
    return values, problems


def _clean_id_number(kind: Kind, raw: dict, values: dict, problems: list):
    header = kind.column("id_number").header
    values["id_number"] = values["id_number_index"] = None
    try:
        text = _identifier(raw["id_number"])
        if not text:
            if kind.key == "aid":
                problems.append((header, "资助记录必须填写证件号码。"))
            return
        if values["id_type"] == identity.RESIDENT_ID:
            number = identity.normalize_resident_id(text, today=datetime.date.today())
        else:
            number = identity.normalize_other_id(text)
    except (_CellError, identity.IdentityError) as error:
        problems.append((header, str(error)))
        return
    values["id_number"] = number
    values["id_number_index"] = crypto.blind_index(number)
    if values["id_type"] != identity.RESIDENT_ID:
        return
    birth = values.get("birth_date")
    if birth and birth != identity.birth_date_of(number):
        problems.append((kind.column("birth_date").header,
                         f"出生日期 {birth.isoformat()} 与身份证号码中的出生日期 "
                         f"{identity.birth_date_of(number).isoformat()} 不一致。"))
    gender = values.get("gender")
    if gender and gender != identity.gender_of(number):
        problems.append((kind.column("gender").header,
                         f"性别「{gender}」与身份证号码不一致（第 17 位表示{identity.gender_of(number)}）。"))


def _check_kind(kind: Kind, values: dict, problems: list, today: datetime.date):
    if kind.key == "diploma":
        _check_diploma(kind, values, problems)
    elif kind.key == "degree" and values.get("certificate_number"):
        values["certificate_key"] = _certificate_key(values["certificate_number"], "学位证书编号", problems)
    elif kind.key == "admission" and values.get("year") is not None:
        if not 1950 <= values["year"] <= today.year + 1:
            problems.append((kind.column("year").header,
                             f"录取年份应在 1950 到 {today.year + 1} 之间（现为 {values['year']}）。"))


def _check_diploma(kind: Kind, values: dict, problems: list):
    number = values.get("certificate_number")
    school_number = values.get("school_number")
    values["certificate_key"] = values["school_number_key"] = None
    if number:
        number = values["certificate_number"] = identity.fold(number).upper()
    if school_number:
        school_number = values["school_number"] = identity.fold(school_number).upper()
    if not number and not school_number:
        problems.append(("证书编号", "证书编号和学校编号至少要填写一项。"))
    if number:
        values["certificate_key"] = _certificate_key(number, "证书编号", problems)
        graduated = values.get("graduation_date")
        problem = graduated and identity.certificate_problem(number, graduated.year)
        if problem:
            problems.append(("证书编号", str(problem)))
    if school_number:
        values["school_number_key"] = _certificate_key(school_number, "学校编号", problems)
    admitted, graduated = values.get("admission_date"), values.get("graduation_date")
    if admitted and graduated and graduated <= admitted:
        problems.append((kind.column("graduation_date").header,
                         f"毕(结)业日期 {graduated.isoformat()} 应晚于入学日期 {admitted.isoformat()}。"))


def _certificate_key(number: str, header: str, problems: list):
    try:
        return identity.certificate_key(number)
    except identity.IdentityError:
        problems.append((header, f"「{number}」只能包含数字和字母（可带“NO.”）。"))
        return None


# --- natural keys and the records already stored -----------------------------

def _row_key(kind: Kind, values: dict):
    """What identifies the row's record across imports, and the headers that name it."""
    if kind.key == "diploma":
        if values["certificate_key"]:
            return ("certificate", values["certificate_key"]), ("证书编号",)
        return ("school", values["school_number_key"], values["school_name"]), ("学校编号", "学校名称")
    attrs = ["certificate_key" if attr == "certificate_number" else
             "id_number_index" if attr == "id_number" else attr for attr in kind.natural_key]
    return (tuple(values[attr] for attr in attrs),
            tuple(kind.column(attr).header for attr in kind.natural_key))


def _stored_keys(kind: Kind, stored: dict) -> list:
    if kind.key == "diploma":
        keys = []
        if stored["certificate_key"]:
            keys.append(("certificate", stored["certificate_key"]))
        if stored["school_number_key"]:
            keys.append(("school", stored["school_number_key"], stored["school_name"]))
        return keys
    return [_row_key(kind, stored)[0]]


def _probes(kind: Kind, rows: list) -> dict:
    """Column -> values to look up, to find every stored record the rows may match."""
    probes = {}
    for row in rows:
        if kind.key == "diploma":
            attr = "certificate_key" if row.key[0] == "certificate" else "school_number_key"
            probes.setdefault(attr, set()).add(row.key[1])
        else:
            attr = {"certificate_number": "certificate_key", "id_number": "id_number_index"}.get(
                kind.natural_key[0], kind.natural_key[0])
            probes.setdefault(attr, set()).add(row.key[0])
    return probes


def _compared_fields(kind: Kind) -> list:
    """The stored fields an import sets: the columns, with the ID's index for the ID."""
    fields = ["id_number_index" if column.attr == "id_number" else column.attr for column in kind.columns]
    fields += [name for name in ("certificate_key", "school_number_key") if name in kind.model._meta.fields]
    return fields


def _stored(kind: Kind, rows: list) -> dict:
    """Natural key -> the stored records (as dicts) that carry it."""
    model = kind.model
    wanted = [model.id, model.account] + [model._meta.fields[name] for name in _compared_fields(kind)]
    found = {}
    for attr, values in _probes(kind, rows).items():
        for chunk in chunked(sorted(values), LOOKUP_CHUNK):
            for stored in model.select(*wanted).where(model._meta.fields[attr].in_(chunk)).dicts():
                found[stored["id"]] = stored
    by_key = {}
    for stored in found.values():
        for key in _stored_keys(kind, stored):
            by_key.setdefault(key, []).append(stored)
    return by_key


@dataclass
class _Plan:
    new: list
    changes: list      # (stored id, {field: value}, bound identity changed)
    unchanged: int


def _plan(kind: Kind, rows: list, errors: list) -> _Plan:
    """Which rows create records and which change which stored fields."""
    plan = _Plan([], [], 0)
    by_key = _stored(kind, rows) if rows else {}
    claimed = {}
    compared = _compared_fields(kind)
    for row in rows:
        matches = by_key.get(row.key, [])
        _, headers = _row_key(kind, row.values)
        if len(matches) > 1:
            errors.append(RowError(row.number, headers[0], f"数据库中已有 {len(matches)} 条记录的"
                                                           f"{'、'.join(headers)}与此行相同，无法确定更新哪一条，请联系管理员。"))
            continue
        if not matches:
            plan.new.append(row.values)
            continue
        stored = matches[0]
        if stored["id"] in claimed:
            errors.append(RowError(row.number, headers[0],
                                   f"与第 {claimed[stored['id']]} 行对应数据库中的同一条记录。"))
            continue
        claimed[stored["id"]] = row.number
        changed = {name: row.values[name] for name in compared
                   if not _same(row.values[name], stored[name])}
        if not changed:
            plan.unchanged += 1
            continue
        if "id_number_index" in changed:
            changed["id_number"] = row.values["id_number"]
        bound_identity = stored["account"] is not None and bool({"name", "id_number"} & changed.keys())
        plan.changes.append((stored["id"], changed, bound_identity))
    return plan


def _same(new, old) -> bool:
    # Records made elsewhere may hold "" where an import stores NULL.
    return new == old or (new in (None, "") and old in (None, ""))


# --- writing -----------------------------------------------------------------

def _write(kind: Kind, plan: _Plan, result: ImportResult) -> None:
    model = kind.model
    now = utcnow()
    names = _compared_fields(kind) + ["id_number", "created_at", "updated_at"]
    fields = [model._meta.fields[name] for name in names]
    # One prepared INSERT run by executemany: building 100,000 rows through peewee's
    # query builder costs more than SQLite's own work.
    sql = (f"INSERT INTO {_quoted(model._meta.table_name)} "
           f"({', '.join(_quoted(field.column_name) for field in fields)}) "
           f"VALUES ({', '.join([db.param] * len(fields))})")
    cursor = db.cursor()
    for batch in chunked(plan.new, INSERT_ROWS):
        cursor.executemany(sql, [[field.db_value(value) for field, value in
                                  zip(fields, [values[name] for name in names[:-2]] + [now, now])]
                                 for values in batch])
    for record_id, changed, bound_identity in plan.changes:
        model.update({**{model._meta.fields[name]: value for name, value in changed.items()},
                      model.updated_at: now}).where(model.id == record_id).execute()
        result.bound_identity_changed += bound_identity
    result.created, result.updated, result.unchanged = len(plan.new), len(plan.changes), plan.unchanged


# --- photos --------------------------------------------------------------------

def _photo_key_field(kind: Kind) -> str:
    return {"enrollment": "student_number", "diploma": "certificate_key"}[kind.key]


def _photo_key(kind: Kind, stem: str):
    text = unicodedata.normalize("NFKC", stem).strip()
    if kind.key == "diploma":
        try:
            return identity.certificate_key(text)
        except identity.IdentityError:
            return None
    return text or None


def _read_photos(kind: Kind, data: bytes, rows: list, errors: list) -> dict:
    """Photo key -> small JPEG bytes, for the photos named after records in the file or the database."""
    if kind.photo_label is None:
        errors.append(RowError(0, "", f"{kind.label}记录没有照片，请不要附带照片压缩包。"))
        return {}
    label = kind.photo_label
    has_row_errors = bool(errors)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = [info for info in archive.infolist() if not info.is_dir()]
    except zipfile.BadZipFile:
        errors.append(RowError(0, label, "照片压缩包不是有效的 ZIP 文件。"))
        return {}
    # Hidden files and macOS resource forks are not photos.
    entries = [info for info in entries if not _basename(info.filename).startswith(".")
               and not info.filename.startswith("__MACOSX/")]
    if len(entries) > PHOTO_MAX_ENTRIES:
        errors.append(RowError(0, label, f"照片压缩包内文件过多（{len(entries)} 个，上限 {PHOTO_MAX_ENTRIES}）。"))
        return {}
    if sum(info.file_size for info in entries) > PHOTO_MAX_TOTAL_BYTES:
        errors.append(RowError(0, label, "照片压缩包解压后过大。"))
        return {}

    header = {"enrollment": "学号", "diploma": "证书编号"}[kind.key]
    photos, names, total = {}, {}, 0
    for info in entries:
        # Only the file's own name counts: folders and "../" in the zip are ignored.
        name = _basename(info.filename)
        stem, _, suffix = name.rpartition(".")
        if suffix.lower() not in ("jpg", "jpeg", "png") or not stem:
            errors.append(RowError(0, label, f"「{name}」不是 JPEG 或 PNG 照片（文件名应为{header}加 .jpg 或 .png）。"))
            continue
        key = _photo_key(kind, stem)
        if key is None:
            errors.append(RowError(0, label, f"「{name}」的文件名不是有效的{header}。"))
            continue
        if key in names:
            errors.append(RowError(0, label, f"「{name}」与「{names[key]}」是同一{header}的照片。"))
            continue
        names[key] = name
        try:
            with archive.open(info) as handle:
                raw = handle.read(PHOTO_MAX_ENTRY_BYTES + 1)
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, EOFError, zlib.error):
            errors.append(RowError(0, label, f"「{name}」无法解压（压缩包损坏或已加密）。"))
            continue
        total += len(raw)
        if len(raw) > PHOTO_MAX_ENTRY_BYTES or total > PHOTO_MAX_TOTAL_BYTES:
            errors.append(RowError(0, label, f"「{name}」过大。"))
            continue
        try:
            photos[key] = _small_jpeg(raw)
        except _CellError as error:
            errors.append(RowError(0, label, f"「{name}」{error}"))

    in_file = {row.values[_photo_key_field(kind)] for row in rows}
    missing = [key for key in photos if key not in in_file]
    # With bad rows in the file, "not found" would only repeat their errors.
    if missing and not has_row_errors:
        model = kind.model
        field = model._meta.fields[_photo_key_field(kind)]
        counts = {}
        for chunk in chunked(missing, LOOKUP_CHUNK):
            for (value,) in model.select(field).where(field.in_(chunk)).tuples():
                counts[value] = counts.get(value, 0) + 1
        for key in missing:
            if not counts.get(key):
                errors.append(RowError(0, label, f"「{names[key]}」：文件和数据库中都没有{header}为 {key} 的记录。"))
            elif counts[key] > 1:
                errors.append(RowError(0, label, f"「{names[key]}」：数据库中有多条{header}为 {key} 的记录。"))
    return photos


def _small_jpeg(raw: bytes) -> bytes:
    """A 120x160 JPEG (cropped to 3:4) of at most PHOTO_MAX_JPEG_BYTES."""
    try:
        with Image.open(io.BytesIO(raw)) as image:
            if image.format not in ("JPEG", "PNG"):
                raise _CellError("不是 JPEG 或 PNG 图片。")
            if image.width * image.height > PHOTO_MAX_PIXELS:
                raise _CellError("像素过多，不像是证件照。")
            image.load()
            image = ImageOps.exif_transpose(image)
            if image.mode in ("RGBA", "LA", "P"):
                image = image.convert("RGBA")
                background = Image.new("RGB", image.size, "white")
                background.paste(image, mask=image.getchannel("A"))
                image = background
            image = ImageOps.fit(image.convert("RGB"), PHOTO_SIZE, Image.Resampling.LANCZOS)
    except _CellError:
        raise
    except Exception:  # Pillow raises many kinds of errors for a damaged image
        raise _CellError("不是有效的图片，或图片已损坏。") from None
    for quality in range(85, 4, -10):
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=quality, optimize=True)
        if buffer.tell() <= PHOTO_MAX_JPEG_BYTES:
            break
    return buffer.getvalue()


def _store_photos(kind: Kind, photos: dict, upload_dir: Path) -> int:
    if not photos:
        return 0
    model = kind.model
    field = model._meta.fields[_photo_key_field(kind)]
    folder = upload_dir / "photos" / kind.key
    folder.mkdir(parents=True, exist_ok=True)
    now, stored = utcnow(), 0
    for chunk in chunked(list(photos), LOOKUP_CHUNK):
        query = model.select(model.id, field, model.photo).where(field.in_(chunk))
        for record_id, key, current in query.tuples():
            relative = f"photos/{kind.key}/{record_id}.jpg"
            path = folder / f"{record_id}.jpg"
            if current == relative and path.exists() and path.read_bytes() == photos[key]:
                continue
            partial = path.with_suffix(".part")
            partial.write_bytes(photos[key])
            os.replace(partial, path)
            model.update(photo=relative, updated_at=now).where(model.id == record_id).execute()
            stored += 1
    return stored


# --- small helpers ------------------------------------------------------------

def _quoted(name: str) -> str:
    return f"{db.quote[0]}{name}{db.quote[1]}"


def _basename(name: str) -> str:
    return PurePosixPath(name.replace("\\", "/")).name


def _size_text(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / 1024 / 1024:.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size} 字节"


def _capped(errors: list) -> list:
    if len(errors) <= MAX_ERRORS:
        return errors
    return errors[:MAX_ERRORS] + [RowError(0, "", f"还有 {len(errors) - MAX_ERRORS} 处错误未列出。")]
