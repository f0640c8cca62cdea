"""The file-reading front end of the import engine (issue #5).

``read_table`` turns an uploaded CSV or XLSX file into a :class:`~.readers.Table`:
cleaned header names, a lazy iterator of raw text rows (with per-row problems), and
what was detected (format, encoding, delimiter, sheet). ``match_headers`` proposes a
column-to-field mapping. Every refusal is an :class:`~.errors.ImportFileError` with a
stable ``code`` and a translatable message. Nothing here touches the database.
"""

from __future__ import annotations

from bizloom.integration.importing.errors import ImportFileError, RowProblem
from bizloom.integration.importing.headers import (
    ColumnMatch,
    FieldSpec,
    HeaderMapping,
    match_headers,
    normalise_header,
)
from bizloom.integration.importing.limits import Limits
from bizloom.integration.importing.readers import Detection, RawRow, Table, read_table

__all__ = [
    "ColumnMatch",
    "Detection",
    "FieldSpec",
    "HeaderMapping",
    "ImportFileError",
    "Limits",
    "RawRow",
    "RowProblem",
    "Table",
    "match_headers",
    "normalise_header",
    "read_table",
]
