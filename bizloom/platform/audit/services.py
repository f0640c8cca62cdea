"""Writing the audit trail: snapshots, field-by-field diffs and bulk entries (issue #3).

A service takes a snapshot before it changes a record and one after, then records the
difference::

    before = audit.snapshot(account)
    ...change and save account...
    audit.record_change(account, actor=actor, action="update", before=before, after=audit.snapshot(account))

Creation passes ``before=None``, deletion ``after=None``. Services that write with
``QuerySet.update()`` or ``bulk_create()`` call :func:`record_bulk`. The channel and request
id come from :mod:`bizloom.platform.middleware_context` unless given.
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone

from bizloom.platform import middleware_context as ctx
from bizloom.platform.audit.models import AuditEntry
from bizloom.platform.models import User

CUSTOM_DATA_FIELD = "custom_data"
CUSTOM_PREFIX = "cf_"
REPR_MAX = 200

Snapshot = dict[str, Any]
Changes = dict[str, list[Any]]


def reference(obj: models.Model | None) -> dict[str, Any] | None:
    """``{"id": pk, "repr": str(obj)}`` for a referenced record; None for no reference."""
    if obj is None:
        return None
    return {"id": obj.pk, "repr": str(obj)[:REPR_MAX]}


def to_json(value: Any) -> Any:
    """``value`` as JSON-safe data: Decimal → string, dates/times ISO 8601, records as references.

    Lists, tuples and dicts are converted recursively; anything else unknown becomes ``str``.
    """
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return reference(value)
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_json(v) for v in value]
    return str(value)


def _field_value(instance: models.Model, field: models.Field[Any, Any]) -> Any:
    if field.is_relation:
        if getattr(instance, field.attname) is None:
            return None
        return reference(getattr(instance, field.name))
    return _column_json(field, getattr(instance, field.attname))


def _column_json(field: models.Field[Any, Any], value: Any) -> Any:
    """The audited JSON of a (non-relation) field's value."""
    if isinstance(value, decimal.Decimal) and isinstance(field, models.DecimalField) and value.is_finite():
        # Compare at the column's scale: "12.34" typed in and "12.3400" read back are the same value.
        try:
            value = value.quantize(decimal.Decimal(1).scaleb(-(field.decimal_places or 0)))
        except decimal.InvalidOperation:  # more digits than the context holds: keep as typed
            pass
    return to_json(value)


def _is_audited(field: models.Field[Any, Any]) -> bool:
    if field.primary_key or field.name == CUSTOM_DATA_FIELD:
        return False
    # Timestamps maintained by Django change on every save and say nothing about the change.
    return not (getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False))


def snapshot(instance: models.Model) -> Snapshot:
    """The audited state of ``instance``: concrete fields plus custom data as ``cf_<key>``.

    Values are JSON-safe (see :func:`to_json`); the primary key, auto-maintained
    timestamps and the fields a model lists in ``audit_ignore`` (derived values) are left out.
    Reading a reference's ``repr`` may load the referenced row.
    """
    state: Snapshot = {}
    ignored: frozenset[str] = getattr(instance, "audit_ignore", frozenset())
    for field in instance._meta.concrete_fields:
        if _is_audited(field) and field.name not in ignored:
            state[field.name] = _field_value(instance, field)
    custom = getattr(instance, CUSTOM_DATA_FIELD, None)
    if isinstance(custom, Mapping):
        for key, value in custom.items():
            state[f"{CUSTOM_PREFIX}{key}"] = to_json(value)
    return state


@functools.cache
def _audited_fields(model: type[models.Model], ignored: frozenset[str]) -> tuple[tuple[Any, str, str, bool], ...]:
    return tuple((field, field.name, field.attname, bool(field.is_relation)) for field in model._meta.concrete_fields
                 if _is_audited(field) and field.name not in ignored)


@functools.cache
def _model_audited_fields(model: type[models.Model]) -> tuple[tuple[Any, str, str, bool], ...]:
    """:func:`_audited_fields` less the model's own ``audit_ignore`` (per model: a bulk writer asks once a record)."""
    return _audited_fields(model, frozenset(getattr(model, "audit_ignore", ())))


_PLAIN_TYPES = frozenset({str, bool, int, float})


def creation_changes(instance: models.Model, references: dict[int, Any] | None = None) -> Changes:
    """``diff(None, snapshot(instance))`` — the changes of a "create" entry — with less work per record.

    For bulk writers (the importer creates thousands of records a second): the audited fields
    are listed once per model, plain values (str, bool, int, float) are taken as they are, and
    only other values go through :func:`snapshot`'s conversion. Same keys, same order, same values.
    ``references`` (a dict the caller keeps for one batch of records it does not change meanwhile)
    remembers :func:`reference` per referenced object, so the owner's name is built once, not per record.
    """
    ignored: frozenset[str] = getattr(instance, "audit_ignore", frozenset())
    loaded = instance.__dict__
    for _field, _name, attname, _is_relation in _audited_fields(type(instance), frozenset(ignored)):
        if attname not in loaded:
            getattr(instance, attname)  # a deferred field: loads it
    return creation_changes_of(type(instance), loaded, instance._state.fields_cache, references,
                               load=lambda name: getattr(instance, name), ignored=ignored)


