"""A streaming reader of XLSX worksheets: expat, row by row, with defusedxml's refusals (issue #5).

openpyxl's read-only mode reads about 2,600 rows a second (its cell objects and the
per-cell Python work of its parser). This feeds the sheet part in 256 KiB chunks to a pyexpat
parser whose callbacks are a small state machine (no element tree), and turns each ``<c>``
into the value openpyxl would give — the same rules, reusing openpyxl's own date conversion
and number-format tables — about nine times faster. Small parts (workbook, relationships,
styles) go through ``defusedxml.ElementTree.iterparse``. Every parser refuses DTDs, entity
declarations and external references with defusedxml's exceptions (what defusedxml's own
parser does), and it only runs after ``readers._check_workbook_archive`` has checked the ZIP
directory, refused macros and any part whose prolog declares a DTD or entities.

Rules copied from openpyxl 3.1 (``worksheet/_reader.py``, ``reader/strings.py``,
``styles/stylesheet.py``):

* ``t="s"``: the shared string (plain text plus rich-text runs, phonetic runs left out, and
  ``x005F_`` removed as openpyxl does); ``t="inlineStr"``: the ``<is>`` text; ``t="str"``:
  the formula's cached text; ``t="b"``: a boolean; ``t="e"``: the error text; ``t="d"``: an
  ISO 8601 date; otherwise a number (``int`` unless it has ``.``/``E``), which a date or
  duration style turns into a datetime/time/timedelta (``from_excel``, the workbook's 1900
  or 1904 epoch; a serial outside the date range reads as ``#VALUE!``).
* A cell without a value (a formula without a cached result) is ``None``. Rows missing from
  the file are not produced; the caller numbers rows by their ``r`` attribute.
"""

from __future__ import annotations

import posixpath
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from xml.parsers import expat

from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import iterparse
from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format
from openpyxl.utils.datetime import MAC_EPOCH, WINDOWS_EPOCH, from_excel, from_ISO8601

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
PACKAGE_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_T, _R = f"{MAIN}t", f"{MAIN}r"


class Cell:
    """What ``readers._cell_text`` reads of a cell: its ``value`` and ``number_format``."""

    __slots__ = ("number_format", "value")

    def __init__(self, value: Any, number_format: str) -> None:
        self.value = value
        self.number_format = number_format


EMPTY = Cell(None, "General")


@dataclass(frozen=True)
class Sheet:
    """A sheet listed in the workbook: its name, its part in the archive and whether it is a worksheet."""

    name: str
    path: str
    is_worksheet: bool


def _parse(archive: zipfile.ZipFile, name: str) -> Iterator[tuple[str, Any]]:
    with archive.open(name) as member:
        yield from iterparse(member, events=("start", "end"), forbid_dtd=True)


