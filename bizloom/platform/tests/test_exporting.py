"""Export writers: CSV with BOM, XLSX readable by openpyxl, formulas neutralised, Chinese intact."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest

from bizloom.platform import exporting

HEADER = ["名称", "Amount", "Joined"]
ROWS = [
    ["华为技术有限公司", Decimal("1234.50"), dt.date(2024, 5, 1)],
    ["=1+1", Decimal("-5.00"), None],
    ["+cmd", 3, dt.datetime(2024, 5, 1, 9, 30)],
    ["-2+3", None, None],
    ["@SUM(A1)", None, None],
    ["\tTab", None, None],
    ["\rCR", None, None],
]


def csv_rows(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8").removeprefix("\ufeff"), newline="")))


@pytest.mark.parametrize(("text", "expected"), [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@x", "'@x"), ("\tx", "'\tx"), ("\rx", "'\rx"),
    ("华为", "华为"), ("a=b", "a=b"), ("", ""),
], ids=["eq_case", "plus_case", "minus_case", "at_case", "tab_case", "cr_case", "chinese_case", "inner_case",
        "empty_case"])
def test_neutralise(text, expected):
    # when / then
    assert exporting.neutralise(text) == expected


def test_csv_starts_with_bom_and_keeps_chinese():
    # when
    body = "".join(exporting.iter_csv(HEADER, ROWS)).encode("utf-8")
    # then
    assert body.startswith(b"\xef\xbb\xbf")
    rows = csv_rows(body)
    assert rows[0] == ["名称", "Amount", "Joined"]
    assert rows[1] == ["华为技术有限公司", "1234.50", "2024-05-01"]


def test_csv_neutralises_text_but_not_numbers():
    # when
    rows = csv_rows("".join(exporting.iter_csv(HEADER, ROWS)).encode("utf-8"))
    # then
    assert [r[0] for r in rows[2:]] == ["'=1+1", "'+cmd", "'-2+3", "'@SUM(A1)", "'\tTab", "'\rCR"]
    assert rows[2][1] == "-5.00"
    assert rows[3][2] == "2024-05-01 09:30:00"


def test_csv_response_streams():
    # when
    response = exporting.csv_response("accounts.csv", HEADER, iter(ROWS))
    # then
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="accounts.csv"' in response["Content-Disposition"]
    assert b"".join(response.streaming_content).startswith(b"\xef\xbb\xbf")


def test_xlsx_round_trips_with_openpyxl(tmp_path):
    # given
    path = tmp_path / "out.xlsx"
    # when
    count = exporting.write_xlsx(str(path), HEADER, ROWS, sheet="客户")
    # then
    workbook = openpyxl.load_workbook(path)
    sheet = workbook["客户"]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert count == 7
    assert rows[0] == ["名称", "Amount", "Joined"]
    assert rows[1] == ["华为技术有限公司", 1234.5, dt.datetime(2024, 5, 1)]
    assert [r[0] for r in rows[2:7]] == ["'=1+1", "'+cmd", "'-2+3", "'@SUM(A1)", "'\tTab"]
    assert rows[7][0].startswith("'")  # the CR itself comes back escaped (_x000D_) from openpyxl
    assert rows[2][1] == -5
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


def test_xlsx_response_serves_a_file_and_leaves_no_temp_file(tmp_path, monkeypatch, db):
    # given
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    # when
    response = exporting.xlsx_response("accounts.xlsx", HEADER, iter(ROWS))
    body = b"".join(response.streaming_content)
    response.close()
    # then
    assert response["Content-Type"] == exporting.XLSX_CONTENT_TYPE
    assert openpyxl.load_workbook(io.BytesIO(body)).active["A2"].value == "华为技术有限公司"
    assert list(tmp_path.iterdir()) == []


# --- XLSX writer (issue #5: 100,000 rows in under 10 s, bounded memory) ---------------------------

TYPED_HEADER = ["编号", "客户名称", "金额", "日期", "时间", "是否", "备注"]
TYPED_ROWS = [
    [1, "上海测试贸易有限公司", Decimal("1234.50"), dt.date(2024, 2, 29), dt.datetime(2024, 5, 1, 9, 30, 15), True,
     "=HYPERLINK(\"http://x\")"],
    [-2, "-负数文本", Decimal("-0.25"), dt.date(1999, 12, 31), dt.datetime(2024, 12, 31, 23, 59), False, "+1"],
    [10**12, "A & B <c> \"d\" 'e'", Decimal("-5.00"), None, None, None, "@SUM(A1)"],
    [0, " lead and trail ", -3.5, None, None, None, "line1\nline2"],
    [None, "", Decimal("0"), None, None, None, "_x0041_ stays literal"],
    [3, "\x01ctrl\x1f", 2.0, None, None, None, "\tTab"],
]


def read_xlsx(path, **options):
    workbook = openpyxl.load_workbook(path, **options)
    return workbook, [list(r) for r in workbook.active.iter_rows(values_only=True)]


@pytest.mark.parametrize("read_only", [False, True], ids=["full_case", "read_only_case"])
def test_xlsx_typed_values_round_trip(tmp_path, read_only):
    # given
    path = tmp_path / "typed.xlsx"
    # when
    count = exporting.write_xlsx(str(path), TYPED_HEADER, TYPED_ROWS, sheet="客户/列表")
    # then
    workbook, rows = read_xlsx(path, read_only=read_only)
    assert count == 6
    assert workbook.sheetnames == ["客户 列表"]
    assert rows[0] == TYPED_HEADER
    assert rows[1] == [1, "上海测试贸易有限公司", 1234.5, dt.datetime(2024, 2, 29), dt.datetime(2024, 5, 1, 9, 30, 15),
                       True, "'=HYPERLINK(\"http://x\")"]
    assert rows[2] == [-2, "'-负数文本", -0.25, dt.datetime(1999, 12, 31), dt.datetime(2024, 12, 31, 23, 59), False,
                       "'+1"]
    assert rows[3] == [10**12, "A & B <c> \"d\" 'e'", -5, None, None, None, "'@SUM(A1)"]
    assert rows[4] == [0, " lead and trail ", -3.5, None, None, None, "line1\nline2"]
    assert rows[5][:3] == [None, None, 0]
    assert rows[5][6] == "_x005F_x0041_ stays literal"  # openpyxl leaves OOXML escapes to the reader
    assert rows[6][1] == "_x0001_ctrl_x001F_"
    assert rows[6][6] == "'\tTab"


def test_xlsx_cells_are_typed_styled_and_never_formulas(tmp_path):
    # given
    path = tmp_path / "typed.xlsx"
    exporting.write_xlsx(str(path), TYPED_HEADER, TYPED_ROWS)
    # when
    sheet = openpyxl.load_workbook(path).active
    # then
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    assert sheet["A1"].font.b
    assert sheet.freeze_panes == "A2"
    assert sheet.dimensions == "A1:G7"
    assert sheet["D2"].number_format == "yyyy\\-mm\\-dd"
    assert sheet["E2"].number_format == "yyyy\\-mm\\-dd\\ hh:mm"
    assert sheet["C2"].data_type == "n"
    assert sheet["B2"].data_type == "s"


def test_xlsx_re_imports_as_the_same_text(tmp_path):
    # given: the importer reads what the exporter wrote back to the typed text (issue #5 round trip)
    from bizloom.integration.importing import read_table

    path = tmp_path / "round.xlsx"
    exporting.write_xlsx(str(path), TYPED_HEADER, TYPED_ROWS)
    # when
    with read_table(str(path)) as table:
        rows = [row.values for row in table.rows]
    # then
    assert rows[0] == ["1", "上海测试贸易有限公司", "1234.5", "2024-02-29", "2024-05-01 09:30:15", "TRUE",
                       "=HYPERLINK(\"http://x\")"]
    assert rows[1][1] == "-负数文本"
    assert rows[2][1] == "A & B <c> \"d\" 'e'"
    assert rows[3][6] == "line1\nline2"
    assert rows[4][6] == "_x0041_ stays literal"
    assert rows[5][1] == "\x01ctrl\x1f"


def test_xlsx_with_no_rows_has_only_the_header(tmp_path):
    # given
    path = tmp_path / "empty.xlsx"
    # when
    count = exporting.write_xlsx(str(path), ["名称"], iter([]))
    # then
    assert count == 0
    assert read_xlsx(path)[1] == [["名称"]]


def test_xlsx_streams_many_rows_with_bounded_memory(tmp_path):
    # given
    import tracemalloc

    rows = ([i, f"客户{i}", Decimal(i) / 4, dt.date(2024, 1, 1)] for i in range(20_000))
    # when
    tracemalloc.start()
    count = exporting.write_xlsx(str(tmp_path / "big.xlsx"), ["a", "b", "c", "d"], rows)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # then
    assert count == 20_000
    assert peak < 8 * 1024 * 1024
    _workbook, read = read_xlsx(tmp_path / "big.xlsx", read_only=True)
    assert read[-1] == [19_999, "客户19999", 4999.75, dt.datetime(2024, 1, 1)]


@pytest.mark.parametrize(("title", "expected"), [
    ("客户", "客户"), ("a/b\\c[d]:e*f?", "a b c d  e f"), ("'quoted'", "quoted"), ("", "Export"), ("x" * 40, "x" * 31),
], ids=["chinese_case", "forbidden_case", "apostrophe_case", "empty_case", "long_case"])
def test_xlsx_sheet_name(title, expected):
    # when / then
    assert exporting.xlsx_sheet_name(title) == expected