def creation_changes_of(model: type[models.Model], values: Mapping[str, Any], related: Mapping[str, Any],
                        references: dict[int, Any] | None = None, *, load: Callable[[str], Any] | None = None,
                        ignored: frozenset[str] | None = None) -> Changes:
    """:func:`creation_changes` of a new ``model`` record given as its column values (``values`` by
    attname, as a bulk writer holds them, ``custom_data`` included) and the records its foreign keys
    point to (``related`` by field name; one that is missing or has another key is read, or
    ``load(name)`` gives it)."""
    fields = _model_audited_fields(model) if ignored is None else _audited_fields(model, frozenset(ignored))
    changes: Changes = {}
    for field, name, attname, is_relation in fields:
        value = values[attname]
        if value is None:
            continue
        if is_relation:
            target = related.get(name)
            if target is None or target.pk != value:
                target = load(name) if load is not None else field.related_model._base_manager.get(pk=value)
            if references is None:
                changes[name] = [None, reference(target)]
            else:
                known = references.get(id(target))
                if known is None or known[0] is not target:
                    known = references[id(target)] = (target, reference(target))
                changes[name] = [None, known[1]]
        elif type(value) in _PLAIN_TYPES:
            if value != "":
                changes[name] = [None, value]
        elif not _is_blank(value := _column_json(field, value)):
            changes[name] = [None, value]
    custom = values.get(CUSTOM_DATA_FIELD)
    if isinstance(custom, Mapping):
        for key, raw in custom.items():
            value = to_json(raw)
            if not _is_blank(value):
                changes[f"{CUSTOM_PREFIX}{key}"] = [None, value]
    return changes


def _same(old: Any, new: Any) -> bool:
    if isinstance(old, dict) and isinstance(new, dict) and "id" in old and "id" in new:
        return bool(old["id"] == new["id"])  # a reference whose target was renamed is unchanged
    return bool(old == new)


def _is_blank(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def diff(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> Changes:
    """``{field: [old, new]}`` for every field that differs.

    With ``before=None`` (creation) or ``after=None`` (deletion) blank values are left out.
    """
    if before is None and after is None:
        return {}
    if before is None:
        return {name: [None, value] for name, value in (after or {}).items() if not _is_blank(value)}
    if after is None:
        return {name: [value, None] for name, value in before.items() if not _is_blank(value)}
    changes: Changes = {}
    for name in [*before, *(key for key in after if key not in before)]:
        old, new = before.get(name), after.get(name)
        if not _same(old, new):
            changes[name] = [old, new]
    return changes


def record_change(instance: models.Model, *, actor: User | None, action: str, before: Mapping[str, Any] | None,
                  after: Mapping[str, Any] | None, channel: str | None = None) -> AuditEntry | None:
    """Write one audit entry for ``instance`` with the difference between two snapshots.

    Writes nothing and returns None when both snapshots are given and equal (an update
    that changed nothing). ``channel`` defaults to the current context's channel; the
    request id always comes from the context. Call it inside the service's transaction
    and, for deletions, before deleting (the entry needs the primary key).
    Raises ValueError for an unsaved instance or an unknown channel.
    """
    if instance.pk is None:
        raise ValueError("record_change() needs a saved instance (record deletions before deleting).")
    changes = diff(before, after)
    if before is not None and after is not None and not changes:
        return None
    context = ctx.current()
    channel = channel or context.channel
    if channel not in ctx.CHANNELS:
        raise ValueError(f"Unknown channel {channel!r}")
    return AuditEntry.objects.create(
        content_type=ContentType.objects.get_for_model(instance), object_id=str(instance.pk),
        object_repr=str(instance)[:REPR_MAX], action=action, actor=actor, channel=channel,
        request_id=context.request_id, changes=changes,
    )


def record_bulk(model: type[models.Model], ids: Iterable[Any], *, actor: User | None, action: str,
                changes_by_id: Mapping[Any, Mapping[str, Any]], channel: str | None = None) -> list[AuditEntry]:
    """Write one entry per id in ``ids`` with one INSERT (for ``QuerySet.update()`` writers).

    ``changes_by_id[id]`` maps field names to ``(old, new)``; values go through
    :func:`to_json` (records become references). Ids without changes get an empty diff.
    Reads the records once for their ``repr``; ids that no longer exist keep ``#<id>``.
    Returns the created entries.
    """
    id_list = list(ids)
    if not id_list:
        return []
    context = ctx.current()
    channel = channel or context.channel
    if channel not in ctx.CHANNELS:
        raise ValueError(f"Unknown channel {channel!r}")
    content_type = ContentType.objects.get_for_model(model)
    objects = model._default_manager.in_bulk(id_list)
    now = timezone.now()
    entries = []
    for pk in id_list:
        obj = objects.get(pk)
        changes = {name: [to_json(pair[0]), to_json(pair[1])] for name, pair in changes_by_id.get(pk, {}).items()}
        entries.append(AuditEntry(
            content_type=content_type, object_id=str(pk), object_repr=(str(obj) if obj else f"#{pk}")[:REPR_MAX],
            action=action, actor=actor, channel=channel, request_id=context.request_id, at=now, changes=changes,
        ))
    return AuditEntry.objects.bulk_create(entries)
