"""The row engine of imports (issue #5): one code path for the dry run and the real run.

:func:`process_rows` turns the rows of a file into records through a declaration's
services, inside the caller's transaction (each row in a savepoint, so a refused row
leaves nothing behind). The caller decides whether the transaction commits (real run) or
is rolled back (dry run, ``transaction.set_rollback(True)``) — the rows are processed the
same way in both. Per row it reports create / update / unchanged / duplicate / error, with
every error tied to the file's column.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.utils.translation import gettext as _

from bizloom.common.errors import DomainError, ValidationFailed
from bizloom.crm.duplicates import DuplicateIndex, company_key
from bizloom.integration.importing.headers import FieldSpec
from bizloom.integration.importing.readers import RawRow
from bizloom.integration.imports.declarations import CUSTOM_PREFIX, EXTERNAL_ID, BuildContext, ImportDeclaration
from bizloom.integration.models import ExternalId, ImportBatchRow
from bizloom.platform import access

Outcome = ImportBatchRow.Outcome

DUPLICATE_SKIP, DUPLICATE_UPDATE, DUPLICATE_CREATE = "skip", "update", "create"
DUPLICATE_POLICIES = (DUPLICATE_SKIP, DUPLICATE_UPDATE, DUPLICATE_CREATE)
EXTERNAL_LINK_MARK = "__external_id_added__"
ROW_DELAY_ENV = "BIZLOOM_IMPORT_TEST_ROW_DELAY"
"""Seconds to sleep per row: only the killed-mid-run test sets it, to stop a run half-way."""


@dataclass
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
    counts: dict[str, int] = field(default_factory=lambda: {o.value: 0 for o in Outcome})

    def add(self, row: RowResult) -> None:
        """Record one row's result."""
        self.rows.append(row)
        self.counts[row.outcome] += 1


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
    policy = access.field_policy(user, declaration.model, "change")
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
        if model_field.is_relation:
            out[key] = getattr(instance, model_field.attname)  # type: ignore[union-attr]
        else:
            out[key] = to_json(getattr(instance, key))
    return out


def restore_data(model: type[models.Model], before: Mapping[str, Any]) -> dict[str, Any]:
    """The service data that puts back a :func:`snapshot` (ids become instances again)."""
    data: dict[str, Any] = {}
    for key, value in before.items():
        if key == EXTERNAL_LINK_MARK:
            continue
        if key == "custom_fields":
            data[key] = dict(value)
            continue
        model_field = model._meta.get_field(key)
        if model_field.is_relation and value is not None:
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


