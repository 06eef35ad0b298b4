"""Exports a spreadsheet program opens safely: CSV (UTF-8 with BOM, which Excel
reads as UTF-8) and XLSX. A cell that starts with = + - @ (or a tab or carriage
return) would run as a formula; it is written with a leading apostrophe instead
(OWASP's advice on CSV injection), in both formats.
"""
import csv
import io
from collections.abc import Iterable, Iterator, Sequence

from openpyxl import Workbook

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def to_csv(headers: Sequence[str], rows: Iterable[Sequence]) -> bytes:
    return b"".join(iter_csv(headers, rows))


def iter_csv(headers: Sequence[str], rows: Iterable[Sequence]) -> Iterator[bytes]:
    """to_csv a row at a time (the BOM and headers first), for a file written as it
    is read (services.my_data streams its ZIP)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")

    def line(values) -> bytes:
        out.seek(0)
        out.truncate()
        writer.writerow([neutralise(value) for value in values])
        return out.getvalue().encode("utf-8")

    yield "\ufeff".encode("utf-8") + line(headers)
    for row in rows:
        yield line(row)


def to_xlsx(headers: Sequence[str], rows: Iterable[Sequence], title: str = "export") -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    sheet.append([neutralise(h) for h in headers])
    for row in rows:
        # Every cell as text: openpyxl would otherwise store "=..." as a formula.
        sheet.append([neutralise(value) for value in row])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
