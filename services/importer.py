"""Bulk import of records from the registrar's spreadsheets (CSV or XLSX), with photos.

Every row is checked before anything is written: a file with one bad row
imports nothing, and the registrar gets every problem at once, by row and
column, to fix in the spreadsheet. A valid file is written in one transaction.
Re-importing a file updates the records it describes instead of adding copies.

The portal's import page goes in two steps: `stage` checks an upload and shows a
`Preview` (rows to create, rows to update with old -> new values, rows
unchanged, every problem) and keeps the file sealed in an `ImportBatch`; the
registrar's 导入 runs `commit` (the file is checked again and written in one
transaction) or 取消 runs `cancel`. A batch commits once: a conditional UPDATE
(pending -> committing) decides between two confirms. The command line
(`import_file`) still checks and writes in one go.

Nothing holds every row: the file is read row by row twice, once to check it
(counters, a digest per row, the first problems) and once, in the write
transaction, to write it in chunks (docs/architecture.md "Imports stream").
"""
import codecs
import csv
import datetime
import hashlib
import io
import time
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from peewee import IntegrityError, chunked, fn
from peewee import __exception_wrapper__ as driver_errors  # the driver's errors as peewee's

from models import ImportBatch, db, utcnow, write_transaction
from services import audit, columns, exports, identity, photos, uploads
from services.columns import KINDS, Column, Kind
from services.errors import ServiceError

MAX_BYTES = 50 * 1024 * 1024
MAX_ERRORS = 200
# An XLSX is a zip: refuse one that would inflate to far more than a sheet can be.
XLSX_MAX_RATIO = 40
# SQLite's old limit on bound variables is 999 per statement.
LOOKUP_CHUNK = 900
# The file is read twice, row by row, never held as rows: the check looks its rows up
# in the database CHECK_ROWS at a time; the write inserts and updates WRITE_ROWS at a time.
CHECK_ROWS = 500
WRITE_ROWS = 2000
# A CSV's encoding is found by decoding it this many bytes at a time.
DECODE_PIECE = 1024 * 1024
# How many rows of each list a preview shows (the counts are always complete).
PREVIEW_ROWS = 200
# A batch not committed or cancelled within this time expires (retention.purge).
PENDING_LIFETIME = datetime.timedelta(days=1)
HISTORY_PAGE = 50


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
                max_bytes: int = MAX_BYTES, actor: str = "cli", ip: str = "",
                today: datetime.date | None = None) -> ImportResult:
    """Check the whole file, then create or update its records in one transaction.
    `today` is the school's date (services.clock): no record date may be later."""
    checked = _check(_Source(KINDS[kind_key], filename, data, max_bytes, today), photos_zip)
    if checked.errors:
        raise ImportRejected(checked.errors)
    return _commit_checked(checked, actor=actor, ip=ip)


@dataclass
class _Source:
    """The uploaded file, read again for each pass (its rows are never all in memory)."""

    kind: Kind
    filename: str
    data: bytes
    max_bytes: int
    today: datetime.date | None = None


@dataclass
class _Checked:
    source: _Source
    rows: int
    tally: "_Tally"
    photos: dict
    errors: list        # the first MAX_ERRORS problems (and how many more), in the file's order
    seconds: float


def _check(source: _Source, photos_zip) -> _Checked:
    """Pass 1: read the file row by row and check everything, writing nothing; keeps
    counters, the first rows of each kind for the preview and the first problems.
    ImportRejected for a file that cannot be read at all."""
    started = time.perf_counter()
    kind = source.kind
    check_size(source.filename, len(source.data), source.max_bytes)
    row_errors, plan_errors = _Errors(), _Errors()
    tally = _Tally(kind, plan_errors)
    in_file = set() if photos_zip is not None and kind.photo_label is not None else None

    def checked(rows):
        tally.plan(rows)
        if in_file is not None:
            in_file.update(row.values[photos.key_field(kind)] for row in rows)

    count = _scan(source, CHECK_ROWS, checked, row_errors)
    errors = row_errors.kept + plan_errors.kept
    found_photos = {}
    if photos_zip is not None:
        found_photos = _read_photos(kind, photos_zip, in_file, errors)
    total = row_errors.count + plan_errors.count + len(errors) - len(row_errors.kept) - len(plan_errors.kept)
    return _Checked(source, count, tally, found_photos, _capped(errors, total),
                    time.perf_counter() - started)