class Engine:
    """Processes the rows of one file for one user with one declaration (see the module docstring)."""

    def __init__(self, declaration: ImportDeclaration, *, user: Any, headers: Sequence[str],
                 mapping: Mapping[str, str], options: Options) -> None:
        self.declaration = declaration
        self.model = declaration.model
        self.user = user
        self.options = options
        self.columns = _Columns(headers, mapping)
        self.context = BuildContext(user=user)
        self.content_type = ContentType.objects.get_for_model(self.model)
        self.readable = access.restrict(self.model._default_manager.all(), user, "view")
        self.changeable = access.restrict(self.model._default_manager.all(), user, "change")
        self.may_add = access.can(user, self.model, "add")
        self.labels: dict[Any, str] = {}
        self.row_objects: dict[int, Any] = {}  # file row number → pk of the record it created or updated
        self.index: DuplicateIndex[Any] | None = None
        if declaration.duplicate_fields and declaration.duplicate_records is not None:
            records = []
            for pk, fields in declaration.duplicate_records(user):
                self.labels[pk] = str(fields.get("name") or pk)
                records.append((pk, fields))
            self.index = DuplicateIndex(records, field_names=declaration.duplicate_fields,
                                        name_key=declaration.duplicate_name_key or company_key)
        self.delay = float(os.environ.get(ROW_DELAY_ENV) or 0)

    def process(self, rows: Iterable[RawRow], *, progress: Callable[[int], None] | None = None) -> RunResult:
        """Process every row inside the caller's transaction; returns the results."""
        result = RunResult()
        for done, raw in enumerate(rows, start=1):
            row = self._row(raw)
            if row.outcome == Outcome.ERROR:
                row.values = list(raw.values)
            result.add(row)
            if self.delay:
                time.sleep(self.delay)
            if progress is not None and done % 50 == 0:
                progress(done)
        if progress is not None:
            progress(len(result.rows))
        return result

    # --- one row -------------------------------------------------------------------------

    def _row(self, raw: RawRow) -> RowResult:
        columns = self.columns
        errors = [{"column": columns.header_at(p.column), "field": "", "message": p.message}
                  for p in raw.problems if p.severity == "error"]
        if errors:
            return RowResult(raw.number, Outcome.ERROR, errors=errors)
        values = {key: raw.values[index] if index < len(raw.values) else ""
                  for key, index in columns.by_field.items()}
        external = values.pop(EXTERNAL_ID, "").strip()
        custom = {key[len(CUSTOM_PREFIX):]: values.pop(key).strip() for key in list(values)
                  if key.startswith(CUSTOM_PREFIX)} if self.declaration.custom_fields else {}
        cell_errors: dict[str, str] = {}
        data = self.declaration.build(values, self.context, cell_errors)
        custom = {key: text for key, text in custom.items() if text}
        if custom:
            data["custom_fields"] = custom
        if cell_errors:
            return RowResult(raw.number, Outcome.ERROR,
                             errors=[_error(columns, key, message) for key, message in cell_errors.items()])
        try:
            target = self._target(data, external)
        except _RowRefused as refused:
            return RowResult(raw.number, Outcome.ERROR, errors=[_error(columns, refused.key, refused.message)])
        note = ""
        if target is None and self.index is not None:
            matches = self.index.match_and_add(("row", raw.number), data)
            if matches:
                match = matches[0]
                other = match.record_id
                if isinstance(other, tuple):
                    label = _("row %(row)s of this file") % {"row": other[1]}
                    other_pk = self.row_objects.get(other[1])
                else:
                    label, other_pk = self.labels.get(other, str(other)), other
                note = _("duplicate of %(record)s (same %(rule)s)") % {"record": label, "rule": match.rule.value}
                if self.options.duplicates == DUPLICATE_SKIP or (
                        self.options.duplicates == DUPLICATE_UPDATE and other_pk is None):
                    return RowResult(raw.number, Outcome.DUPLICATE, object_id=str(other_pk or ""), label=label,
                                     note=note)
                if self.options.duplicates == DUPLICATE_UPDATE:
                    target = self.readable.filter(pk=other_pk).first()
                    if target is None or not self.changeable.filter(pk=other_pk).exists():
                        return RowResult(raw.number, Outcome.ERROR, errors=[_error(
                            columns, None, _("You may not change %(record)s, which this row duplicates.")
                            % {"record": label})])
        try:
            with transaction.atomic():
                row = self._write(raw.number, target, data, external)
        except ValidationFailed as failed:
            row = RowResult(raw.number, Outcome.ERROR, errors=self._service_errors(failed))
        except DomainError as failed:
            row = RowResult(raw.number, Outcome.ERROR, errors=[_error(columns, None, failed.message)])
        if note and row.outcome != Outcome.ERROR:
            row.note = note
        return row

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
        """The existing record this row updates (by external id, then natural key), or None."""
        if external and self.options.source:
            link = ExternalId.objects.filter(content_type=self.content_type, source=self.options.source,
                                             value=external).values_list("object_id", flat=True).first()
            if link is not None:
                found = self.readable.filter(pk=link).first()
                if found is None:
                    raise _RowRefused(EXTERNAL_ID, _("The external id “%(value)s” belongs to a record you may "
                                                     "not see.") % {"value": external})
                return self._changeable(found)
        for key in self.declaration.natural_keys:
            value = data.get(key)
            if value in (None, ""):
                continue
            found = self.readable.filter(**{key: value}).order_by("pk").first()
            if found is not None:
                return self._changeable(found)
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
            return RowResult(number, Outcome.CREATE, object_id=str(obj.pk), label=str(obj))
        before = snapshot(target, data)
        obj = self.declaration.update(target, data, self.user)
        after = snapshot(obj, data)
        linked = bool(external and self.options.source and self._link(obj, external))
        self.row_objects[number] = obj.pk
        if before == after and not linked:
            return RowResult(number, Outcome.UNCHANGED, object_id=str(obj.pk), label=str(obj))
        if linked:
            before[EXTERNAL_LINK_MARK] = [self.options.source, external]
        return RowResult(number, Outcome.UPDATE, object_id=str(obj.pk), label=str(obj), before=before)

    def _link(self, obj: models.Model, external: str) -> bool:
        """Remember ``external`` as ``obj``'s id in the source system; True when the link is new."""
        link, created = ExternalId.objects.get_or_create(
            content_type=self.content_type, source=self.options.source, value=external,
            defaults={"object_id": str(obj.pk)})
        if not created and link.object_id != str(obj.pk):
            raise ValidationFailed(_("The external id “%(value)s” already belongs to another record.")
                                   % {"value": external}, fields={EXTERNAL_ID: [_("Already in use.")]})
        return created


class _RowRefused(Exception):
    def __init__(self, key: str | None, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message
