"""Header cleaning and column → field matching.

Two forms of a header name are used:

* the *display* form (:func:`clean_header`), returned in ``Table.headers``: invisible
  characters and the byte-order mark removed, full-width letters, digits, spaces and
  brackets folded to their ordinary width (Unicode NFKC), whitespace trimmed and
  collapsed, and the apostrophe Bizloom's exporter puts before ``= + - @`` removed;
* the *comparison* key (:func:`normalise_header`): the display form case-folded, with
  required-field markers (``*``) and trailing colons dropped, ``_ - . /`` read as spaces,
  and Traditional Chinese folded to Simplified (``bizloom.crm.normalize.to_simplified``).

:func:`match_headers` proposes which column feeds which field, comparing keys with
each field's key, its labels (any language) and its synonyms.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from bizloom.crm.normalize import to_simplified
from bizloom.integration.importing.errors import RowProblem, error, problem
from bizloom.integration.importing.limits import Limits

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")  # as bizloom.platform.exporting neutralises
_INVISIBLE_RE = re.compile("[\ufeff\u200b\u200c\u200d\u2060\u00ad]")
_SPACES_RE = re.compile(r"\s+")
_SEPARATORS_RE = re.compile(r"[\s_\-./\\]+")
_MARKERS = "*:：#"  # "*Name", "客户名称*", "Phone:"
_BRACKETED_RE = re.compile(r"\s*[(\[【].*?[)\]】]\s*")


def restore_neutralised(text: str) -> str:
    """``text`` without the ``'`` that the exporter adds before ``= + - @ tab CR``.

    Only a single apostrophe directly followed by one of those characters is removed, so an
    exported value re-imported unchanged gives back the original. The one ambiguity: a value
    that itself began with ``'=`` (or ``'+`` …) loses its apostrophe.
    """
    if len(text) > 1 and text[0] == "'" and text[1] in "=+-@\t\r":
        return text[1:]
    return text


def clean_header(text: str) -> str:
    """The display form of a header cell (see the module docstring)."""
    text = restore_neutralised(_INVISIBLE_RE.sub("", text))
    text = unicodedata.normalize("NFKC", text)
    return _SPACES_RE.sub(" ", text).strip()


def normalise_header(text: str) -> str:
    """The comparison key of a header or field name: ``" Mobile_Phone* "`` → ``"mobile phone"``."""
    text = clean_header(text).casefold().strip(_MARKERS + " ")
    text = _SEPARATORS_RE.sub(" ", text).strip()
    if any(ord(char) >= 0x2E80 for char in text):
        text = to_simplified(text)
    return text


def column_letter(index: int) -> str:
    """Spreadsheet letters of a 0-based column index: 0 → ``A``, 27 → ``AB``."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def check_headers(raw: Sequence[str], limits: Limits) -> tuple[list[str], list[RowProblem]]:
    """Clean the header row; refuse a missing, too wide or duplicated header.

    Trailing blank header cells are dropped. A blank header cell between named ones gets
    the placeholder name ``Column C`` (its spreadsheet letter) and a warning; it is never
    matched to a field. Returns the display headers and the warnings.
    """
    headers = [clean_header(cell) for cell in raw]
    while headers and not headers[-1]:
        headers.pop()
    if not headers:
        raise error("no_header", row=1)
    if len(headers) > limits.max_columns:
        raise error("too_many_columns", count=len(headers), limit=limits.max_columns)
    warnings: list[RowProblem] = []
    for index, header in enumerate(headers):
        if not header:
            headers[index] = f"Column {column_letter(index)}"
            warnings.append(problem("blank_header", severity="warning", row=1, column=index + 1))
    seen: dict[str, list[int]] = {}
    for index, header in enumerate(headers):
        seen.setdefault(normalise_header(header), []).append(index)
    duplicates = [indexes for indexes in seen.values() if len(indexes) > 1]
    if duplicates:
        names = ", ".join(
            "“" + "” = “".join(headers[i] for i in indexes) + "” (" +
            ", ".join(column_letter(i) for i in indexes) + ")" for indexes in duplicates)
        raise error("duplicate_headers", row=1, column=duplicates[0][1] + 1, names=names)
    return headers, warnings


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """A field an import can fill: a model field or a custom field alike.

    ``labels`` maps a language code (``"en"``, ``"zh-hans"``, ``"zh-hant"`` …) to the label
    shown to users; ``synonyms`` are other names a spreadsheet may use for it.
    """

    key: str
    labels: Mapping[str, str] = field(default_factory=dict)
    synonyms: tuple[str, ...] = ()
    required: bool = False


