"""Bulk import of records from the registrar's spreadsheets (CSV or XLSX), with photos.

Every row is checked before anything is written: a file with one bad row
imports nothing, and the registrar gets every problem at once, by row and
column, to fix in the spreadsheet. A valid file is written in one transaction.
Re-importing a file updates the records it describes instead of adding copies.
"""
import csv
import datetime
import io
import time
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

from peewee import IntegrityError, chunked

from models import db, utcnow
from services import audit, columns, photos, uploads
from services.columns import KINDS, Kind

MAX_BYTES = 50 * 1024 * 1024
MAX_ERRORS = 200
# An XLSX is a zip: refuse one that would inflate to far more than a sheet can be.
XLSX_MAX_RATIO = 40
# SQLite's old limit on bound variables is 999 per statement.
LOOKUP_CHUNK = 900
INSERT_ROWS = 2000


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


def import_file(kind_key: str, filename: str, data: bytes, *, photos_zip: bytes | None = None,
                upload_dir, max_bytes: int = MAX_BYTES, actor: str = "cli") -> ImportResult:
    """Check the whole file, then create or update its records in one transaction."""
    kind = KINDS[kind_key]
    started = time.perf_counter()
    check_size(filename, len(data), max_bytes)
    table = _read_table(filename, data, max_bytes)
    positions = _map_headers(kind, table)
    rows, errors = _clean_rows(kind, positions, table[1:])
    plan = _plan(kind, rows, errors)
    found_photos = _read_photos(kind, photos_zip, rows, errors) if photos_zip is not None else {}
    if errors:
        raise ImportRejected(_capped(errors))

    result = ImportResult(kind=kind_key, rows=len(rows),
                          seconds_validating=time.perf_counter() - started)
    started = time.perf_counter()
    try:
        with db.atomic():
            _write(kind, plan, result)
            result.photos = photos.store(kind, found_photos, Path(upload_dir))
            audit.log("records.imported", actor=actor, detail=(
                f"kind={kind_key}, file={uploads.basename(filename)}, created={result.created}, "
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
    """Column position -> columns.Column, or ImportRejected naming what is wrong."""
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


# --- checking rows -----------------------------------------------------------

@dataclass
class _Row:
    number: int
    values: dict
    key: tuple = ()


def _clean_rows(kind: Kind, positions: dict, data_rows: list):
    today = datetime.date.today()
    rows, errors, first_seen = [], [], {}
    for number, cells in enumerate(data_rows, start=2):
        if _blank(cells):
            continue
        raw = {column.attr: (cells[position] if position < len(cells) else None)
               for position, column in positions.items()}
        values, problems = columns.clean_values(kind, raw, today)
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
    sql = (f"INSERT INTO {_quoted(model._meta.table_name)} "  # nosec B608 # names from the model, quoted; values are parameters
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


# --- photos ------------------------------------------------------------------

def _read_photos(kind: Kind, data: bytes, rows: list, errors: list) -> dict:
    """Photo key -> small JPEG, for the photos named after records in the file or the database."""
    if kind.photo_label is None:
        errors.append(RowError(0, "", f"{kind.label}记录没有照片，请不要附带照片压缩包。"))
        return {}
    in_file = {row.values[photos.key_field(kind)] for row in rows}
    # With bad rows in the file, "not found" would only repeat their errors.
    found, problems = photos.read_zip(kind, data, in_file, check_database=not errors)
    errors.extend(RowError(0, kind.photo_label, problem) for problem in problems)
    return found


# --- small helpers ------------------------------------------------------------

def _quoted(name: str) -> str:
    return f"{db.quote[0]}{name}{db.quote[1]}"


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
