"""The row engine of imports (issue #5): one code path for the dry run and the real run.

:class:`Engine` turns the rows of a file into records through a declaration's services,
inside the caller's transaction. The caller decides whether the transaction commits (real
run) or is rolled back (dry run, ``transaction.set_rollback(True)``) — the rows are
processed the same way in both. Per row it reports create / update / unchanged /
duplicate / error, with every error tied to the file's column.

Rows go in chunks (:data:`CHUNK_ROWS`). For a chunk the engine reads, with a few set-based
queries, the external ids and natural keys its rows name and which of those records the
user may read and change; then it decides row by row, in file order, as if each row were
alone. New records of a declaration with ``prepare``/``bulk_save`` are validated in Python
(``prepare`` raises what ``create`` would) and inserted together, with their audit entries,
events and external ids, when the chunk ends — on the background writer's thread
(:mod:`.writer`), while the engine reads the next chunk. Anything that depends on a record
written earlier (the file names the same key twice, a duplicate to update was created three
rows above, an update through the services) first waits for what is pending to be written and
then asks the database, so the outcome of every row is the one a row-by-row run gives. Updates
go through the ``update`` service one by one, each in a savepoint. If a bulk insert fails, its
rows are created again one by one through ``create`` (each in a savepoint), which reports the
row that fails.
"""

from __future__ import annotations

import contextlib
import gc
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import DatabaseError, models, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from bizloom.common.errors import DomainError, ValidationFailed, forget_frames
from bizloom.crm.duplicates import DuplicateIndex, Elsewhere, company_key
from bizloom.integration.importing.headers import FieldSpec
from bizloom.integration.importing.readers import RawRow
from bizloom.integration.imports.declarations import CUSTOM_PREFIX, EXTERNAL_ID, BuildContext, ImportDeclaration
from bizloom.integration.imports.writer import BackgroundWriter, WriteGroup
from bizloom.integration.models import ExternalId, ImportBatchRow

Outcome = ImportBatchRow.Outcome

DUPLICATE_SKIP, DUPLICATE_UPDATE, DUPLICATE_CREATE = "skip", "update", "create"
DUPLICATE_POLICIES = (DUPLICATE_SKIP, DUPLICATE_UPDATE, DUPLICATE_CREATE)
EXTERNAL_LINK_MARK = "__external_id_added__"
CHUNK_ROWS = 2000
CHUNK_ENV = "BIZLOOM_IMPORT_CHUNK_ROWS"
"""Rows per chunk; the environment variable overrides it (the killed-mid-run test uses small chunks)."""
ROW_DELAY_ENV = "BIZLOOM_IMPORT_TEST_ROW_DELAY"
"""Seconds to sleep per row: only the killed-mid-run test sets it, to stop a run half-way."""


@dataclass(slots=True)
class RowResult:
    """What happened (or would happen) to one row of the file."""

    number: int
    outcome: str
    object_id: str = ""
    label: str = ""
    note: str = ""
    before: dict[str, Any] | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    values: list[str] | None = None


@dataclass
class RunResult:
    """Per-row results and counts of one pass over a file."""

    rows: list[RowResult] = field(default_factory=list)

    def add(self, row: RowResult) -> None:
        """Record one row's result (a new record's outcome is final once its chunk is written)."""
        self.rows.append(row)

    @property
    def counts(self) -> dict[str, int]:
        """How many rows had each outcome."""
        counts = {o.value: 0 for o in Outcome}
        for row in self.rows:
            counts[row.outcome] += 1
        return counts


@dataclass(frozen=True)
class Options:
    """Per-file choices: what to do with duplicates and the external-id source name."""

    duplicates: str = DUPLICATE_SKIP
    source: str = ""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Options:
        """Options from a batch's stored ``options`` (unknown keys ignored)."""
        policy = str(data.get("duplicates") or DUPLICATE_SKIP)
        return cls(duplicates=policy if policy in DUPLICATE_POLICIES else DUPLICATE_SKIP,
                   source=str(data.get("source") or "").strip())