@dataclass(frozen=True, slots=True)
class ColumnMatch:
    """The proposal for one column: ``field`` is ``None`` when nothing matched well enough."""

    index: int
    header: str
    field: str | None
    confidence: float
    matched_name: str | None = None


@dataclass(frozen=True, slots=True)
class HeaderMapping:
    """A proposed column → field mapping; the user confirms or corrects it."""

    columns: tuple[ColumnMatch, ...]
    missing_required: tuple[str, ...]

    def as_dict(self) -> dict[int, str]:
        """Column index (0-based) → field key, mapped columns only."""
        return {column.index: column.field for column in self.columns if column.field is not None}

    @property
    def unmapped(self) -> tuple[int, ...]:
        """Indexes of the columns left unmapped."""
        return tuple(column.index for column in self.columns if column.field is None)


_EXACT, _COMPACT, _UNBRACKETED = 1.0, 0.97, 0.9
SYNONYM_WEIGHT = 0.95
DEFAULT_THRESHOLD = 0.6


def _similarity(header: str, name: str) -> float:
    if not header or not name:
        return 0.0
    if header == name:
        return _EXACT
    compact_header, compact_name = header.replace(" ", ""), name.replace(" ", "")
    if compact_header == compact_name:
        return _COMPACT
    bare_header = _BRACKETED_RE.sub(" ", header).strip().replace(" ", "")
    bare_name = _BRACKETED_RE.sub(" ", name).strip().replace(" ", "")
    if bare_header and bare_header == bare_name:
        return _UNBRACKETED
    shorter, longer = sorted((compact_header, compact_name), key=len)
    if len(shorter) >= 2 and shorter in longer:
        return 0.55 + 0.3 * len(shorter) / len(longer)
    ratio = difflib.SequenceMatcher(None, compact_header, compact_name).ratio()
    return 0.8 * ratio if ratio >= 0.8 else 0.0


def _names(spec: FieldSpec) -> Iterable[tuple[str, str, float]]:
    yield spec.key, normalise_header(spec.key), 1.0
    for label in spec.labels.values():
        yield label, normalise_header(label), 1.0
    for synonym in spec.synonyms:
        yield synonym, normalise_header(synonym), SYNONYM_WEIGHT


def match_headers(headers: Sequence[str], fields: Sequence[FieldSpec], *,
                  threshold: float = DEFAULT_THRESHOLD) -> HeaderMapping:
    """Propose which column feeds which field.

    Each (column, field) pair gets the best score of the column's key against the field's
    key, labels and synonyms (exact 1.0, equal without spaces 0.97, equal without a
    bracketed note such as "(mobile)" 0.9, one containing the other 0.55–0.85, close
    spelling up to 0.8; synonyms weigh 0.95). Pairs are then taken best first, so no field
    receives two columns and no column feeds two fields; pairs under ``threshold`` are
    not proposed and those columns stay unmapped.

    >>> phone = FieldSpec("phone", {"en": "Phone", "zh-hans": "电话"}, ("手机", "Mobile"))
    >>> match_headers(["手机", "Notes"], [phone]).as_dict()
    {0: 'phone'}
    """
    keys = [normalise_header(header) for header in headers]
    names = [list(_names(spec)) for spec in fields]
    candidates: list[tuple[float, int, int, str]] = []
    for column, key in enumerate(keys):
        for field_index, field_names in enumerate(names):
            best, best_name = 0.0, ""
            for original, name, weight in field_names:
                score = _similarity(key, name) * weight
                if score > best:
                    best, best_name = score, original
            if best >= threshold:
                candidates.append((best, column, field_index, best_name))
    candidates.sort(key=lambda item: (-item[0], item[1], item[2]))
    taken_columns: dict[int, tuple[int, float, str]] = {}
    taken_fields: set[int] = set()
    for score, column, field_index, name in candidates:
        if column in taken_columns or field_index in taken_fields:
            continue
        taken_columns[column] = (field_index, score, name)
        taken_fields.add(field_index)
    matches = []
    for column, header in enumerate(headers):
        if column in taken_columns:
            field_index, score, name = taken_columns[column]
            matches.append(ColumnMatch(column, header, fields[field_index].key, round(score, 2), name))
        else:
            matches.append(ColumnMatch(column, header, None, 0.0))
    missing = tuple(spec.key for index, spec in enumerate(fields) if spec.required and index not in taken_fields)
    return HeaderMapping(tuple(matches), missing)
