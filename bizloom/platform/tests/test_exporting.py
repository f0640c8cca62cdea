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