def mapping_problems(declaration: ImportDeclaration, user: Any, headers: Sequence[str],
                     mapping: Mapping[str, str], options: Options) -> dict[str, list[str]]:
    """Why a column mapping cannot be used, by column header (empty when it can).

    Refuses unknown fields, a field fed by two columns, hidden or read-only fields of the
    user (``field_policy(user, model, "change")``), required fields left unmapped, and an
    external-id column without a source name.
    """
    specs = {spec.key: spec for spec in declaration.field_specs(user)}
    policy = declaration.field_policy(user)
    problems: dict[str, list[str]] = {}
    used: dict[str, str] = {}
    for header, key in mapping.items():
        if not key:
            continue
        if header not in headers:
            problems.setdefault(header, []).append(_("The file has no column “%(column)s”.") % {"column": header})
        elif key not in specs:
            problems.setdefault(header, []).append(_("Unknown field “%(field)s”.") % {"field": key})
        elif key in policy.unwritable:
            problems.setdefault(header, []).append(
                _("You may not set the field “%(field)s”; remove it from the mapping.") % {"field": key})
        elif key in used:
            problems.setdefault(header, []).append(
                _("The column “%(other)s” already feeds this field.") % {"other": used[key]})
        else:
            used[key] = header
    for key, spec in specs.items():
        if spec.required and key not in used:
            problems.setdefault("", []).append(_("No column is mapped to the required field “%(field)s”.")
                                               % {"field": _label(spec)})
    if EXTERNAL_ID in used and not options.source:
        problems.setdefault(used[EXTERNAL_ID], []).append(
            _("Name the system the external ids come from (source)."))
    return problems


def _label(spec: FieldSpec) -> str:
    from django.utils import translation

    lang = (translation.get_language() or "en").lower()
    return spec.labels.get(lang) or spec.labels.get("en") or spec.key


def to_json(value: Any) -> Any:
    """A stored value as JSON (Decimal → str, dates → ISO, model → pk)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    return value


def snapshot(instance: models.Model, data: Mapping[str, Any]) -> dict[str, Any]:
    """The current values of the fields ``data`` writes, as JSON (foreign keys as ids)."""
    out: dict[str, Any] = {}
    for key in data:
        if key == "custom_fields":
            custom = getattr(instance, "custom_data", None) or {}
            out[key] = {name: to_json(custom.get(name)) for name in data[key]}
            continue
        model_field = instance._meta.get_field(key)
        if model_field.many_to_many:
            out[key] = sorted(getattr(instance, key).values_list("pk", flat=True)) if instance.pk else []
        elif model_field.is_relation:
            out[key] = getattr(instance, model_field.attname)  # type: ignore[union-attr]
        else:
            out[key] = to_json(getattr(instance, key))
    return out


def restore_data(model: type[models.Model], before: Mapping[str, Any]) -> dict[str, Any]:
    """The service data that puts back a :func:`snapshot` (ids become instances again; what a
    declaration's ``snapshot_extra`` added under a reverse relation's name, as it was)."""
    data: dict[str, Any] = {}
    for key, value in before.items():
        if key == EXTERNAL_LINK_MARK:
            continue
        if key == "custom_fields":
            data[key] = dict(value)
            continue
        model_field = model._meta.get_field(key)
        if model_field.auto_created and not model_field.concrete:  # a declaration's snapshot_extra (lines)
            data[key] = value
            continue
        if model_field.many_to_many:
            data[key] = list(model_field.related_model._default_manager.filter(pk__in=value or []))  # type: ignore[union-attr]
        elif model_field.is_relation and value is not None:
            data[key] = model_field.related_model._default_manager.get(pk=value)  # type: ignore[union-attr]
        else:
            data[key] = value
    return data


class _Columns:
    """Which column index feeds which field, and back."""

    def __init__(self, headers: Sequence[str], mapping: Mapping[str, str]) -> None:
        self.headers = list(headers)
        self.by_field: dict[str, int] = {}
        for index, header in enumerate(headers):
            key = mapping.get(header)
            if key:
                self.by_field[key] = index

    def header_of(self, key: str) -> str | None:
        index = self.by_field.get(key)
        return self.headers[index] if index is not None else None

    def header_at(self, column: int | None) -> str | None:
        if column is None or not 1 <= column <= len(self.headers):
            return None
        return self.headers[column - 1]


def _error(columns: _Columns, key: str | None, message: str) -> dict[str, Any]:
    header = columns.header_of(key) if key else None
    return {"column": header, "field": key or "", "message": message}


GC_THRESHOLD = 1_000_000
"""Young-generation threshold of Python's cyclic GC while the engine runs (Python's default: 700).

