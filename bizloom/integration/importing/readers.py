"""Read an uploaded CSV or XLSX file as a header plus a lazy stream of text rows.

What the reader decides (the engine builds on these rules):

* **Format** comes from the file's first bytes, checked against its name: a ZIP is a
  workbook, ``D0 CF 11 E0`` is an old ``.xls`` or a password-protected workbook (both
  refused), an HTML page is refused, anything else must be text. A mismatch between
  name and content is refused with a hint ("this looks like a CSV file; rename it
  .csv"), a file without an extension goes by its content.
* **Encoding** (CSV): a byte-order mark decides (UTF-8, UTF-16 LE/BE, UTF-32); otherwise
  the whole file must decode as strict UTF-8; otherwise GB18030 (a superset of GBK and
  GB2312), Big5 and Windows-1252 are tried on the whole file and the one whose text
  looks most natural wins (common Chinese characters for GB18030 and Big5, accented
  letters between plain ones for Windows-1252). ``Detection.confidence`` says how sure
  the guess is; the ``encoding`` argument overrides it.
* **Delimiter** (CSV): ``sep=X`` on the first line (Excel's hint) decides; otherwise
  comma, tab, semicolon and bar are tried on the first rows and the one giving the
  most consistent column count (and at least two columns) wins.
* **Rows** are numbered as a spreadsheet shows them: the header is row 1. Blank rows are
  skipped (their numbers too). A row with fewer values than the header is padded with
  ``""`` and gets a warning; a row with more non-blank values gets an error problem and
  its extra values are dropped; extra *blank* values (trailing delimiters) are ignored.
* **Values** are text exactly as in the file (no trimming), except that the single
  ``'`` Bizloom's exporter puts before ``= + - @ tab CR`` is removed, so an export
  re-imported unchanged gives back the original values (a value that itself began with
  ``'=`` loses its apostrophe).
* **XLSX cells** become the text a user would type: cached results of formulas (a
  formula without a cached result reads as ``""``), numbers without float noise
  (15 significant digits as Excel shows them: ``1250000.5``; no thousands separators,
  percentages as fractions; a ``000000`` format keeps its leading zeros), dates as
  ``2024-03-05``, date-times as ``2024-03-05 14:30:00``, times as ``14:30:00``,
  booleans as ``TRUE``/``FALSE``, error values as shown (``#N/A``). A merged range
  gives its value to its top-left cell only; the other cells of the range read as
  ``""``. Values beyond column ``max_columns + 1`` are not looked at.
* **Safety**: limits (:class:`~.limits.Limits`) are checked before parsing as far as
  possible: the file size first, a workbook's ZIP directory (parts, total size, ratio)
  before anything is decompressed, every XML part's prolog for DTD/entity declarations
  (never written by Excel; refused, so no entity expansion can happen), then rows while
  streaming. Sheets are parsed by :mod:`.sheetxml` (expat through defusedxml, which refuses
  DTDs and entities again; openpyxl's rules for cell values, several times faster). A cell
  over ``max_cell_chars`` stops the read with an error naming its row and column.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import os
import re
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import IO, Any, Literal, Protocol, cast

from bizloom.integration.importing import sheetxml
from bizloom.integration.importing.errors import ImportFileError, RowProblem, error, problem
from bizloom.integration.importing.headers import check_headers, restore_neutralised
from bizloom.integration.importing.limits import Limits, check_size, check_zip_directory

Format = Literal["csv", "xlsx"]

CSV_EXTENSIONS = frozenset({".csv", ".txt", ".tsv", ".tab"})
XLSX_EXTENSIONS = frozenset({".xlsx", ".xlsm", ".xltx", ".xltm", ".xls"})
DELIMITERS = (",", "\t", ";", "|")
EXCEL_MAX_ROWS = 1_048_576

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_BINARY_MAGIC = (b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"Rar!", b"\x1f\x8b", b"7z\xbc\xaf", b"BM")
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_ENCRYPTED_MARKERS = ("EncryptionInfo".encode("utf-16-le"), "EncryptedPackage".encode("utf-16-le"))
_LEGACY_ENCODINGS = ("gb18030", "big5", "cp1252")
_SAMPLE_BYTES = 256 * 1024
_CHUNK_BYTES = 1024 * 1024
_XML_HEAD_BYTES = 64 * 1024
_NEUTRALISED = frozenset({"'=", "'+", "'-", "'@", "'\t", "'\r"})
_SURROGATE_RE = re.compile("[\udc80-\udcff]")
_OOXML_ESCAPE_RE = re.compile("_x([0-9A-Fa-f]{4})_")
_SEP_LINE_RE = re.compile(r"\A\ufeff?sep=(.)\r?\n", re.IGNORECASE)


class BinaryFile(Protocol):
    """What ``read_table`` needs of a file: binary ``read``, ``seek`` and ``tell``."""

    def read(self, size: int = -1, /) -> bytes: ...

    def seek(self, offset: int, whence: int = 0, /) -> int: ...

    def tell(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Detection:
    """What the reader found: ``format``, CSV ``encoding`` and ``delimiter``, workbook sheets.

    ``confidence`` (0–1) is how sure the encoding guess is: 1.0 for a byte-order mark, a
    pure-ASCII or valid UTF-8 file, an ``encoding`` given by the caller, and workbooks.
    """

    format: Format
    encoding: str | None
    confidence: float
    sheet_names: tuple[str, ...] = ()
    delimiter: str | None = None
    sheet: str | None = None


@dataclass(slots=True)
class RawRow:
    """One data row: its spreadsheet ``number``, one text value per header, its problems."""

    number: int
    values: list[str]
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def has_errors(self) -> bool:
        """Whether a problem of this row is an error (not only warnings)."""
        return any(item.severity == "error" for item in self.problems)


@dataclass(slots=True)
class Table:
    """A file opened for import: ``headers``, lazily read ``rows`` and what was ``detected``.

    ``rows`` is a one-pass iterator; it raises :class:`ImportFileError` for problems that
    stop the read (too many rows, a huge cell, a broken file). ``warnings`` holds header
    warnings (blank header cells). Close the table (or use it as a context manager) when
    not reading it to the end.
    """

    headers: list[str]
    rows: Iterator[RawRow]
    detected: Detection
    warnings: list[RowProblem] = field(default_factory=list)
    _closers: list[Callable[[], object]] = field(default_factory=list, repr=False)

    def __iter__(self) -> Iterator[RawRow]:
        return self.rows

    def close(self) -> None:
        """Stop reading and release the workbook or text stream (the caller's file stays open)."""
        close = getattr(self.rows, "close", None)
        if close is not None:
            close()
        while self._closers:
            self._closers.pop()()

    def __enter__(self) -> Table:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def read_table(file: BinaryFile | str | os.PathLike[str], *, filename: str | None = None,
               encoding: str | None = None, sheet: str | int | None = None,
               limits: Limits | None = None) -> Table:
    """Open an import file and return its :class:`Table`; refuse it with :class:`ImportFileError`.

    ``file`` is a binary file object (an upload, ``open(path, "rb")``, ``BytesIO``; it
    is left open) or a path (opened and closed by the table). ``filename`` is the name
    the user gave the file (its extension is checked against the content); ``encoding``
    overrides CSV encoding detection; ``sheet`` picks a worksheet by name or 0-based
    index (default: the first worksheet).

    >>> with read_table(upload, filename="客户.csv") as table:  # doctest: +SKIP
    ...     table.headers                    # ['客户名称', '手机', 'Email']
    ...     table.detected.encoding          # 'gb18030'
    ...     for row in table.rows:           # RawRow(number=2, values=[...], problems=[])
    ...         ...
    """
    limits = limits or Limits()
    owned: IO[bytes] | None = None
    if isinstance(file, str | os.PathLike):
        owned = open(file, "rb")  # noqa: SIM115 - closed by the table
        stream: BinaryFile = owned
        filename = filename or Path(file).name
    else:
        stream = _seekable(file, limits)
    try:
        table = _read(stream, filename or "", encoding, sheet, limits)
    except BaseException:
        if owned is not None:
            owned.close()
        raise
    if owned is not None:
        table._closers.append(owned.close)
    return table


def _seekable(file: BinaryFile, limits: Limits) -> BinaryFile:
    seekable = getattr(file, "seekable", None)
    if seekable is None or seekable():
        return file
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 - garbage-collected
    size = 0
    while chunk := file.read(_CHUNK_BYTES):
        size += len(chunk)
        check_size(size, limits)
        spool.write(chunk)
    spool.seek(0)
    return cast(BinaryFile, spool)


def _read(stream: BinaryFile, filename: str, encoding: str | None, sheet: str | int | None,
          limits: Limits) -> Table:
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    check_size(size, limits)
    if size == 0:
        raise error("empty_file")
    stream.seek(0)
    sample = stream.read(_SAMPLE_BYTES)
    kind = _kind(sample)
    extension = Path(filename).suffix.lower()
    if kind == "ole":
        raise error("encrypted_workbook" if _is_encrypted(stream) else "legacy_xls")
    if kind == "html":
        raise error("looks_like_html")
    if extension == ".xlsb":
        raise error("xlsb_not_supported")
    if extension in XLSX_EXTENSIONS or (not extension and kind == "zip"):
        if kind != "zip":
            raise error("looks_like_csv")
        return _read_xlsx(stream, sheet, limits)
    if extension in CSV_EXTENSIONS or not extension:
        if kind == "zip":
            raise error("looks_like_xlsx")
        return _read_csv(stream, size, sample, encoding, limits)
    raise error("unsupported_format", filename=filename)


def _kind(sample: bytes) -> Literal["zip", "ole", "html", "text"]:
    if sample.startswith(_ZIP_MAGIC):
        return "zip"
    if sample.startswith(_OLE_MAGIC):
        return "ole"
    start = sample[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if start.startswith((b"<!doctype html", b"<html", b"<table")):
        return "html"
    return "text"


def _is_encrypted(stream: BinaryFile) -> bool:
    stream.seek(0)
    tail = b""
    while chunk := stream.read(_CHUNK_BYTES):
        window = tail + chunk
        if any(marker in window for marker in _ENCRYPTED_MARKERS):
            return True
        tail = window[-64:]
    return False


# --------------------------------------------------------------------------------------- CSV


class _KeepOpen(io.RawIOBase):
    """A raw stream over the caller's file that does not close it when closed."""

    def __init__(self, file: BinaryFile) -> None:
        super().__init__()
        self._file = file

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._file.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class _LineFeed:
    """Lines for ``csv.reader`` that remembers those of the record being parsed."""

    __slots__ = ("_lines", "pending")

    def __init__(self, lines: Iterator[str]) -> None:
        self._lines = lines
        self.pending: list[str] = []

    def __iter__(self) -> _LineFeed:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.pending.append(line)
        return line


def _decodes(stream: BinaryFile, encoding: str) -> bool:
    """Whether the whole file decodes strictly as ``encoding`` (read in 1 MiB chunks)."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    stream.seek(0)
    try:
        while chunk := stream.read(_CHUNK_BYTES):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _sample_text(sample: bytes, encoding: str) -> str:
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    return decoder.decode(sample, final=False)


def _plausibility(text: str, encoding: str) -> float:
    """How natural ``text`` decoded as ``encoding`` looks: the share of its non-ASCII characters
    that are common in that encoding's language (0–1)."""
    chars = [char for char in text if ord(char) > 0x7F]
    if not chars:
        return 0.0
    good = 0
    if encoding == "cp1252":
        for index, char in enumerate(text):
            if ord(char) <= 0x7F:
                continue
            neighbours = text[index - 1: index] + text[index + 1: index + 2]
            isolated = all(ord(other) <= 0x7F for other in neighbours)
            if isolated and (char.isalpha() or char in "€–—‘’“”…°±§©®«»"):
                good += 1
        return good / len(chars)
    for char in chars:
        try:
            encoded = char.encode("gb2312" if encoding == "gb18030" else "big5")
        except UnicodeEncodeError:
            continue
        lead = encoded[0]
        if encoding == "gb18030" and (0xA1 <= lead <= 0xA3 or 0xB0 <= lead <= 0xD7):
            good += 1  # GB2312 punctuation, full-width forms and level-1 (most frequent) hanzi
        elif encoding == "big5" and 0xA1 <= lead <= 0xC6:
            good += 1  # Big5 symbols and frequently used characters
    return good / len(chars)


def detect_encoding(stream: BinaryFile, sample: bytes) -> tuple[str, float]:
    """Guess the encoding of a text file: ``(codec name, confidence)``; see the module docstring."""
    for bom, name in _BOMS:
        if sample.startswith(bom):
            return name, 1.0
    head = sample[:4096]
    if b"\x00" in head:
        half = len(head) // 2 or 1
        even, odd = head[0::2].count(0), head[1::2].count(0)
        if odd > 0.3 * half and even < 0.05 * half:
            return "utf-16-le", 0.8
        if even > 0.3 * half and odd < 0.05 * half:
            return "utf-16-be", 0.8
        raise error("not_text")
    if sample.startswith(_BINARY_MAGIC):
        raise error("not_text")
    if _decodes(stream, "utf-8"):
        return "utf-8", 1.0
    scores: list[tuple[float, int, str]] = []
    for priority, name in enumerate(_LEGACY_ENCODINGS):
        if _decodes(stream, name):
            scores.append((_plausibility(_sample_text(sample, name), name), -priority, name))
    if not scores:
        raise error("unknown_encoding")
    scores.sort(reverse=True)
    best = scores[0][0]
    second = scores[1][0] if len(scores) > 1 else 0.0
    return scores[0][2], round(max(0.1, min(0.95, 0.5 + best - second)), 2)


def sniff_delimiter(text: str, *, complete: bool) -> str:
    """The delimiter among ``, TAB ; |`` giving the most consistent column count in ``text``."""
    best: tuple[float, int, int] = (0.0, 0, 0)
    chosen = ","
    for priority, delimiter in enumerate(DELIMITERS):
        try:
            records = [len(record) for record in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
                       if any(cell.strip() for cell in record)]
        except csv.Error:
            continue
        if not complete and len(records) > 1:
            records = records[:-1]  # the sample may end inside a record
        records = records[:100]
        if not records or records[0] < 2:
            continue
        consistency = sum(1 for count in records if count == records[0]) / len(records)
        score = (consistency, records[0], -priority)
        if score > best:
            best, chosen = score, delimiter
    return chosen


def _read_csv(stream: BinaryFile, size: int, sample: bytes, encoding: str | None, limits: Limits) -> Table:
    if encoding:
        try:
            name = codecs.lookup(encoding).name
        except LookupError:
            raise error("invalid_encoding_name", encoding=encoding) from None
        if name == "utf-8" and sample.startswith(codecs.BOM_UTF8):
            name = "utf-8-sig"
        confidence = 1.0
    else:
        name, confidence = detect_encoding(stream, sample)
    text = _sample_text(sample, name)
    complete = len(sample) >= size
    if not text.strip("\ufeff \t\r\n") and complete:
        raise error("empty_file")
    sep_line = _SEP_LINE_RE.match(text)
    delimiter = sep_line.group(1) if sep_line else sniff_delimiter(text, complete=complete)
    errors = "strict" if name.startswith(("utf-16", "utf-32")) else "surrogateescape"
    stream.seek(0)
    wrapper = io.TextIOWrapper(io.BufferedReader(_KeepOpen(stream), buffer_size=256 * 1024), encoding=name,
                               errors=errors, newline="")
    feed = _LineFeed(iter(wrapper))
    reader = csv.reader(feed, delimiter=delimiter)
    detected = Detection("csv", name, confidence, delimiter=delimiter)
    try:
        if sep_line:
            _next_record(reader, feed, 1, name, limits, delimiter)
        first = _next_record(reader, feed, 1, name, limits, delimiter)
        if first is None:
            raise error("empty_file")
        if not any(cell.strip() for cell in first):
            raise error("no_header", row=1)
        headers, warnings = check_headers(_clean_cells(first, 1, limits, name)[0], limits)
    except BaseException:
        wrapper.close()
        raise
    rows = _csv_rows(reader, feed, len(headers), name, limits, delimiter, wrapper)
    return Table(headers, rows, detected, warnings, [wrapper.close])


def _next_record(reader: Iterator[list[str]], feed: _LineFeed, number: int, encoding: str, limits: Limits,
                 delimiter: str) -> list[str] | None:
    try:
        record = next(reader)
    except StopIteration:
        return None
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise error("cell_too_large", row=number, column=_column_of_large_field(
                "".join(feed.pending), delimiter, limits.max_cell_chars), limit=limits.max_cell_chars) from None
        raise error("csv_error", row=number, detail=str(exc)) from None
    except UnicodeDecodeError:
        raise error("decode_error", row=number, encoding=encoding) from None
    feed.pending.clear()
    return record


def _column_of_large_field(text: str, delimiter: str, limit: int) -> int:
    """The 1-based column of the first field longer than ``limit`` in the raw text of a record."""
    column, start, quoted = 1, 0, False
    for match in re.finditer(f'["{re.escape(delimiter)}]', text):
        if match.group() == '"':
            quoted = not quoted
        elif not quoted:
            if match.start() - start > limit:
                return column
            column, start = column + 1, match.end()
    return column


def _clean_cells(cells: list[str], number: int, limits: Limits, encoding: str,
                 joined: str | None = None) -> tuple[list[str], list[RowProblem]]:
    """Cells with the exporter's apostrophe removed; undecodable bytes replaced and reported.

    ``joined`` (the cells joined, when the caller has it) lets a row without an apostrophe or
    an undecodable byte — nearly all of them — pass with one test of the whole row each.
    """
    if joined is None:
        joined = "".join(cells)
    limit = limits.max_cell_chars
    if len(joined) > limit and max(map(len, cells)) > limit:
        column = next(i for i, cell in enumerate(cells) if len(cell) > limit) + 1
        raise error("cell_too_large", row=number, column=column, limit=limit)
    problems: list[RowProblem] = []
    values = [cell[1:] if cell[:2] in _NEUTRALISED else cell for cell in cells] if "'" in joined else cells
    if _SURROGATE_RE.search(joined) is None:
        return values, problems
    for index, value in enumerate(values):
        if _SURROGATE_RE.search(value):
            values[index] = _SURROGATE_RE.sub("\ufffd", value)
            problems.append(problem("decode_error", row=number, column=index + 1, encoding=encoding))
    return values, problems


def _csv_rows(reader: Iterator[list[str]], feed: _LineFeed, width: int, encoding: str, limits: Limits,
              delimiter: str, wrapper: io.TextIOWrapper) -> Iterator[RawRow]:
    number, count = 1, 0
    try:
        while True:
            cells = _next_record(reader, feed, number + 1, encoding, limits, delimiter)
            if cells is None:
                return
            number += 1
            joined = "".join(cells)
            if not joined or joined.isspace():
                continue
            count += 1
            if count > limits.max_rows:
                raise error("too_many_rows", row=number, limit=limits.max_rows)
            values, problems = _clean_cells(cells, number, limits, encoding, joined)
            yield RawRow(number, values if len(values) == width else _fit(values, width, number, problems,
                                                                             short_warning=True), problems)
    finally:
        wrapper.close()


def _fit(values: list[str], width: int, number: int, problems: list[RowProblem], *,
         short_warning: bool) -> list[str]:
    """``values`` cut or padded to ``width``, with the problem that explains it."""
    if len(values) > width:
        extra = values[width:]
        if any(value.strip() for value in extra):
            count = width + max(i for i, value in enumerate(extra) if value.strip()) + 1
            problems.append(problem("row_too_long", row=number, column=count, count=count, columns=width))
        return values[:width]
    if len(values) < width:
        if short_warning:
            problems.append(problem("row_too_short", severity="warning", row=number, count=len(values),
                                    columns=width))
        values.extend([""] * (width - len(values)))
    return values


# -------------------------------------------------------------------------------------- XLSX


def _read_member_head(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    with archive.open(info) as member:
        return member.read(_XML_HEAD_BYTES)


_ROOT_START_RE = re.compile(rb"<[A-Za-z_]")
_DECLARATION_RE = re.compile(rb"<!(?:DOCTYPE|ENTITY)")


def _has_dtd(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    """Whether the XML prolog (everything before the root element) declares a DTD or entities.

    Streams the part in 64 KiB chunks until the root element starts, so padding the prolog
    with comments does not hide a declaration; memory stays constant.
    """
    tail = b""
    with archive.open(info) as member:
        while chunk := member.read(_XML_HEAD_BYTES):
            window = tail + chunk
            root = _ROOT_START_RE.search(window)
            if _DECLARATION_RE.search(window, 0, root.start() if root else len(window)):
                return True
            if root:
                return False
            tail = window[-16:]
    return False


def _check_workbook_archive(stream: BinaryFile, limits: Limits) -> None:
    """Refuse a broken ZIP, a bomb, macros, a binary or non-Excel package, or XML with a DTD."""
    try:
        archive = zipfile.ZipFile(cast(IO[bytes], stream))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError):
        raise error("broken_zip") from None
    with archive:
        check_zip_directory(archive, limits)
        infos = {info.filename.lower(): info for info in archive.infolist()}
        if any(name.endswith("vbaproject.bin") for name in infos):
            raise error("macro_enabled")
        if "xl/workbook.bin" in infos:
            raise error("xlsb_not_supported")
        content_types = infos.get("[content_types].xml")
        if content_types is None:
            raise error("not_a_workbook")
        try:
            types = _read_member_head(archive, content_types).lower()
            if b"macroenabled" in types:
                raise error("macro_enabled")
            if b"spreadsheetml" not in types:
                raise error("not_a_workbook")
            for name, info in infos.items():
                if name.endswith((".xml", ".rels", ".vml")):
                    if _has_dtd(archive, info):
                        raise error("unsafe_xml")
        except ImportFileError:
            raise
        except Exception:  # zlib.error, bad CRC, unsupported compression, encrypted member …
            raise error("broken_zip") from None


def _open_workbook(stream: BinaryFile) -> sheetxml.Workbook:
    stream.seek(0)
    try:
        return sheetxml.Workbook(zipfile.ZipFile(cast(IO[bytes], stream)))
    except Exception as exc:  # a missing part (KeyError), XML errors, bad numbers …
        raise _workbook_error(exc, None) from None


def _choose_sheet(workbook: sheetxml.Workbook, sheet: str | int | None) -> sheetxml.Sheet:
    names = workbook.sheet_names
    listed = ", ".join(f"“{name}”" for name in names)
    if sheet is None:
        worksheets = [s for s in workbook.sheets if s.is_worksheet]
        if not worksheets:
            raise error("no_worksheet")
        return worksheets[0]
    if isinstance(sheet, int):
        if not 0 <= sheet < len(names):
            raise error("unknown_sheet", sheet=str(sheet + 1), names=listed)
        name = names[sheet]
    elif sheet in names:
        name = sheet
    else:
        wanted = unicodedata.normalize("NFKC", sheet).strip().casefold()
        found = [n for n in names if unicodedata.normalize("NFKC", n).strip().casefold() == wanted]
        if not found:
            raise error("unknown_sheet", sheet=sheet, names=listed)
        name = found[0]
    chosen = workbook.sheets[names.index(name)]
    if not chosen.is_worksheet or chosen.path not in workbook.archive.NameToInfo:
        raise error("not_a_worksheet", sheet=name)
    return chosen


def _read_xlsx(stream: BinaryFile, sheet: str | int | None, limits: Limits) -> Table:
    _check_workbook_archive(stream, limits)
    workbook = _open_workbook(stream)
    close = workbook.archive.close
    try:
        worksheet = _choose_sheet(workbook, sheet)
        # The declared dimension is never trusted: columns beyond the limit are not even looked at.
        cells = workbook.rows(worksheet, limits.max_columns + 1)
        detected = Detection("xlsx", None, 1.0, sheet_names=tuple(workbook.sheet_names), sheet=worksheet.name)
        try:
            first = next(cells, None)
        except Exception as exc:
            raise _workbook_error(exc, 1) from None
        if first is None:
            raise error("empty_sheet", sheet=worksheet.name)
        number, row = first
        raw = [_cell_text(cell) for cell in row] if number == 1 else []
        if not any(value.strip() for value in raw):
            raise error("no_header", row=1)
        if len(raw) > limits.max_columns and raw[limits.max_columns].strip():
            raise error("too_many_columns", count=f"> {limits.max_columns}", limit=limits.max_columns)
        headers, warnings = check_headers(raw[: limits.max_columns], limits)
    except BaseException:
        close()
        raise
    rows = _xlsx_rows(cells, len(headers), limits, close)
    return Table(headers, rows, detected, warnings, [close])


def _is_entity_attack(exc: BaseException | None) -> bool:
    """Whether defusedxml or expat refused entity expansion somewhere in ``exc``'s chain."""
    seen = 0
    while exc is not None and seen < 10:
        if type(exc).__module__.startswith("defusedxml") or "amplification" in str(exc):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def _workbook_error(exc: Exception, number: int | None) -> ImportFileError:
    if isinstance(exc, ImportFileError):
        return exc
    if _is_entity_attack(exc):
        return error("unsafe_xml")
    return error("invalid_workbook", row=number, detail=str(exc)[:200] or type(exc).__name__)


def _xlsx_rows(cells: Iterator[tuple[int, list[sheetxml.Cell]]], width: int, limits: Limits,
               close: Callable[[], None]) -> Iterator[RawRow]:
    number, count = 1, 0
    try:
        while True:
            try:
                found = next(cells, None)
                if found is None:
                    return
                number, row = found
                if number > EXCEL_MAX_ROWS:
                    raise error("invalid_workbook", row=number, detail=f"row {number} is beyond Excel's last row")
                values = [_cell_text(cell) for cell in row[:width]]
                if len(row) > width:
                    values.extend(_cell_text(cell) for cell in row[width:])
            except Exception as exc:
                raise _workbook_error(exc, number) from None
            if not "".join(values).strip():
                continue
            count += 1
            if count > limits.max_rows:
                raise error("too_many_rows", row=number, limit=limits.max_rows)
            longest = max(map(len, values), default=0)
            if longest > limits.max_cell_chars:
                column = next(i for i, value in enumerate(values) if len(value) > limits.max_cell_chars) + 1
                raise error("cell_too_large", row=number, column=column, limit=limits.max_cell_chars)
            problems: list[RowProblem] = []
            yield RawRow(number, _fit(values, width, number, problems, short_warning=False), problems)
    finally:
        close()


def _cell_text(cell: Any) -> str:
    """The text of a cell (``sheetxml.Cell``: value and number format) as a user would type it (see the
    module docstring)."""
    value = cell.value
    if value is None:
        return ""
    if isinstance(value, str):
        if "_x" in value:  # OOXML escapes control characters as _x000D_; openpyxl leaves them
            value = _OOXML_ESCAPE_RE.sub(lambda match: chr(int(match.group(1), 16)), value)
        return restore_neutralised(value)
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return _pad_zeros(str(value), cell)
    if isinstance(value, float):
        return _pad_zeros(format_number(value), cell)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0) and not _has_time(cell.number_format):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.isoformat(timespec="seconds")
    if isinstance(value, dt.timedelta):
        seconds = int(value.total_seconds())
        sign = "-" if seconds < 0 else ""
        hours, rest = divmod(abs(seconds), 3600)
        return f"{sign}{hours}:{rest // 60:02d}:{rest % 60:02d}"
    return str(value)


def format_number(value: float) -> str:
    """A float as Excel shows it in the formula bar: 15 significant digits, no exponent, no noise.

    ``1250000.4999999999`` → ``"1250000.5"``, ``0.1 + 0.2`` → ``"0.3"``, ``3.0`` → ``"3"``.
    """
    if value != value or value in (float("inf"), float("-inf")):
        return str(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    text = format(Decimal(f"{value:.15g}"), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _pad_zeros(text: str, cell: Any) -> str:
    number_format = getattr(cell, "number_format", "General")
    if number_format and number_format != "General" and set(number_format) == {"0"} and text.isdigit():
        return text.zfill(len(number_format))
    return text


@lru_cache(maxsize=256)
def _has_time(number_format: str) -> bool:
    plain = re.sub(r'"[^"]*"|\[[^\]]*\]|\\.', "", number_format or "").lower()
    return "h" in plain or "s" in plain
