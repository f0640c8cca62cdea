"""The streaming sheet reader gives the text openpyxl's read-only mode gives, cell for cell (issue #5)."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont

from bizloom.integration.importing import read_table
from bizloom.integration.importing.readers import _cell_text


def _workbook(date1904: bool = False) -> bytes:
    book = openpyxl.Workbook()
    calendars = openpyxl.utils.datetime
    book.epoch = calendars.CALENDAR_MAC_1904 if date1904 else calendars.CALENDAR_WINDOWS_1900
    sheet = book.active
    sheet.title = "客户"
    sheet.append(["编号", "名称", "金额", "日期", "时间", "时长", "比例", "布尔", "公式", "备注"])
    sheet.append([7, "华为技术有限公司", Decimal("1250000.50"), dt.date(2024, 3, 5), dt.time(14, 30),
                  dt.timedelta(hours=26, minutes=5), 0.125, True, "=1+1", "多行\n文本"])
    sheet.append([8, CellRichText(["星辰", TextBlock(InlineFont(b=True), "贸易")]), 0.1 + 0.2,
                  dt.datetime(2024, 3, 5, 9, 15, 0), None, None, 1e20, False, "#N/A", "  spaced  "])
    sheet["A3"].number_format = "000000"
    sheet["D2"].number_format = "yyyy-mm-dd"
    sheet["G2"].number_format = "0.00%"
    sheet.append([])
    sheet.cell(row=6, column=12, value="far right")
    sheet.cell(row=6, column=1, value="_x000D_ escaped")
    sheet.cell(row=7, column=2, value="'=SUM(A1)")
    sheet.cell(row=8, column=4, value=dt.datetime(1900, 2, 28))
    sheet.merge_cells("B9:C9")
    sheet["B9"] = "merged"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _openpyxl_rows(content: bytes) -> list[tuple[int, list[str]]]:
    book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    rows = []
    for number, row in enumerate(book.worksheets[0].iter_rows(min_row=1), start=1):
        values = [_cell_text(cell) for cell in row]
        while values and not values[-1]:
            values.pop()
        if "".join(values).strip():
            rows.append((number, values))
    return rows


@pytest.mark.parametrize("date1904", [False, True], ids=["1900_case", "1904_case"])
def test_streaming_reader_matches_openpyxl(date1904, tmp_path):
    # given
    content = _workbook(date1904)
    path = tmp_path / "book.xlsx"
    path.write_bytes(content)
    expected = _openpyxl_rows(content)
    # when
    with read_table(path) as table:
        header = table.headers
        rows = [(row.number, list(row.values)) for row in table.rows]
    # then
    assert header == expected[0][1]
    width = len(header)
    assert [(number, (values + [""] * width)[:width]) for number, values in expected[1:]] == [
        (number, values[:width]) for number, values in rows]
    assert rows[0][1][:4] == ["7", "华为技术有限公司", "1250000.5", "2024-03-05"]
    assert rows[1][1][:2] == ["000008", "星辰贸易"]


def test_sheet_parser_refuses_entities_even_past_the_prolog_check():
    # given: XML that declares an entity (the archive check refuses it earlier; the parser must too)
    from defusedxml import DTDForbidden

    from bizloom.integration.importing.sheetxml import _parser

    parser = _parser(lambda name, attrs: None, lambda name: None, lambda data: None)
    # when / then
    with pytest.raises(DTDForbidden):
        parser.Parse(b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>', True)