High enough that a run of 100,000 rows does not collect until it ends: such a run leaves almost no
cyclic garbage (a few thousand small ``ValidationError`` s, which refer to themselves, without their
frames: see :meth:`Engine._refusal`), and each young collection walked every object kept since the
one before (the rows' results, the chunk in flight) to find next to nothing. At 50,000 that was 23
collections, 0.5–0.7 s, a run, and the rows took 13% longer (ten interleaved runs, session 5). A
bigger file still collects, every million objects kept."""
GC_OLDEST_THRESHOLD = 1_000_000
"""Collections of the middle generation between two of the oldest while the engine runs (default: 10)."""


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """Collect cyclic garbage less often while rows are processed, and never the oldest generation
    (restored afterwards).

    A run keeps hundreds of thousands of objects alive (the duplicate index, per-row results)
    and allocates millions of short-lived ones. With the default thresholds the collector runs
    every 700 allocations, and every so often walks *everything* that is alive to find nothing:
    a third of the run before the young threshold was raised, and still a quarter at 100,000
    rows (``bench_import_contacts``: 8,700 → 11,300 rows/s without full collections). Young
    collections still run, rarely (:data:`GC_THRESHOLD`), so garbage cycles made during a long run
    are freed; the full collection simply waits until the run is over.
    """
    previous = gc.get_threshold()
    gc.set_threshold(max(previous[0], GC_THRESHOLD), previous[1], max(previous[2], GC_OLDEST_THRESHOLD))
    try:
        yield
    finally:
        gc.set_threshold(*previous)


class _Pending:
    """A new record validated by ``prepare`` and waiting for the chunk's bulk insert."""

    __slots__ = ("data", "duplicates", "external", "instance", "row", "values")

    def __init__(self, row: RowResult, instance: Any, data: dict[str, Any], external: str,
                 values: list[str]) -> None:
        self.row = row
        self.instance = instance
        self.data = data
        self.external = external
        self.values = values  # the row's cells, for the error file if it fails after all
        self.duplicates: list[RowResult] = []  # rows skipped as its duplicates: they show its id once inserted


class Engine:
    """Processes the rows of one file for one user with one declaration (see the module docstring)."""

    def __init__(self, declaration: ImportDeclaration, *, user: Any, headers: Sequence[str],
                 mapping: Mapping[str, str], options: Options, chunk_rows: int | None = None) -> None:
        self.declaration = declaration
        self.model = declaration.model
        self.user = user
        self.options = options
        self.columns = _Columns(headers, mapping)
        self._mapped = tuple(self.columns.by_field.items())
        self._has_external = EXTERNAL_ID in self.columns.by_field
        self._custom_keys = tuple(key for key in self.columns.by_field if key.startswith(CUSTOM_PREFIX)
                                  ) if declaration.custom_fields else ()
        self.context = BuildContext(user=user, source=options.source)
        self.content_type = ContentType.objects.get_for_model(self.model)
        self.readable = declaration.queryset(user, "view")
        self.changeable = declaration.queryset(user, "change")
        self.may_add = declaration.may(user, "add")
        self.bulk = declaration.prepare is not None and declaration.bulk_save is not None
        self.labels: dict[Any, str] = {}
        # file row number → pk of the record it created or updated (a _Pending until inserted)
        self.row_objects: dict[int, Any] = {}
        self.pending: list[_Pending] = []
        self.in_flight: list[_Pending] = []  # handed to the writer, not yet known to be written
        self.writer: BackgroundWriter | None = None
        self.chunk_rows = 1 if declaration.row_by_row else max(
            1, chunk_rows or int(os.environ.get(CHUNK_ENV) or CHUNK_ROWS))
        # What the current chunk's look-ups read, and what rows of the chunk changed since.
        self._links: dict[str, str] = {}
        # natural key (its fields) → the key's value (one part per field) → pk of the first readable record
        self._keys = declaration.key_fields
        self._natural: dict[tuple[str, ...], dict[tuple[Any, ...], Any]] = {}
        self._found: dict[Any, Any] = {}
        self._changeable_pks: set[Any] = set()
        self._touched_external: set[str] = set()
        self._touched_keys: dict[tuple[str, ...], set[tuple[Any, ...]]] = {key: set() for key in self._keys}
        self._touched_pks: set[Any] = set()
        self.index: DuplicateIndex[Any] | None = None
        if declaration.duplicate_fields and (declaration.duplicate_records is not None
                                             or declaration.duplicate_keys is not None
                                             or declaration.duplicate_elsewhere is not None):
            with fewer_collections():
                self._build_index(declaration, user)
        self.delay = float(os.environ.get(ROW_DELAY_ENV) or 0)
        self.result = RunResult()
        self._chunk_start = 0
        self._results: Callable[[WriteGroup, list[RowResult]], None] | None = None
        self._results_written = self._results_in_flight = 0  # rows stored, and where the group in flight began

    def _build_index(self, declaration: ImportDeclaration, user: Any) -> None:
        """The duplicate index of the records the user may read (and their labels)."""
        assert declaration.duplicate_fields is not None
        index: DuplicateIndex[Any] = DuplicateIndex(field_names=declaration.duplicate_fields,
                                                    name_key=declaration.duplicate_name_key or company_key)
        if declaration.duplicate_keys is not None:
            labels, stored = self.labels, declaration.duplicate_keys

            def keyed() -> Iterator[tuple[Any, Iterable[tuple[Any, str]]]]:
                for pk, label, keys in stored(user):
                    labels[pk] = label or str(pk)
                    yield pk, keys

            index.add_keys(keyed())
        for pk, fields in declaration.duplicate_records(user) if declaration.duplicate_records is not None else ():
            name = fields.get("name")
            self.labels[pk] = name if name and type(name) is str else str(name or pk)
            for variant in declaration.variants(fields):
                index.add(pk, variant)
        if declaration.duplicate_elsewhere is not None:  # other kinds of record: compared, never updated
            for elsewhere, fields in declaration.duplicate_elsewhere(user):
                self.labels[elsewhere] = elsewhere.label
                index.add(elsewhere, fields)
        self.index = index

    def process(self, rows: Iterable[RawRow], *, progress: Callable[[int], None] | None = None,
                first: Callable[[WriteGroup], None] | None = None,
                results: Callable[[WriteGroup, list[RowResult]], None] | None = None) -> RunResult:
        """Process every row inside the caller's transaction; returns the results.

        ``progress(rows_done)`` is called after every chunk. The caller's own writes go on the
        writer's thread too, in the run's transaction; if one fails, the run fails:
        ``first(group)`` queues writes that go before the rows' own, while the first chunk is read
        (the real run replaces the dry run's results so); ``results(group, rows)`` queues the
        storing of rows whose outcome is final, a chunk behind the records (the real run stores
        its per-row results while it goes).
        """
        self._results, self._results_written, self._results_in_flight = results, 0, 0
        with fewer_collections(), BackgroundWriter(self.model) as self.writer:
            if first is not None:
                group = self.writer.group()
                first(group)
                self.writer.submit(group)
            try:
                return self._process(rows, progress)
            finally:
                self.writer = None

    def _process(self, rows: Iterable[RawRow], progress: Callable[[int], None] | None) -> RunResult:
        self.result = result = RunResult()
        chunk: list[RawRow] = []
        for raw in rows:
            chunk.append(raw)
            if len(chunk) >= self.chunk_rows:
                self._chunk(chunk, result)
                chunk = []
                if progress is not None:
                    progress(len(result.rows))
        if chunk:
            self._chunk(chunk, result)
        self._flush(wait=True)
        if self._results is not None and self.writer is not None:  # every outcome is final now
            group = self.writer.group()
            self._queue_results(group, len(result.rows))
            self.writer.submit(group)
            self._settle()
        if progress is not None:
            progress(len(result.rows))
        return result

    def _queue_results(self, group: WriteGroup, final: int) -> None:
        """Queue the storing of the rows before ``final`` not stored yet (the caller's ``results``)."""
        if self._results is None or final <= self._results_written:
            return
        self._results(group, self.result.rows[self._results_written:final])
        self._results_in_flight, self._results_written = self._results_written, final

    # --- one chunk -----------------------------------------------------------------------

    def _chunk(self, chunk: list[RawRow], result: RunResult) -> None:
        self._chunk_start = len(result.rows)  # the rows before it are final once the previous group is settled
        built = [self._build(raw) for raw in chunk]
        self._prefetch([item for item in built if not isinstance(item, RowResult)])
        for raw, item in zip(chunk, built, strict=True):
            row = item if isinstance(item, RowResult) else self._decide(raw.number, *item, raw.values)
            if row.outcome == Outcome.ERROR:
                row.values = list(raw.values)
            result.add(row)
            if self.delay:
                time.sleep(self.delay)
        self._flush()

    def _build(self, raw: RawRow) -> RowResult | tuple[dict[str, Any], str]:
        """The service data and external id of a row, or its error result."""
        columns = self.columns
        if raw.problems:
            errors = [{"column": columns.header_at(p.column), "field": "", "message": p.message}
                      for p in raw.problems if p.severity == "error"]
            if errors:
                return RowResult(raw.number, Outcome.ERROR, errors=errors)
        cells = raw.values
        width = len(cells)
        values = {key: cells[index] if index < width else "" for key, index in self._mapped}
        external = values.pop(EXTERNAL_ID, "").strip() if self._has_external else ""
        if self._custom_keys:
            custom = {key[len(CUSTOM_PREFIX):]: text for key in self._custom_keys if (text := values.pop(key).strip())}
        cell_errors: dict[str, str] = {}
        data = self.declaration.build(values, self.context, cell_errors)
        if self._custom_keys and custom:
            data["custom_fields"] = custom
        if cell_errors:
            return RowResult(raw.number, Outcome.ERROR,
                             errors=[_error(columns, key, message) for key, message in cell_errors.items()])
        return data, external

    def _prefetch(self, built: list[tuple[dict[str, Any], str]]) -> None:
        """Read, set-based, the records the chunk's external ids and natural keys name."""
        self._links, self._natural, self._found, self._changeable_pks = {}, {}, {}, set()
        if self.declaration.natural_keys or (self.options.source and any(external for _data, external in built)):
            self._settle()  # what it reads may be what the previous chunk is writing
        self._touched_external.clear()
        self._touched_pks.clear()
        for touched in self._touched_keys.values():
            touched.clear()
        candidates: set[Any] = set()
        to_pk = self.model._meta.pk.to_python
        externals = {external for _data, external in built if external}
        if externals and self.options.source:
            self._links = dict(ExternalId.objects.filter(
                content_type=self.content_type, source=self.options.source, value__in=externals,
            ).values_list("value", "object_id"))
            candidates.update(to_pk(pk) for pk in self._links.values())
        for fields in self._keys:
            first = self._records_with_keys(fields, {key_value(data, fields) for data, _external in built})
            self._natural[fields] = first
            candidates.update(first.values())
        if candidates:
            self._found = self.readable.in_bulk(candidates)
            self._changeable_pks = set(self.changeable.filter(pk__in=candidates).values_list("pk", flat=True))

    def _records_with_keys(self, fields: tuple[str, ...], wanted: set[tuple[Any, ...] | None]) -> dict[Any, Any]:
        """The ``wanted`` values of natural key ``fields`` (see :func:`key_value`; None is ignored) that
        readable records have, each mapped to the pk of the first such record."""
        wanted.discard(None)
        if not wanted:
            return {}
        found: dict[Any, Any] = {}
        condition = Q()
        for position, name in enumerate(fields):
            given = {value[position] for value in wanted if value is not None}
            part = Q(**{f"{name}__in": given - {None}})
            if None in given:  # "no parent": NULL, or an empty text
                part |= Q(**{f"{name}__isnull": True})
                if not self.model._meta.get_field(name).is_relation:
                    part |= Q(**{name: ""})
            condition &= part
        for *parts, pk in self.readable.filter(condition).order_by("pk").values_list(*fields, "pk"):
            value = tuple(_key_part(part) for part in parts)
            if value in wanted:
                found.setdefault(value, pk)
        return found

    # --- one row -------------------------------------------------------------------------

    def _decide(self, number: int, data: dict[str, Any], external: str, values: list[str]) -> RowResult:
        columns = self.columns
        try:
            target = self._target(data, external)
        except _RowRefused as refused:
            return RowResult(number, Outcome.ERROR, errors=[_error(columns, refused.key, refused.message)])
        note = ""
        if target is None and self.index is not None:
            matches = self._matches(number, data)
            if matches:
                match = matches[0]
                if self.options.duplicates == DUPLICATE_UPDATE:  # a record the row can update comes first
                    match = next((m for m in matches if not isinstance(m.record_id, Elsewhere)), match)
                other = match.record_id
                pending_other = None
                if isinstance(other, Elsewhere):
                    label, other_pk = other.label, None  # another kind of record: never the one a row updates
                elif isinstance(other, tuple):
                    label = _("row %(row)s of this file") % {"row": other[1]}
                    other_pk = self.row_objects.get(other[1])
                    if isinstance(other_pk, _Pending):
                        if self.options.duplicates == DUPLICATE_UPDATE:
                            other_pk = self._row_pk(other[1])
                        else:  # its id is known once the chunk is inserted: no need to insert now
                            pending_other, other_pk = other_pk, None
                else:
                    label, other_pk = self.labels.get(other, str(other)), other
                note = _("duplicate of %(record)s (same %(rule)s)") % {"record": label, "rule": match.rule.value}
                if pending_other is not None and self.options.duplicates == DUPLICATE_SKIP:
                    skipped = RowResult(number, Outcome.DUPLICATE, label=label, note=note)
                    pending_other.duplicates.append(skipped)
                    return skipped
                if self.options.duplicates == DUPLICATE_SKIP or (
                        self.options.duplicates == DUPLICATE_UPDATE and other_pk is None):
                    return RowResult(number, Outcome.DUPLICATE, object_id=str(other_pk or ""), label=label, note=note)
                if self.options.duplicates == DUPLICATE_UPDATE:
                    target = self.readable.filter(pk=other_pk).first()
                    if target is None or not self.changeable.filter(pk=other_pk).exists():
                        return RowResult(number, Outcome.ERROR, errors=[_error(
                            columns, None, _("You may not change %(record)s, which this row duplicates.")
                            % {"record": label})])
        if target is None and self.bulk and self.may_add:
            row = self._prepare(number, data, external, values)
        else:
            self._settle()  # the services may read what the writer is writing
            try:
                with transaction.atomic():
                    row = self._write(number, target, data, external)
            except DomainError as failed:
                row = RowResult(number, Outcome.ERROR, errors=self._refusal(failed))
        if note and row.outcome != Outcome.ERROR:
            row.note = note
        return row

    def _matches(self, number: int, data: Mapping[str, Any]) -> list[Any]:
        assert self.index is not None
        record_id = ("row", number)
        if self.declaration.duplicate_variants is None:
            return self.index.match_and_add(record_id, data)
        return self.index.match_and_add_variants(record_id, self.declaration.duplicate_variants(data))

    def _row_pk(self, number: int) -> Any:
        """The pk of what row ``number`` created or updated (its record written first), or None."""
        if number in self.row_objects:
            self._flush(wait=True)
        return self.row_objects.get(number)

    def _prepare(self, number: int, data: dict[str, Any], external: str, values: list[str]) -> RowResult:
        assert self.declaration.prepare is not None
        try:  # prepare writes nothing (its contract), so it needs no savepoint
            instance = self.declaration.prepare(data, self.context)
        except DomainError as failed:
            return RowResult(number, Outcome.ERROR, errors=self._refusal(failed))
        row = RowResult(number, Outcome.CREATE, label=str(instance))
        pending = _Pending(row, instance, data, external if self.options.source else "", values)
        self.pending.append(pending)
        self.row_objects[number] = pending
        if external or self._touched_keys:  # a new record has no key yet: only these can be touched
            self._touch(instance, external, data)
        return row

    def _touch(self, obj: models.Model, external: str, *values: Mapping[str, Any]) -> None:
        """Remember what a written row changed, so later rows of the chunk do not trust the prefetch for it."""
        if external:
            self._touched_external.add(external)
        if obj.pk is not None:
            self._touched_pks.add(obj.pk)
        for fields, touched in self._touched_keys.items():
            for source in (_attributes(obj, fields), *values):
                value = key_value(source, fields)
                if value is not None:
                    touched.add(value)

    def _flush(self, *, wait: bool = False) -> None:
        """Hand the pending new records to the writer as one group, after the previous group is settled.

        ``wait``: return only once they are written (or created one by one after a failure).
        If building the group fails (a key cannot be reserved, ``bulk_save`` refuses), the
        records are created one by one through ``create`` at once.
        """
        self._settle()
        if not self.pending:
            return
        pending, self.pending = self.pending, []
        assert self.declaration.bulk_save is not None
        assert self.writer is not None
        group = self.writer.group()
        try:
            with transaction.atomic():  # keys are reserved here; the rows are written by the writer
                self.declaration.bulk_save([item.instance for item in pending], self.user, group)
                group.insert(ExternalId, [ExternalId(content_type=self.content_type, object_id=str(item.instance.pk),
                                                     source=self.options.source, value=item.external)
                                          for item in pending if item.external])
        except (DatabaseError, DomainError):
            for item in pending:
                self._create_one(item)
            return
        for item in pending:
            item.row.object_id = str(item.instance.pk)
            self.row_objects[item.row.number] = item.instance.pk
            for duplicate in item.duplicates:
                duplicate.object_id = item.row.object_id
        self._queue_results(group, self._chunk_start)
        self.writer.submit(group)
        self.in_flight = pending
        if wait or group.callbacks:
            self._settle()

    def _settle(self) -> None:
        """Wait for the group the writer is writing; if it failed, create its records one by one."""
        if self.writer is None:
            return
        pending, self.in_flight = self.in_flight, []
        error = self.writer.settle()
        if error is None:
            self._results_in_flight = self._results_written
            return
        if not pending or not isinstance(error, DatabaseError | DomainError):
            raise error  # no records to create one by one instead: the caller's own writes failed
        self._results_written = self._results_in_flight  # the group's results are undone with it: queue them again
        for item in pending:
            self._create_one(item)

    def _create_one(self, item: _Pending) -> None:
        row = item.row
        try:
            with transaction.atomic():
                written = self._write(row.number, None, item.data, item.external)
        except DomainError as failed:
            written = RowResult(row.number, Outcome.ERROR, errors=self._refusal(failed))
        if written.outcome == Outcome.ERROR:
            self.row_objects.pop(row.number, None)
        else:
            for duplicate in item.duplicates:
                duplicate.object_id = written.object_id
        row.outcome, row.object_id, row.label, row.errors = (written.outcome, written.object_id,
                                                             written.label or row.label, written.errors)
        if written.outcome == Outcome.ERROR:
            row.note = ""
            row.values = list(item.values)

    def _refusal(self, failed: DomainError) -> list[dict[str, Any]]:
        """The row's errors for a service's refusal: per field for ValidationFailed, else its message.

        The error and those it came from lose their tracebacks first (:func:`forget_frames`).
        """
        forget_frames(failed)
        if isinstance(failed, ValidationFailed):
            return self._service_errors(failed)
        return [_error(self.columns, None, failed.message)]

    def _service_errors(self, failed: ValidationFailed) -> list[dict[str, Any]]:
        errors = []
        for key, messages in (failed.fields or {}).items():
            known = key if key in self.columns.by_field else None
            for message in messages:
                text = str(message)
                if known is None and key not in ("__all__", ""):
                    text = f"{key}: {text}"
                errors.append(_error(self.columns, known, text))
        return errors or [_error(self.columns, None, failed.message)]

    def _target(self, data: Mapping[str, Any], external: str) -> Any:
        """The existing record this row updates (by external id, then natural key), or None.

        Answers from the chunk's prefetch unless a row of this chunk wrote something the
        look-up depends on; then it writes what is pending and asks the database.
        """
        if not external and not self._keys:  # nothing to look up (a file of new contacts)
            return None
        if self._depends_on_chunk(data, external):
            self._flush(wait=True)
            return self._target_now(data, external)
        if external and self.options.source:
            link = self._links.get(external)
            if link is not None:
                found = self._found.get(self.model._meta.pk.to_python(link))
                if found is None:
                    raise _RowRefused(EXTERNAL_ID, _("The external id “%(value)s” belongs to a record you may "
                                                     "not see.") % {"value": external})
                return self._changeable_prefetched(found)
        for fields in self._keys:
            value = key_value(data, fields)
            if value is None:
                continue
            pk = self._natural.get(fields, {}).get(value)
            if pk is not None:
                return self._changeable_prefetched(self._found[pk])
        return None

    def _depends_on_chunk(self, data: Mapping[str, Any], external: str) -> bool:
        if external and external in self._touched_external:
            return True
        if external and self.options.source:
            link = self._links.get(external)
            if link is not None and self.model._meta.pk.to_python(link) in self._touched_pks:
                return True
        for fields, touched in self._touched_keys.items():
            value = key_value(data, fields)
            if value is None:
                continue
            if value in touched:
                return True
            pk = self._natural.get(fields, {}).get(value)
            if pk is not None and pk in self._touched_pks:
                return True
        return False

    def _changeable_prefetched(self, found: Any) -> Any:
        if found.pk not in self._changeable_pks:
            raise _RowRefused(None, _("You may not change %(record)s.") % {"record": found})
        return found

    def _target_now(self, data: Mapping[str, Any], external: str) -> Any:
        """:meth:`_target` from the database (after the pending records are written)."""
        if external and self.options.source:
            link = ExternalId.objects.filter(content_type=self.content_type, source=self.options.source,
                                             value=external).values_list("object_id", flat=True).first()
            if link is not None:
                found = self.readable.filter(pk=link).first()
                if found is None:
                    raise _RowRefused(EXTERNAL_ID, _("The external id “%(value)s” belongs to a record you may "
                                                     "not see.") % {"value": external})
                return self._changeable(found)
        for fields in self._keys:
            value = key_value(data, fields)
            pk = None if value is None else self._records_with_keys(fields, {value}).get(value)
            if pk is not None:
                return self._changeable(self.readable.get(pk=pk))
        return None

    def _changeable(self, found: Any) -> Any:
        if not self.changeable.filter(pk=found.pk).exists():
            raise _RowRefused(None, _("You may not change %(record)s.") % {"record": found})
        return found

    def _write(self, number: int, target: Any, data: dict[str, Any], external: str) -> RowResult:
        if target is None:
            if not self.may_add:
                raise DomainError(_("You may not create %(model)s.") % {
                    "model": self.model._meta.verbose_name_plural})
            obj = self.declaration.create(data, self.user)
            if external and self.options.source:
                self._link(obj, external)
            self.row_objects[number] = obj.pk
            self._touch(obj, external, data)
            return RowResult(number, Outcome.CREATE, object_id=str(obj.pk), label=str(obj))
        before = self._snapshot(target, data)
        old_keys = _attributes(target, [name for fields in self._keys for name in fields])
        obj = self.declaration.update(target, data, self.user)
        after = self._snapshot(obj, data)
        linked = bool(external and self.options.source and self._link(obj, external))
        self.row_objects[number] = obj.pk
        self._touch(obj, external, old_keys, data)
        if before == after and not linked:
            return RowResult(number, Outcome.UNCHANGED, object_id=str(obj.pk), label=str(obj))
        if linked:
            before[EXTERNAL_LINK_MARK] = [self.options.source, external]
        return RowResult(number, Outcome.UPDATE, object_id=str(obj.pk), label=str(obj), before=before)

    def _snapshot(self, obj: models.Model, data: Mapping[str, Any]) -> dict[str, Any]:
        state = snapshot(obj, data)
        if self.declaration.snapshot_extra is not None:
            state.update(self.declaration.snapshot_extra(obj, data))
        return state

    def _link(self, obj: models.Model, external: str) -> bool:
        """Remember ``external`` as ``obj``'s id in the source system; True when the link is new."""
        link, created = ExternalId.objects.get_or_create(
            content_type=self.content_type, source=self.options.source, value=external,
            defaults={"object_id": str(obj.pk)})
        if not created and link.object_id != str(obj.pk):
            raise ValidationFailed(_("The external id “%(value)s” already belongs to another record.")
                                   % {"value": external}, fields={EXTERNAL_ID: [_("Already in use.")]})
        return created


def key_value(data: Mapping[str, Any], fields: Sequence[str]) -> tuple[Any, ...] | None:
    """The value of the natural key ``fields`` in a row's ``data`` (or a record's attributes): one part
    per field, a record as its pk and an empty text as None; None when no part is given."""
    value = tuple(_key_part(data.get(name)) for name in fields)
    return None if all(part is None for part in value) else value


def _key_part(part: Any) -> Any:
    if part is None or part == "":
        return None
    return part.pk if isinstance(part, models.Model) else part


def _attributes(obj: Any, names: Iterable[str]) -> dict[str, Any]:
    return {name: getattr(obj, name, None) for name in names}


class _RowRefused(Exception):
    def __init__(self, key: str | None, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message
