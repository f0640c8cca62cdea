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
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

from django.http import FileResponse, StreamingHttpResponse

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
CSV_BOM = "\ufeff"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# zlib level 1 deflates the sheet XML ~3x faster than the default 6 for a file ~25% larger.
_XLSX_COMPRESSLEVEL = 1


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


# --- XLSX ---------------------------------------------------------------------------------------
# Issue #5 asks for 100,000 rows in under 10 s. xlsxwriter costs ~13 µs per cell even when its
# private writers are called directly (10.8 s for 100,000 × 8 on the 2-core CI machine), so the
# sheet XML is written here: one f-string per cell, the rows spooled to a temporary file (so the
# <dimension> can be declared up front) and deflated into the archive in 1 MB chunks. Memory
# stays at one batch of rows whatever the export's size.

_XLSX_STYLE_DATE = 1
_XLSX_STYLE_DATETIME = 2
_XLSX_STYLE_HEADER = 3
_XLSX_MAX_ROWS = 1_048_576
_XLSX_MAX_COLUMNS = 16_384
_XLSX_BATCH_ROWS = 1000
_XLSX_MAX_CELL_CHARS = 32_767  # Excel refuses longer cells
_EXCEL_EPOCH_ORDINAL = dt.date(1899, 12, 30).toordinal()  # serial 0 (Excel's 1900 leap-year bug included)
_XML_SPECIAL = re.compile(r"[&<>\x00-\x08\x0b-\x1f\ufffe\uffff\ud800-\udfff]|_x[0-9a-fA-F]{4}_")
_SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
    '<Override PartName="/docProps/app.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/>'
    '<Relationship Id="rId2" '
    'Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" '
    'Target="docProps/core.xml"/>'
    '<Relationship Id="rId3" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties" '
    'Target="docProps/app.xml"/>'
    "</Relationships>"
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" '
    'Target="styles.xml"/>'
    "</Relationships>"
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<bookViews><workbookView/></bookViews>'
    '<sheets><sheet name="{name}" sheetId="1" r:id="rId1"/></sheets>'
    "</workbook>"
)
# Style 0 default, 1 date, 2 date and time, 3 bold header (order matters: cells refer to it).
_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy\\-mm\\-dd"/>'
    '<numFmt numFmtId="165" formatCode="yyyy\\-mm\\-dd\\ hh:mm"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
_CORE = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
    "<dc:creator>Bizloom</dc:creator>"
    '<dcterms:created xsi:type="dcterms:W3CDTF">{now}</dcterms:created>'
    '<dcterms:modified xsi:type="dcterms:W3CDTF">{now}</dcterms:modified>'
    "</cp:coreProperties>"
)
_APP = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
    "<Application>Bizloom</Application></Properties>"
)
_SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<dimension ref="{dimension}"/>'
    '<sheetViews><sheetView workbookViewId="0">{pane}</sheetView></sheetViews>'
    '<sheetFormatPr defaultRowHeight="15"/><sheetData>'
)
_FROZEN_HEADER = '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>' \
                 '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/>'
_SHEET_TAIL = "</sheetData></worksheet>"


def _xml_escape_match(match: re.Match[str]) -> str:
    found = match.group(0)
    if found == "&":
        return "&amp;"
    if found == "<":
        return "&lt;"
    if found == ">":
        return "&gt;"
    if len(found) > 1:  # a literal "_x0041_" must not read back as "A": escape its underscore (OOXML)
        return "_x005F_" + found[1:]
    if "\ud800" <= found <= "\udfff":
        return "\ufffd"  # a lone surrogate cannot be encoded
    return f"_x{ord(found):04X}_"  # control characters (and U+FFFE/U+FFFF) as Excel writes them


def _xml_text(text: str) -> str:
    """``text`` for an XML text node, with control characters escaped the OOXML way."""
    return _XML_SPECIAL.sub(_xml_escape_match, text)


