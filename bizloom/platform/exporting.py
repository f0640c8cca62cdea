"""CSV and XLSX writers for exports: streamed, formula-safe, Chinese-safe.

Both take a header row and an iterable of rows (typed values: str, Decimal, int, date,
datetime, None) so they never hold the whole export in memory. Every text cell that a
spreadsheet could read as a formula (starting with = + - @ tab or carriage return) is
prefixed with a single quote (OWASP "CSV injection").
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

import xlsxwriter
from django.http import FileResponse, StreamingHttpResponse

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
CSV_BOM = "\ufeff"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def neutralise(text: str) -> str:
    """``text`` made inert for spreadsheets: a leading formula character gets a ``'`` prefix."""
    if text and text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, Decimal | int | float):
        return str(value)  # a number is data, not a formula: "-5.00" stays numeric
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return neutralise(str(value))


class _Echo:
    """A write-only file whose ``write`` returns the line, for csv.writer streaming."""

    def write(self, value: str) -> str:
        return value


def iter_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """CSV lines (UTF-8 BOM first, so Excel reads Chinese correctly)."""
    writer = csv.writer(_Echo())
    yield CSV_BOM + writer.writerow([neutralise(str(h)) for h in header])
    for row in rows:
        yield writer.writerow([_csv_cell(v) for v in row])


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> StreamingHttpResponse:
    """A streamed ``text/csv`` download."""
    response = StreamingHttpResponse((line.encode("utf-8") for line in iter_csv(header, rows)),
                                     content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = _disposition(filename)
    return response


def write_xlsx(path: str, header: Sequence[str], rows: Iterable[Sequence[Any]], *, sheet: str = "Export") -> int:
    """Write an XLSX file at ``path`` row by row (constant memory); returns the number of data rows.

    Text is written with ``write_string`` (never parsed as a formula or URL) and neutralised
    anyway, numbers as numbers, dates with a date format.
    """
    workbook = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_formulas": False,
                                          "strings_to_urls": False, "strings_to_numbers": False})
    try:
        bold = workbook.add_format({"bold": True})
        date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
        datetime_format = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        worksheet = workbook.add_worksheet(sheet[:31])
        for col, title in enumerate(header):
            worksheet.write_string(0, col, neutralise(str(title)), bold)
        count = 0
        for count, row in enumerate(rows, start=1):
            for col, value in enumerate(row):
                _xlsx_cell(worksheet, count, col, value, date_format, datetime_format)
        worksheet.freeze_panes(1, 0)
    finally:
        workbook.close()
    return count


def _xlsx_cell(worksheet: Any, row: int, col: int, value: Any, date_format: Any, datetime_format: Any) -> None:
    if value is None or value == "":
        return
    if isinstance(value, bool):
        worksheet.write_boolean(row, col, value)
    elif isinstance(value, Decimal | int | float):
        worksheet.write_number(row, col, float(value))
    elif isinstance(value, dt.datetime):
        worksheet.write_datetime(row, col, value.replace(tzinfo=None), datetime_format)
    elif isinstance(value, dt.date):
        worksheet.write_datetime(row, col, value, date_format)
    else:
        worksheet.write_string(row, col, neutralise(str(value)))


def xlsx_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]],
                  *, sheet: str = "Export") -> FileResponse:
    """Write the workbook to a temporary file and serve it; the file is gone once served."""
    handle, path = tempfile.mkstemp(prefix="bizloom-export-", suffix=".xlsx")
    os.close(handle)
    try:
        write_xlsx(path, header, rows, sheet=sheet)
        stream = open(path, "rb")  # noqa: SIM115 - FileResponse closes it
    finally:
        os.unlink(path)  # POSIX keeps the open file readable until FileResponse closes it
    return FileResponse(stream, as_attachment=True, filename=filename, content_type=XLSX_CONTENT_TYPE)


def _disposition(filename: str) -> str:
    from django.utils.http import content_disposition_header

    return content_disposition_header(as_attachment=True, filename=filename) or "attachment"