def _rels(archive: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """Relationship id → (type, target path) of ``part``."""
    folder, base = posixpath.split(part)
    name = posixpath.join(folder, "_rels", base + ".rels")
    if name not in archive.NameToInfo:
        return {}
    found = {}
    for event, element in _parse(archive, name):
        if event == "end" and element.tag == f"{PACKAGE_REL}Relationship":
            target = element.get("Target", "")
            path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
            found[element.get("Id", "")] = (element.get("Type", ""), path)
    return found


def _text(element: Any) -> str:
    """openpyxl's ``Text.content``: the plain ``<t>`` then every run's ``<t>``, phonetic runs excluded."""
    parts = []
    for child in element:
        if child.tag == _T:
            parts.append(child.text or "")
        elif child.tag == _R:
            run = child.find(_T)
            if run is not None:
                parts.append(run.text or "")
    return "".join(parts)


class Workbook:
    """The parts of an XLSX archive a sheet read needs: sheets, shared strings, styles, date epoch."""

    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive = archive
        rels = _rels(archive, "xl/workbook.xml")
        self.sheets: list[Sheet] = []
        self.epoch = WINDOWS_EPOCH
        for event, element in _parse(archive, "xl/workbook.xml"):
            if event != "end":
                continue
            if element.tag == f"{MAIN}workbookPr" and element.get("date1904", "").lower() in ("1", "true"):
                self.epoch = MAC_EPOCH
            elif element.tag == f"{MAIN}sheet":
                kind, path = rels.get(element.get(f"{REL}id", ""), ("", ""))
                self.sheets.append(Sheet(element.get("name", ""), path, kind.endswith("/worksheet")))
        kinds = {kind.rsplit("/", 1)[-1]: path for kind, path in rels.values()}
        self._strings_path = kinds.get("sharedStrings")
        self._strings: list[str] | None = None
        self.formats, self.date_styles, self.timedelta_styles = self._styles(kinds.get("styles"))

    @property
    def sheet_names(self) -> list[str]:
        """Every sheet's name, in the workbook's order (chart sheets too)."""
        return [sheet.name for sheet in self.sheets]

    @property
    def strings(self) -> list[str]:
        """The shared strings, read on first use."""
        if self._strings is None:
            strings: list[str] = []
            if self._strings_path and self._strings_path in self.archive.NameToInfo:
                texts = _TextCollector()

                def start(name: str, attrs: dict[str, str]) -> None:
                    if name == _SI_NAME:
                        texts.begin()
                    else:
                        texts.start(name)

                def end(name: str) -> None:
                    if name == _SI_NAME:
                        strings.append(texts.finish().replace("x005F_", ""))
                    else:
                        texts.end(name)

                _expat(self.archive, self._strings_path, start, end, texts.chars, lambda: None)
            self._strings = strings
        return self._strings

    def _styles(self, path: str | None) -> tuple[list[str], frozenset[int], frozenset[int]]:
        """The number format of every cell style (``cellXfs``), and which are dates or durations."""
        custom: dict[int, str] = {}
        style_ids: list[int] = []
        if path and path in self.archive.NameToInfo:
            in_cell_xfs = False
            for event, element in _parse(self.archive, path):
                if element.tag == f"{MAIN}cellXfs":
                    in_cell_xfs = event == "start"
                elif event == "end" and element.tag == f"{MAIN}numFmt":
                    custom[int(element.get("numFmtId", "0"))] = element.get("formatCode", "General")
                elif event == "end" and in_cell_xfs and element.tag == f"{MAIN}xf":
                    style_ids.append(int(element.get("numFmtId", "0")))
        formats = [custom[i] if i in custom else BUILTIN_FORMATS.get(i, "General") for i in style_ids]
        dates = frozenset(i for i, fmt in enumerate(formats) if is_date_format(fmt))
        durations = frozenset(i for i, fmt in enumerate(formats) if is_timedelta_format(fmt))
        return formats, dates, durations

    def rows(self, sheet: Sheet, max_column: int) -> Iterator[tuple[int, list[Cell]]]:
        """(row number, cells of columns 1..last value, at most ``max_column``) of every row in the file.

        A pyexpat state machine (no element tree): about three callbacks per cell.
        """
        done: list[tuple[int, list[Cell]]] = []
        texts = _TextCollector()
        state: dict[str, Any] = {"number": 0, "cells": [], "column": 0, "kind": "n", "style": 0, "value": None,
                                 "in_cell": False}
        value_parts: list[str] = []
        collecting = [False]

        def start(name: str, attrs: dict[str, str]) -> None:
            if name == _C_NAME:
                reference = attrs.get("r")
                state["column"] = _column_of(reference) if reference else state["column"] + 1
                state["kind"] = attrs.get("t", "n")
                style = attrs.get("s")
                state["style"] = int(style) if style else 0
                state["value"] = None
                state["in_cell"] = True
                if state["kind"] == "inlineStr":
                    texts.begin()
            elif name == _V_NAME and state["in_cell"]:
                value_parts.clear()
                collecting[0] = True
            elif name == _ROW_NAME:
                number = attrs.get("r")
                state["number"] = int(number) if number else state["number"] + 1
                state["cells"] = []
                state["column"] = 0
            elif state["in_cell"] and state["kind"] == "inlineStr":
                texts.start(name)

        def end(name: str) -> None:
            if name == _V_NAME and collecting[0]:
                collecting[0] = False
                state["value"] = "".join(value_parts)
            elif name == _C_NAME:
                state["in_cell"] = False
                column = state["column"]
                if column > max_column:
                    return
                kind, style = state["kind"], state["style"]
                if kind == "inlineStr":
                    value = texts.finish() if texts.seen else None
                else:
                    value = self._convert(kind, state["value"], style)
                if value is None:  # reads as "" whatever its style
                    return
                cells = state["cells"]
                if column > len(cells):
                    cells.extend([EMPTY] * (column - len(cells)))
                cells[column - 1] = Cell(value, self.formats[style] if style < len(self.formats) else "General")
            elif name == _ROW_NAME:
                done.append((state["number"], state["cells"]))
            elif state["in_cell"] and state["kind"] == "inlineStr":
                texts.end(name)

        def chars(data: str) -> None:
            if collecting[0]:
                value_parts.append(data)
            else:
                texts.chars(data)

        def flush() -> list[tuple[int, list[Cell]]]:
            ready = done[:]
            done.clear()
            return ready

        yield from _expat_rows(self.archive, sheet.path, start, end, chars, flush)

    def _convert(self, kind: str, raw: str | None, style: int) -> Any:
        """openpyxl's value of a non-inline cell from its ``t``, ``<v>`` text and style."""
        if not raw:
            return None
        if kind == "n":
            number: Any = float(raw) if ("." in raw or "E" in raw or "e" in raw) else int(raw)
            if style in self.date_styles:
                try:
                    return from_excel(number, self.epoch, timedelta=style in self.timedelta_styles)
                except (OverflowError, ValueError):
                    return "#VALUE!"
            return number
        if kind == "s":
            return self.strings[int(raw)]
        if kind == "b":
            return bool(int(raw))
        if kind == "d":
            return from_ISO8601(raw)  # type: ignore[no-untyped-call]
        return raw  # "str" (a formula's text), "e" (an error such as #N/A)


class _TextCollector:
    """The text of a string item (``<si>`` or ``<is>``) as openpyxl's ``Text.content`` gives it:
    ``<t>`` and every run's ``<t>``, phonetic runs (``<rPh>``) left out."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.depth_rph = 0
        self.in_t = False
        self.seen = False

    def begin(self) -> None:
        self.parts = []
        self.depth_rph = 0
        self.in_t = False
        self.seen = True

    def start(self, name: str) -> None:
        if name == _RPH_NAME:
            self.depth_rph += 1
        elif name == _T_NAME and not self.depth_rph:
            self.in_t = True

    def end(self, name: str) -> None:
        if name == _RPH_NAME:
            self.depth_rph -= 1
        elif name == _T_NAME:
            self.in_t = False

    def chars(self, data: str) -> None:
        if self.in_t:
            self.parts.append(data)

    def finish(self) -> str:
        self.seen = False
        return "".join(self.parts)


_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main "
_C_NAME, _V_NAME, _ROW_NAME, _T_NAME, _RPH_NAME, _SI_NAME = (f"{_NS}c", f"{_NS}v", f"{_NS}row", f"{_NS}t",
                                                             f"{_NS}rPh", f"{_NS}si")
_CHUNK = 256 * 1024


def _refuse_dtd(*args: Any) -> None:
    raise DTDForbidden(None, None, None)


def _refuse_entity(name: Any, *args: Any) -> None:
    raise EntitiesForbidden(name, None, None, None, None, None)


def _refuse_external(context: Any, base: Any, system_id: Any, public_id: Any) -> int:
    raise ExternalReferenceForbidden(context, base, system_id, public_id)


def _parser(start: Any, end: Any, chars: Any) -> Any:
    """An expat parser with namespaces (``"<uri> <name>"``) that refuses DTDs and entities as defusedxml does."""
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.buffer_text = True
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.EntityDeclHandler = _refuse_entity
    parser.UnparsedEntityDeclHandler = _refuse_entity
    parser.ExternalEntityRefHandler = _refuse_external
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    return parser


def _expat(archive: zipfile.ZipFile, name: str, start: Any, end: Any, chars: Any, flush: Any) -> None:
    for _ready in _expat_rows(archive, name, start, end, chars, lambda: [flush()]):
        pass


def _expat_rows(archive: zipfile.ZipFile, name: str, start: Any, end: Any, chars: Any,
                flush: Any) -> Iterator[Any]:
    """Feed part ``name`` to an expat parser in chunks, yielding what ``flush()`` returns after each chunk."""
    parser = _parser(start, end, chars)
    with archive.open(name) as member:
        while chunk := member.read(_CHUNK):
            parser.Parse(chunk, False)
            yield from flush()
        parser.Parse(b"", True)
        yield from flush()


def _column_of(reference: str) -> int:
    """``"AB12"`` → 28."""
    column = 0
    for char in reference:
        if "A" <= char <= "Z":
            column = column * 26 + ord(char) - 64
        elif "a" <= char <= "z":
            column = column * 26 + ord(char) - 96
        else:
            break
    return column
