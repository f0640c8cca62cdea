"""Reads of custom field definitions and of the values stored under them.

:func:`definitions_for` is called many times while one page is built (columns, filters,
sort keys, form, detail); within one request (or job: any context with a request id) it
reads the database once. Nothing is kept between requests.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q, QuerySet

from bizloom.platform import middleware_context as ctx
from bizloom.platform.customfields.models import CUSTOM_DATA_FIELD, CustomField

# (request id, {"app.model": [active definitions]}) for the request running in this context.
_memo: ContextVar[tuple[str, dict[str, list[CustomField]]] | None] = ContextVar(
    "bizloom_customfield_memo", default=None)


def has_custom_fields(model: type[models.Model]) -> bool:
    """Whether ``model`` stores custom field values (uses :class:`CustomFieldsMixin`)."""
    try:
        model._meta.get_field(CUSTOM_DATA_FIELD)
    except Exception:  # FieldDoesNotExist
        return False
    return True


def _model_filter(model: type[models.Model]) -> Q:
    return Q(content_type__app_label=model._meta.app_label, content_type__model=model._meta.model_name)


def list_definitions(model: type[models.Model] | None = None, *,
                     include_inactive: bool = True) -> QuerySet[CustomField]:
    """Definitions (of ``model``, or every model), in display order; administration pages use this."""
    queryset = CustomField.objects.select_related("content_type", "target_content_type")
    if model is not None:
        queryset = queryset.filter(_model_filter(model))
    if not include_inactive:
        queryset = queryset.filter(is_active=True)
    return queryset.order_by("content_type__app_label", "content_type__model", "order", "pk")


def definitions_for(model: type[models.Model]) -> list[CustomField]:
    """The active custom fields of ``model`` in display order (one query per request)."""
    if not has_custom_fields(model):
        return []
    label = model._meta.label_lower
    request_id = ctx.current_request_id()
    memo = _memo.get()
    if request_id and memo is not None and memo[0] == request_id and label in memo[1]:
        return memo[1][label]
    found = list(list_definitions(model, include_inactive=False))
    if request_id:
        cache = memo[1] if memo is not None and memo[0] == request_id else {}
        cache[label] = found
        _memo.set((request_id, cache))
    return found


def definition_map(model: type[models.Model], *, include_inactive: bool = False) -> dict[str, CustomField]:
    """``{key: definition}`` of ``model``'s custom fields (active ones unless asked)."""
    if include_inactive:
        return {f.key: f for f in list_definitions(model)}
    return {f.key: f for f in definitions_for(model)}


def forget_definitions() -> None:
    """Drop this request's memo (after a definition changed within the request)."""
    _memo.set(None)


def content_type_of(model: type[models.Model]) -> ContentType:
    """The content type row of ``model``."""
    return ContentType.objects.get_for_model(model)


def records_with_value(field: CustomField) -> QuerySet[Any]:
    """The records of ``field``'s model that hold a value for it (any, unscoped)."""
    model = field.content_type.model_class()
    if model is None:
        raise LookupError(f"Model of content type {field.content_type_id} is not installed")
    return model._default_manager.filter(**{f"{CUSTOM_DATA_FIELD}__has_key": field.key})


def iter_values(field: CustomField) -> Iterator[tuple[Any, Any]]:
    """(primary key, stored value) of every record holding a value for ``field``."""
    for pk, data in records_with_value(field).order_by("pk").values_list("pk", CUSTOM_DATA_FIELD).iterator(
            chunk_size=2000):
        if isinstance(data, dict) and field.key in data:
            yield pk, data[field.key]


def count_values(field: CustomField) -> int:
    """How many records hold a value for ``field``."""
    return records_with_value(field).count()


def count_choice_uses(field: CustomField, values: set[str]) -> dict[str, int]:
    """``{choice value: number of records using it}`` for the given ``values`` of a choice field."""
    counts = dict.fromkeys(values, 0)
    for _pk, stored in iter_values(field):
        used = stored if isinstance(stored, list) else [stored]
        for value in used:
            if value in counts:
                counts[value] += 1
    return counts