def _commit_checked(checked: _Checked, *, actor: str, ip: str,
                    batch_id: int | None = None) -> ImportResult:
    """Pass 2: read the file again and write it in chunks, all in one transaction."""
    source = checked.source
    kind = source.kind
    result = ImportResult(kind=kind.key, seconds_validating=checked.seconds)
    started = time.perf_counter()
    try:
        with write_transaction():
            if checked.tally.created or checked.tally.updated:
                result.rows = _write(source, result)
            else:  # every row as stored: nothing to read again or write (as when the plan came first)
                result.rows, result.unchanged = checked.rows, checked.tally.unchanged
            result.photos = photos.store(kind, checked.photos)
            detail = (f"kind={kind.key}, file={uploads.basename(source.filename)}, created={result.created}, "
                      f"updated={result.updated}, unchanged={result.unchanged}, photos={result.photos}")
            if batch_id is not None:
                detail += f", batch={batch_id}"
                now = utcnow()
                closed = (ImportBatch.update(status=ImportBatch.COMMITTED, rows=result.rows,
                                             created=result.created, updated=result.updated,
                                             unchanged=result.unchanged, photos=result.photos,
                                             committed_at=now, finished_at=now, finished_by=actor,
                                             file_data=None, photos_data=None)
                          .where(ImportBatch.id == batch_id,
                                 ImportBatch.status == ImportBatch.COMMITTING).execute())
                if not closed:  # expired under us: write nothing
                    raise _BatchLost()
            audit.log("records.imported", actor=actor, ip=ip, detail=detail)
    except IntegrityError as error:
        # Another import or an edit got in between the checks and the writes.
        raise ImportRejected([RowError(0, "", f"数据库拒绝了写入（{error}），未写入任何记录；请重新导入。")]) from None
    except _BatchLost:
        raise ImportRejected([RowError(0, "", "这批导入已过期或已被处理，未写入任何记录。")]) from None
    result.seconds_writing = time.perf_counter() - started
    return result


class _BatchLost(Exception):
    pass


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

def _read_table(filename: str, data: bytes, max_bytes: int):
    """The rows, the header first, one at a time, as lists of cell values (str, or
    Excel's types). A file that cannot be read at all is refused before the first row."""
    if Path(filename).suffix.lower() == ".csv":
        return _read_csv(data)
    return _read_xlsx(data, max_bytes)


def _read_csv(data: bytes):
    encoding = _csv_encoding(data)
    text = io.TextIOWrapper(io.BytesIO(data), encoding=encoding, newline="")
    return _csv_rows(csv.reader(text))