def _column_letters(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _text_cell(ref: str, text: str, style: str = "") -> str:
    if not text:
        return ""
    if text.startswith(FORMULA_PREFIXES):
        text = "'" + text
    if len(text) > _XLSX_MAX_CELL_CHARS:
        text = text[:_XLSX_MAX_CELL_CHARS]
    if _XML_SPECIAL.search(text):
        text = _XML_SPECIAL.sub(_xml_escape_match, text)
    space = ' xml:space="preserve"' if text[0] in " \n" or text[-1] in " \n" else ""
    return f'<c r="{ref}"{style} t="inlineStr"><is><t{space}>{text}</t></is></c>'


def _xlsx_value(ref: str, value: Any) -> str:
    """The ``<c>`` element of one data cell (empty for None and "")."""
    kind = type(value)
    if kind is str:
        return _text_cell(ref, value)
    if kind is int or kind is Decimal:
        if kind is Decimal and not value.is_finite():
            return _text_cell(ref, str(value))
        return f'<c r="{ref}"><v>{value}</v></c>'
    if kind is dt.date:
        return f'<c r="{ref}" s="{_XLSX_STYLE_DATE}"><v>{value.toordinal() - _EXCEL_EPOCH_ORDINAL}</v></c>'
    if value is None:
        return ""
    if kind is bool:
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if kind is float:
        if value != value or value in (float("inf"), float("-inf")):
            return _text_cell(ref, str(value))
        return f'<c r="{ref}"><v>{value!r}</v></c>'
    if isinstance(value, dt.datetime):
        seconds = value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6
        serial = value.toordinal() - _EXCEL_EPOCH_ORDINAL + seconds / 86400
        return f'<c r="{ref}" s="{_XLSX_STYLE_DATETIME}"><v>{serial!r}</v></c>'
    if isinstance(value, dt.date):
        return f'<c r="{ref}" s="{_XLSX_STYLE_DATE}"><v>{value.toordinal() - _EXCEL_EPOCH_ORDINAL}</v></c>'
    if isinstance(value, bool | int | float | Decimal):  # subclasses (IntEnum …) behave as their base
        return _xlsx_value(ref, (bool if isinstance(value, bool) else int if isinstance(value, int)
                                 else float if isinstance(value, float) else Decimal)(value))
    return _text_cell(ref, str(value))


def xlsx_sheet_name(title: str) -> str:
    """``title`` as a valid worksheet name: no ``[]:*?/\\``, no edge apostrophes, at most 31 characters."""
    name = _SHEET_NAME_FORBIDDEN.sub(" ", title).strip().strip("'")[:31].strip()
    return name or "Export"


def write_xlsx(path: str, header: Sequence[str], rows: Iterable[Sequence[Any]], *, sheet: str = "Export") -> int:
    """Write an XLSX file at ``path`` row by row (bounded memory); returns the number of data rows.

    Text cells are inline strings, never formulas, and neutralised anyway (a leading
    ``= + - @`` tab or CR gets a ``'``); ints and Decimals are numbers, dates and datetimes
    real dates with a ``yyyy-mm-dd`` (``hh:mm``) format, booleans booleans. The header row is
    bold and frozen. Raises ValueError beyond Excel's 1,048,576 rows or 16,384 columns.
    """
    if len(header) > _XLSX_MAX_COLUMNS:
        raise ValueError(f"an XLSX sheet holds at most {_XLSX_MAX_COLUMNS} columns")
    letters = [_column_letters(i) for i in range(max(len(header), 1))]
    width = len(header)
    count = 0
    with tempfile.TemporaryFile(prefix="bizloom-sheet-") as spool:
        head = "".join(_text_cell(f"{letters[col]}1", str(title), f' s="{_XLSX_STYLE_HEADER}"')
                       for col, title in enumerate(header))
        spool.write(f'<row r="1">{head}</row>'.encode())
        batch: list[str] = []
        for count, row in enumerate(rows, start=1):
            number = count + 1
            if number > _XLSX_MAX_ROWS:
                raise ValueError(f"an XLSX sheet holds at most {_XLSX_MAX_ROWS - 1} data rows")
            if len(row) > len(letters):
                width = max(width, len(row))
                if width > _XLSX_MAX_COLUMNS:
                    raise ValueError(f"an XLSX sheet holds at most {_XLSX_MAX_COLUMNS} columns")
                letters.extend(_column_letters(i) for i in range(len(letters), width))
            suffix = str(number)
            cells = "".join([_xlsx_value(letter + suffix, value) for letter, value in zip(letters, row, strict=False)])
            batch.append(f'<row r="{number}">{cells}</row>')
            if len(batch) >= _XLSX_BATCH_ROWS:
                spool.write("".join(batch).encode("utf-8"))
                batch.clear()
        spool.write("".join(batch).encode("utf-8"))
        spool.seek(0)
        dimension = f"A1:{letters[max(width, 1) - 1]}{count + 1}" if width else "A1"
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        name = xlsx_sheet_name(sheet).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace(
            '"', "&quot;")
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=_XLSX_COMPRESSLEVEL) as archive:
            archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
            archive.writestr("_rels/.rels", _ROOT_RELS)
            archive.writestr("docProps/app.xml", _APP)
            archive.writestr("docProps/core.xml", _CORE.format(now=now))
            archive.writestr("xl/workbook.xml", _WORKBOOK.format(name=name))
            archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
            archive.writestr("xl/styles.xml", _STYLES)
            with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as target:
                target.write(_SHEET_HEAD.format(dimension=dimension, pane=_FROZEN_HEADER if header else "").encode())
                shutil.copyfileobj(spool, target, 1 << 20)
                target.write(_SHEET_TAIL.encode())
    return count


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
