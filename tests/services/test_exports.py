"""Exports: formula cells neutralised in CSV and XLSX."""
import csv
import io

from openpyxl import load_workbook

from services import exports

ROWS = [["=HYPERLINK(\"http://evil\")", "+1", "-2", "@SUM(A1)", "张三", "", None, 42]]


def test_csv_neutralises_formula_cells_and_opens_as_utf8():
    data = exports.to_csv(["姓名", "=x"], ROWS)
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["姓名", "'=x"]
    assert rows[1] == ["'=HYPERLINK(\"http://evil\")", "'+1", "'-2", "'@SUM(A1)", "张三", "", "", "42"]


def test_xlsx_holds_text_not_formulas():
    data = exports.to_xlsx(["姓名"], ROWS, title="记录")
    sheet = load_workbook(io.BytesIO(data)).active
    cells = [cell.value for cell in sheet[2]]
    assert cells[:5] == ["'=HYPERLINK(\"http://evil\")", "'+1", "'-2", "'@SUM(A1)", "张三"]
    assert all(cell.data_type != "f" for cell in sheet[2])
    assert sheet.title == "记录"
