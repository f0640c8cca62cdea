"""Errors and per-row problems of the import file reader.

Every failure is an :class:`ImportFileError` with a stable snake_case ``code`` (for the
API, tests and the error file), a translatable message template with named
placeholders, and optionally the 1-based ``row`` (as a spreadsheet numbers it: the
header is row 1) and ``column`` (1-based index) it concerns. The message is rendered in
the language active when it is read, so an error raised in a background task shows in
the language of whoever looks at it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

Severity = Literal["error", "warning"]


def _render(template: str | Promise, params: dict[str, Any]) -> str:
    text = str(template)
    return text % params if params else text


class ImportFileError(Exception):
    """A file (or part of it) that cannot be read; ``code`` is stable, ``message`` translated."""

    def __init__(self, code: str, template: str | Promise, *, row: int | None = None,
                 column: int | None = None, **params: Any) -> None:
        self.code = code
        self.template = template
        self.row = row
        self.column = column
        self.params: dict[str, Any] = {"row": row, "column": column, **params}
        super().__init__(code)

    @property
    def message(self) -> str:
        """The message in the active language, placeholders filled in."""
        return _render(self.template, self.params)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def __repr__(self) -> str:
        return f"ImportFileError({self.code!r}, row={self.row!r}, column={self.column!r})"


@dataclass(frozen=True, slots=True)
class RowProblem:
    """Something wrong with one row (``severity="error"``) or worth telling (``"warning"``)."""

    code: str
    template: str | Promise
    severity: Severity = "error"
    row: int | None = None
    column: int | None = None
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def message(self) -> str:
        """The message in the active language, placeholders filled in."""
        return _render(self.template, {"row": self.row, "column": self.column, **self.params})


# Message templates, kept together so translators see them in one place.
MESSAGES: dict[str, str | Promise] = {
    "file_too_large": _("The file is %(size_mb)s MB; files up to %(limit_mb)s MB can be imported. "
                        "Split it into smaller files."),
    "empty_file": _("The file is empty."),
    "no_header": _("The first row is empty. The first row must contain the column names."),
    "blank_header": _("Column %(column)s has no name in the header row; its values will not be imported "
                      "unless you name it."),
    "duplicate_headers": _("These column names appear more than once: %(names)s. Each column needs a "
                           "different name."),
    "too_many_columns": _("The file has %(count)s columns; at most %(limit)s can be imported."),
    "too_many_rows": _("The file has more than %(limit)s rows; split it into smaller files."),
    "row_too_long": _("Row %(row)s has %(count)s values but the header has %(columns)s columns."),
    "row_too_short": _("Row %(row)s has %(count)s values but the header has %(columns)s columns; "
                       "the missing values are read as empty."),
    "cell_too_large": _("Row %(row)s, column %(column)s holds more than %(limit)s characters."),
    "unsupported_format": _("Files named “%(filename)s” cannot be imported. Use a CSV (.csv, .txt, .tsv) "
                            "or Excel (.xlsx) file."),
    "looks_like_csv": _("This looks like a CSV file; rename it .csv or choose CSV."),
    "looks_like_xlsx": _("This looks like an Excel workbook (.xlsx); rename it .xlsx or choose Excel."),
    "looks_like_html": _("This is a web page saved with a spreadsheet name. Open it in Excel and save it "
                         "as an Excel workbook (.xlsx) or CSV."),
    "legacy_xls": _("This is an old Excel 97–2003 (.xls) file. Open it in Excel and save it as an Excel "
                    "workbook (.xlsx) or CSV."),
    "encrypted_workbook": _("The workbook is protected with a password. Open it in Excel, remove the "
                            "password and save it again."),
    "macro_enabled": _("The workbook contains macros. Save it in Excel as “Excel Workbook (.xlsx)” "
                       "without macros and upload it again."),
    "xlsb_not_supported": _("Excel binary workbooks (.xlsb) are not supported. Save it as an Excel "
                            "workbook (.xlsx)."),
    "broken_zip": _("The workbook is damaged or incomplete and cannot be opened. Save it again in Excel "
                    "and upload it again."),
    "not_a_workbook": _("The file is a ZIP archive but not an Excel workbook."),
    "zip_bomb": _("The workbook expands to more than %(limit_mb)s MB when unpacked and cannot be "
                  "imported."),
    "zip_ratio": _("The workbook part “%(name)s” is compressed %(ratio)s times, more than a real workbook "
                   "is; it cannot be imported."),
    "zip_entries": _("The workbook contains %(count)s parts; at most %(limit)s are allowed."),
    "unsafe_xml": _("The workbook contains XML declarations (DTD or entities) that Excel never writes; "
                    "it cannot be imported."),
    "invalid_workbook": _("The workbook cannot be read: %(detail)s"),
    "unknown_sheet": _("There is no sheet “%(sheet)s”. The workbook has these sheets: %(names)s."),
    "not_a_worksheet": _("“%(sheet)s” is a chart sheet, not a worksheet with data."),
    "empty_sheet": _("The sheet “%(sheet)s” is empty."),
    "no_worksheet": _("The workbook has no worksheet with data."),
    "not_text": _("The file does not contain text. Upload a CSV or Excel (.xlsx) file."),
    "unknown_encoding": _("The text encoding of the file could not be recognised. Save it as “CSV UTF-8” "
                          "or choose its encoding."),
    "invalid_encoding_name": _("“%(encoding)s” is not a known text encoding."),
    "decode_error": _("Row %(row)s cannot be read as %(encoding)s text. Choose another encoding or save "
                      "the file as “CSV UTF-8”."),
    "csv_error": _("Row %(row)s cannot be read: %(detail)s"),
}


def error(code: str, *, row: int | None = None, column: int | None = None, **params: Any) -> ImportFileError:
    """An :class:`ImportFileError` with the standard message of ``code``."""
    return ImportFileError(code, MESSAGES[code], row=row, column=column, **params)


def problem(code: str, *, severity: Severity = "error", row: int | None = None, column: int | None = None,
            **params: Any) -> RowProblem:
    """A :class:`RowProblem` with the standard message of ``code``."""
    return RowProblem(code, MESSAGES[code], severity=severity, row=row, column=column, params=params)