def _csv_encoding(data: bytes) -> str:
    """The file's encoding, found by decoding it piece by piece (not into one string)."""
    view = memoryview(data)
    for encoding in ("utf-8-sig", "gb18030"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            for start in range(0, len(data), DECODE_PIECE):
                decoder.decode(view[start:start + DECODE_PIECE])
            decoder.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError:
            continue
    raise ImportRejected([RowError(0, "", "无法识别文件的编码：请另存为“CSV UTF-8”或 GB18030 编码的 CSV 文件。")])


def _csv_rows(reader):
    try:
        yield from reader
    except csv.Error as error:
        raise ImportRejected([RowError(0, "", f"CSV 文件格式有误（{error}）。")]) from None


def _read_xlsx(data: bytes, max_bytes: int):
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
        # read_only: openpyxl streams the sheet's XML instead of building every cell.
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
        # Some programs write a wrong sheet size; read what is really there.
        sheet.reset_dimensions()
        rows = sheet.iter_rows(values_only=True)
    except Exception:  # openpyxl raises many kinds of errors for a damaged file
        raise ImportRejected([not_xlsx]) from None
    return _xlsx_rows(workbook, rows, not_xlsx)


def _xlsx_rows(workbook, rows, not_xlsx: RowError):
    try:
        while True:
            try:
                row = next(rows)
            except StopIteration:
                return
            except Exception:
                raise ImportRejected([not_xlsx]) from None
            yield list(row)
    finally:
        workbook.close()


def _blank(row) -> bool:
    return all(value is None or (isinstance(value, str) and not value.strip()) for value in row)


def _header_key(text) -> str:
    return unicodedata.normalize("NFKC", "" if text is None else str(text)).replace("\ufeff", "").strip()


@dataclass
class _Header:
    """The header row read: column position -> columns.Column, and what is wrong with it."""

    found: dict
    names: list                 # the header text of each position ("" for none)
    at: dict                    # position -> RowError (a repeated column name)
    after: list                 # missing and unknown columns
    unnamed_data: set = field(default_factory=set)  # positions with data but no name

    def note(self, cells) -> None:
        """Remember the positions of `cells` that hold data under no column name."""
        names = self.names
        for position in range(len(cells)):
            if (position >= len(names) or not names[position]) and not _blank([cells[position]]):
                self.unnamed_data.add(position)

    @property
    def errors(self) -> list:
        at = dict(self.at)
        for position in self.unnamed_data:
            at[position] = RowError(1, "", f"第 {position + 1} 列有数据但没有列名。")
        return [at[position] for position in sorted(at)] + self.after


def _map_headers(kind: Kind, header: list) -> _Header:
    wanted = {_header_key(column.header): column for column in kind.columns}
    names = [_header_key(text) for text in header]
    found, at, seen = {}, {}, {}
    for position, text in enumerate(names):
        if not text:
            continue
        if text in seen:
            at[position] = RowError(1, text, f"列名重复（第 {seen[text] + 1} 列和第 {position + 1} 列）。")
            continue
        seen[text] = position
        if text in wanted:
            found[position] = wanted[text]
    unknown = [text for text in seen if text not in wanted]
    missing = [column.header for key, column in wanted.items() if key not in seen]
    after = []
    if missing:
        after.append(RowError(1, "", f"缺少列：{'、'.join(missing)}。"))
    if unknown:
        after.append(RowError(1, "", f"无法识别的列：{'、'.join(unknown)}；"
                                     f"{kind.label}记录的列为：{'、'.join(kind.headers)}。"))
    return _Header(found, names, at, after)


# --- checking rows -----------------------------------------------------------

@dataclass
class _Row:
    number: int
    values: dict
    key: tuple = ()


class _Errors:
    """The first MAX_ERRORS problems, and how many there were."""

    def __init__(self):
        self.kept, self.count = [], 0

    def add(self, error: RowError) -> None:
        self.count += 1
        if len(self.kept) < MAX_ERRORS:
            self.kept.append(error)


def _scan(source: _Source, batch_rows: int, handle, errors: _Errors) -> int:
    """Read the file once: clean each row, refuse rows repeating an earlier one, and
    hand the good rows to `handle` in lists of `batch_rows`; the number of good rows.

    Only a compact digest of each row's natural key is kept for the whole file. A
    file that is empty, or whose header is wrong, raises ImportRejected at the end
    (with the header's problems only, as the registrar must fix those first)."""
    kind = source.kind
    today = source.today or datetime.date.today()
    table = _read_table(source.filename, source.data, source.max_bytes)
    header_row = next(table, None)
    if header_row is None:
        raise ImportRejected([RowError(0, "", "文件是空的。")])
    header = _map_headers(kind, header_row)
    width, has_unnamed = len(header.names), not all(header.names)
    first_seen, batch, count, any_data = {}, [], 0, False
    for number, cells in enumerate(table, start=2):
        if _blank(cells):
            continue
        any_data = True
        if len(cells) > width or has_unnamed:
            header.note(cells)
        if header.at or header.after or header.unnamed_data:
            continue  # the header is wrong: only look for more of its problems
        raw = {column.attr: (cells[position] if position < len(cells) else None)
               for position, column in header.found.items()}
        values, problems = columns.clean_values(kind, raw, today)
        for column, message in problems:
            errors.add(RowError(number, column, message))
        if problems:
            continue
        key, headers = _row_key(kind, values)
        digest = _digest(key)
        if digest in first_seen:
            errors.add(RowError(number, headers[0], f"与第 {first_seen[digest]} 行重复"
                                                    f"（{'、'.join(headers)}相同）。"))
            continue
        first_seen[digest] = number
        batch.append(_Row(number, values, key))
        count += 1
        if len(batch) >= batch_rows:
            handle(batch)
            batch = []
    if not any_data:
        raise ImportRejected([RowError(0, "", "文件只有列名，没有数据行。" if not _blank(header_row)
                                       else "文件是空的。")])
    if header.errors:
        raise ImportRejected(header.errors)
    if batch:
        handle(batch)
    return count


def _digest(key: tuple) -> bytes:
    """16 bytes standing for a natural key (a collision is as likely as guessing a key)."""
    return hashlib.blake2b(repr(key).encode(), digest_size=16).digest()


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


def _stored(kind: Kind, rows: list, up_to_id: int | None = None) -> dict:
    """Natural key -> the stored records (as dicts) that carry it; with `up_to_id`, only
    the records that were there before this import started writing."""
    model = kind.model
    wanted = [model.id, model.account] + [model._meta.fields[name] for name in _compared_fields(kind)]
    found = {}
    for attr, values in _probes(kind, rows).items():
        for chunk in chunked(sorted(values), LOOKUP_CHUNK):
            where = model._meta.fields[attr].in_(chunk)
            if up_to_id is not None:
                where &= model.id <= up_to_id
            for stored in model.select(*wanted).where(where).dicts():
                found[stored["id"]] = stored
    by_key = {}
    for stored in found.values():
        for key in _stored_keys(kind, stored):
            by_key.setdefault(key, []).append(stored)
    return by_key


@dataclass
class _Change:
    row: int
    record_id: int
    changed: dict       # field -> new value
    old: dict           # field -> stored value (the ID number is looked up for the preview)
    bound_identity: bool


class _Tally:
    """Which rows create records and which change which stored fields, batch by batch:
    the counts, and the first PREVIEW_ROWS of each list for the preview."""

    def __init__(self, kind: Kind, errors: _Errors, up_to_id: int | None = None):
        self.kind, self.errors, self.up_to_id = kind, errors, up_to_id
        self.compared = _compared_fields(kind)
        self.claimed = {}           # stored record id -> the row that matched it
        self.created = self.updated = self.unchanged = self.bound_identity_changed = 0
        self.new = []               # (row number, values)
        self.changes = []           # _Change
        self.unchanged_rows = []    # row numbers

    def plan(self, rows: list) -> tuple[list, list]:
        """The values of the records to create and the _Changes, for these rows."""
        kind, new, changes = self.kind, [], []
        by_key = _stored(kind, rows, self.up_to_id)
        for row in rows:
            matches = by_key.get(row.key, [])
            _, headers = _row_key(kind, row.values)
            if len(matches) > 1:
                self.errors.add(RowError(row.number, headers[0], f"数据库中已有 {len(matches)} 条记录的"
                                         f"{'、'.join(headers)}与此行相同，无法确定更新哪一条，请联系管理员。"))
                continue
            if not matches:
                new.append(row.values)
                if len(self.new) < PREVIEW_ROWS:
                    self.new.append((row.number, row.values))
                continue
            stored = matches[0]
            if stored["id"] in self.claimed:
                self.errors.add(RowError(row.number, headers[0],
                                         f"与第 {self.claimed[stored['id']]} 行对应数据库中的同一条记录。"))
                continue
            self.claimed[stored["id"]] = row.number
            changed = {name: row.values[name] for name in self.compared
                       if not _same(row.values[name], stored[name])}
            if not changed:
                self.unchanged += 1
                if len(self.unchanged_rows) < PREVIEW_ROWS:
                    self.unchanged_rows.append(row.number)
                continue
            if "id_number_index" in changed:
                changed["id_number"] = row.values["id_number"]
            bound_identity = stored["account"] is not None and bool({"name", "id_number"} & changed.keys())
            change = _Change(row.number, stored["id"], changed,
                             {name: stored.get(name) for name in changed}, bound_identity)
            changes.append(change)
            if len(self.changes) < PREVIEW_ROWS:
                self.changes.append(change)
        self.created += len(new)
        self.updated += len(changes)
        self.bound_identity_changed += sum(change.bound_identity for change in changes)
        return new, changes


def _same(new, old) -> bool:
    # Records made elsewhere may hold "" where an import stores NULL.
    return new == old or (new in (None, "") and old in (None, ""))


# --- writing -----------------------------------------------------------------

def _write(source: _Source, result: ImportResult) -> int:
    """Read the file again and write it WRITE_ROWS rows at a time; the caller holds the
    transaction. The rows are matched against the records stored before the first write
    (a record created by an earlier row is not one a later row may update). A problem the
    check did not see (the records changed in between) writes nothing: ImportRejected."""
    kind = source.kind
    model = kind.model
    row_errors, plan_errors = _Errors(), _Errors()
    up_to_id = model.select(fn.MAX(model.id)).scalar() or 0
    tally = _Tally(kind, plan_errors, up_to_id)
    statements = _Statements(model, _compared_fields(kind) + ["id_number"], utcnow())

    def write(rows):
        new, changes = tally.plan(rows)
        if not (row_errors.count or plan_errors.count):
            statements.insert(new)
            statements.update(changes)

    rows = _scan(source, WRITE_ROWS, write, row_errors)
    if row_errors.count or plan_errors.count:
        errors = row_errors.kept + plan_errors.kept
        raise ImportRejected(_capped(errors, row_errors.count + plan_errors.count))
    result.created, result.updated, result.unchanged = tally.created, tally.updated, tally.unchanged
    result.bound_identity_changed = tally.bound_identity_changed
    return rows


class _Statements:
    """Prepared INSERTs and UPDATEs run by executemany: building 100,000 rows through
    peewee's query builder costs more than the database's own work."""

    def __init__(self, model, names: list, now: datetime.datetime):
        self.model, self.names, self.now = model, names, now
        self.fields = [model._meta.fields[name] for name in names + ["created_at", "updated_at"]]
        self.insert_sql = (f"INSERT INTO {_quoted(model._meta.table_name)} "  # nosec B608 # names from the model, quoted; values are parameters
                           f"({', '.join(_quoted(f.column_name) for f in self.fields)}) "
                           f"VALUES ({', '.join([db.param] * len(self.fields))})")

    def insert(self, new: list) -> None:
        if not new:
            return
        stamps = [self.now, self.now]
        with driver_errors:
            db.cursor().executemany(self.insert_sql, [
                [f.db_value(value) for f, value in zip(self.fields, [values[name] for name in self.names] + stamps)]
                for values in new])

    def update(self, changes: list) -> None:
        """One UPDATE per set of changed columns, run for every record that changes those."""
        model, groups = self.model, {}
        for change in changes:
            groups.setdefault(tuple(change.changed), []).append(change)
        for names, group in groups.items():
            fields = [model._meta.fields[name] for name in names] + [model.updated_at]
            sql = (f"UPDATE {_quoted(model._meta.table_name)} SET "  # nosec B608 # names from the model, quoted; values are parameters
                   f"{', '.join(f'{_quoted(f.column_name)} = {db.param}' for f in fields)} "
                   f"WHERE {_quoted(model.id.column_name)} = {db.param}")
            with driver_errors:
                db.cursor().executemany(sql, [
                    [f.db_value(value) for f, value in zip(fields, [change.changed[name] for name in names] + [self.now])]
                    + [change.record_id] for change in group])


# --- photos ------------------------------------------------------------------

def _read_photos(kind: Kind, data: bytes, in_file: set | None, errors: list) -> dict:
    """Photo key -> small JPEG, for the photos named after records in the file or the database."""
    if kind.photo_label is None:
        errors.append(RowError(0, "", f"{kind.label}记录没有照片，请不要附带照片压缩包。"))
        return {}
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


def _capped(errors: list, total: int | None = None) -> list:
    """The first MAX_ERRORS of `errors`, and how many of the `total` were left out."""
    total = len(errors) if total is None else total
    if total <= MAX_ERRORS:
        return errors
    return errors[:MAX_ERRORS] + [RowError(0, "", f"还有 {total - MAX_ERRORS} 处错误未列出。")]


# --- preview, then commit (the import page) ----------------------------------

class BatchClosed(ServiceError):
    """The batch cannot be committed or cancelled (any more); str(error) says why."""


@dataclass
class PreviewRow:
    row: int
    summary: str


@dataclass
class PreviewChange:
    row: int
    record_id: int
    summary: str
    fields: list            # (Column, old text, new text)
    bound_identity: bool


@dataclass
class Preview:
    """What committing the file would do, or why it cannot be committed."""

    kind: str
    filename: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    photos: int = 0
    bound_identity_changed: int = 0
    new: list = field(default_factory=list)            # PreviewRow, the first PREVIEW_ROWS
    changes: list = field(default_factory=list)        # PreviewChange, the first PREVIEW_ROWS
    unchanged_rows: list = field(default_factory=list)  # row numbers, the first PREVIEW_ROWS
    errors: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def preview(kind_key: str, filename: str, data: bytes, *, photos_zip: bytes | None = None,
            max_bytes: int = MAX_BYTES, today: datetime.date | None = None) -> Preview:
    """Check a file and describe what importing it would do; writes nothing."""
    kind = KINDS[kind_key]
    shown = Preview(kind=kind_key, filename=uploads.basename(filename))
    try:
        checked = _check(_Source(kind, filename, data, max_bytes, today), photos_zip)
    except ImportRejected as rejected:
        shown.errors = rejected.errors
        return shown
    tally = checked.tally
    shown.rows, shown.photos = checked.rows, len(checked.photos)
    shown.created, shown.updated, shown.unchanged = tally.created, tally.updated, tally.unchanged
    shown.bound_identity_changed = tally.bound_identity_changed
    shown.new = [PreviewRow(number, _summary(kind, values)) for number, values in tally.new]
    shown.changes = _shown_changes(kind, tally.changes)
    shown.unchanged_rows = tally.unchanged_rows
    shown.errors = checked.errors
    return shown


def stage(kind_key: str, filename: str, data: bytes, *, photos_zip: bytes | None = None,
          max_bytes: int = MAX_BYTES, uploaded_by: str,
          today: datetime.date | None = None) -> tuple[Preview, ImportBatch | None]:
    """The preview of an upload and, when it can be committed, the pending batch that
    keeps the file (sealed) until the registrar commits or cancels it."""
    shown = preview(kind_key, filename, data, photos_zip=photos_zip, max_bytes=max_bytes, today=today)
    if not shown.ok:
        return shown, None
    batch = ImportBatch.create(kind=kind_key, filename=_stored_name(filename), uploaded_by=uploaded_by,
                               rows=shown.rows, created=shown.created, updated=shown.updated,
                               unchanged=shown.unchanged, photos=shown.photos,
                               file_data=data, photos_data=photos_zip)
    return shown, batch


def pending_batch(token: str) -> ImportBatch | None:
    """A batch by its token, without its files (None when there is none)."""
    return (ImportBatch.select(*_metadata()).where(ImportBatch.token == token).first())


def preview_batch(batch: ImportBatch, *, max_bytes: int = MAX_BYTES,
                  today: datetime.date | None = None) -> Preview | None:
    """The preview of a pending batch, checked again against the records as they are now."""
    stored = (ImportBatch.select(ImportBatch.file_data, ImportBatch.photos_data)
              .where(ImportBatch.id == batch.id, ImportBatch.status == ImportBatch.PENDING).first())
    if stored is None or stored.file_data is None:
        return None
    return preview(batch.kind, batch.filename, stored.file_data, photos_zip=stored.photos_data,
                   max_bytes=max_bytes, today=today)


def commit(token: str, *, actor: str, max_bytes: int = MAX_BYTES, ip: str = "",
           now: datetime.datetime | None = None,
           today: datetime.date | None = None) -> tuple[ImportResult, ImportBatch]:
    """Check the batch's file again and write it all in one transaction, once.

    Two confirms at once: the conditional UPDATE pending -> committing lets one
    through; the other gets BatchClosed. A file that no longer passes (the
    records changed since the preview) raises ImportRejected and the batch
    stays pending, to be cancelled or uploaded again.
    """
    now = now or utcnow()
    claimed = (ImportBatch.update(status=ImportBatch.COMMITTING)
               .where(ImportBatch.token == token, ImportBatch.status == ImportBatch.PENDING,
                      ImportBatch.uploaded_at >= now - PENDING_LIFETIME).execute())
    if not claimed:
        raise BatchClosed(_closed_reason(token, now))
    batch = ImportBatch.get(ImportBatch.token == token)
    try:
        checked = _check(_Source(KINDS[batch.kind], batch.filename, batch.file_data, max_bytes, today),
                         batch.photos_data)
        batch.file_data = batch.photos_data = None  # the check's source keeps the file for the write
        if checked.errors:
            raise ImportRejected(checked.errors)
        result = _commit_checked(checked, actor=actor, ip=ip, batch_id=batch.id)
    except BaseException:
        (ImportBatch.update(status=ImportBatch.PENDING)
         .where(ImportBatch.id == batch.id, ImportBatch.status == ImportBatch.COMMITTING).execute())
        raise
    return result, ImportBatch.select(*_metadata()).where(ImportBatch.id == batch.id).get()


def cancel(token: str, *, actor: str, ip: str = "") -> ImportBatch:
    """Drop a pending batch's file; nothing is written to the records."""
    now = utcnow()
    with db.atomic():
        cancelled = (ImportBatch.update(status=ImportBatch.CANCELLED, finished_by=actor, finished_at=now,
                                        file_data=None, photos_data=None)
                     .where(ImportBatch.token == token, ImportBatch.status == ImportBatch.PENDING)
                     .execute())
        if not cancelled:
            raise BatchClosed(_closed_reason(token, now))
        batch = ImportBatch.select(*_metadata()).where(ImportBatch.token == token).get()
        audit.log("import.cancelled", actor=actor, ip=ip,
                  detail=f"kind={batch.kind}, file={batch.filename}, batch={batch.id}")
    return batch


def expire(now: datetime.datetime | None = None) -> int:
    """Batches left pending (or stuck committing) longer than PENDING_LIFETIME expire
    and drop their files; the number expired."""
    now = now or utcnow()
    return (ImportBatch.update(status=ImportBatch.EXPIRED, finished_at=now, file_data=None, photos_data=None)
            .where(ImportBatch.status.in_([ImportBatch.PENDING, ImportBatch.COMMITTING]),
                   ImportBatch.uploaded_at < now - PENDING_LIFETIME).execute())


def history(page: int = 1, per_page: int = HISTORY_PAGE) -> tuple[list, bool]:
    """One page of batches, newest first, without their files; and whether more follow."""
    page = max(1, page)
    items = list(ImportBatch.select(*_metadata())
                 .order_by(ImportBatch.uploaded_at.desc(), ImportBatch.id.desc())
                 .offset((page - 1) * per_page).limit(per_page + 1))
    return items[:per_page], len(items) > per_page


def _metadata() -> list:
    return [f for f in ImportBatch._meta.sorted_fields if f.name not in ("file_data", "photos_data")]


def _closed_reason(token: str, now: datetime.datetime) -> str:
    batch = ImportBatch.select(ImportBatch.id, ImportBatch.status, ImportBatch.uploaded_at).where(
        ImportBatch.token == token).first()
    if batch is None:
        return "找不到这批导入。"
    if batch.status == ImportBatch.PENDING:  # pending, but too old to commit
        expire(now)
        return "这批导入已过期（超过一天未确认），请重新上传文件。"
    return {ImportBatch.COMMITTING: "这批导入正在写入，请稍候查看导入历史。",
            ImportBatch.COMMITTED: "这批导入已经导入过了，不会重复导入。",
            ImportBatch.CANCELLED: "这批导入已取消，请重新上传文件。",
            ImportBatch.EXPIRED: "这批导入已过期（超过一天未确认），请重新上传文件。"}.get(
        batch.status, "这批导入已不能再处理。")


def _stored_name(filename: str) -> str:
    name = uploads.basename(filename)
    if len(name) <= 255:
        return name
    suffix = Path(name).suffix[:10]
    return name[:255 - len(suffix)] + suffix


def _summary(kind: Kind, values: dict) -> str:
    """The row's name and what identifies its record, e.g. 张三（学号 2019001）."""
    keys = [attr for attr in kind.natural_key if values.get(attr) not in (None, "")]
    parts = [f"{kind.column(attr).header} {_shown(kind.column(attr), values[attr])}" for attr in keys]
    return f"{values.get('name') or ''}（{'，'.join(parts)}）" if parts else (values.get("name") or "")


def _shown_changes(kind: Kind, changes: list) -> list:
    model = kind.model
    # The stored ID numbers are only looked up (and decrypted) for the rows shown.
    ids = [change.record_id for change in changes if "id_number" in change.changed]
    old_ids = {}
    for chunk in chunked(ids, LOOKUP_CHUNK):
        old_ids.update(model.select(model.id, model.id_number).where(model.id.in_(chunk)).tuples())
    shown = []
    for change in changes:
        values = {**change.old, **change.changed}
        fields = []
        for column in kind.columns:
            if column.attr not in change.changed:
                continue
            old = old_ids.get(change.record_id) if column.attr == "id_number" else change.old.get(column.attr)
            fields.append((column, _shown(column, old), _shown(column, change.changed[column.attr])))
        shown.append(PreviewChange(change.row, change.record_id, _summary(kind, values), fields,
                                   change.bound_identity))
    return shown


def _shown(column: Column, value) -> str:
    if value is None or value == "":
        return ""
    if column.type == "id_number":
        return identity.mask_id(str(value))
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


# --- templates ---------------------------------------------------------------

# One example row per kind, by column: it passes every rule, so a template
# imports as it is (the registrar replaces it with real rows).
EXAMPLES = {
    "enrollment": {"姓名": "张三", "性别": "男", "出生日期": "2001-02-03", "民族": "汉族",
                   "证件类型": "居民身份证", "证件号码": "110105200102031238", "学校名称": "示范大学",
                   "层次": "本科", "院系": "文学院", "班级": "汉语言 2019-1 班", "专业": "汉语言文学",
                   "学号": "2019001", "学习形式": "普通全日制", "入学日期": "2019-09-01", "学制": "4",
                   "学历类别": "普通高等教育", "学籍状态": "在籍（注册学籍）", "预计毕业日期": "2023-07-01"},
    "diploma": {"姓名": "李四", "性别": "女", "出生日期": "1980-05-06", "证件类型": "居民身份证",
                "证件号码": "42010619800506124X", "学校名称": "示范大学", "层次": "本科",
                "专业": "汉语言文学", "学制": "4", "学习形式": "普通全日制", "学历类别": "普通高等教育",
                "入学日期": "1998-09-01", "毕(结)业日期": "2002-07-01", "毕(结)业": "毕业",
                "证书编号": "105321200205000123", "学校编号": "", "校(院)长姓名": "王五"},
    "degree": {"姓名": "李四", "性别": "女", "出生日期": "1980-05-06", "证件类型": "居民身份证",
               "证件号码": "42010619800506124X", "学位授予单位": "示范大学", "所授学位": "文学学士学位",
               "学科/专业": "汉语言文学", "获学位日期": "2002-07-01", "学位证书编号": "1053242002000123"},
    "admission": {"姓名": "张三", "证件类型": "居民身份证", "证件号码": "110105200102031238",
                  "考生号": "19110105150123", "录取年份": "2019", "录取批次": "本科一批",
                  "录取专业": "汉语言文学", "层次": "本科"},
    "aid": {"姓名": "张三", "证件类型": "居民身份证", "证件号码": "110105200102031238", "学年": "2019-2020",
            "资助项目": "国家助学金", "金额(元)": "3300.00", "发放日期": "2019-11-15"},
}
TEMPLATE_FORMATS = ("csv", "xlsx")


def template(kind_key: str, fmt: str) -> tuple[bytes, str]:
    """A spreadsheet with the kind's Chinese column names and one example row; (bytes, file name)."""
    kind = KINDS[kind_key]
    example = [EXAMPLES[kind_key].get(header, "") for header in kind.headers]
    name = f"{kind.label}导入模板.{fmt}"
    if fmt == "csv":
        return exports.to_csv(kind.headers, [example]), name
    if fmt == "xlsx":
        return exports.to_xlsx(kind.headers, [example], title=kind.label), name
    raise ValueError(f"unknown template format {fmt!r}")
