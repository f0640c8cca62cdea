"""Custom fields in lists: columns, filters and sort expressions named ``cf_<key>``.

:class:`~bizloom.platform.listing.config.ListConfig` calls :func:`custom_columns` and
:func:`custom_filters` when declared with ``custom_fields=True``; the API uses
:func:`filter_by` and :func:`sort_expression`. Filters use JSON containment on PostgreSQL
(served by the GIN index on ``custom_data``) and key lookups elsewhere; numbers sort
numerically on both databases (a Cast of the key's text).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connections, models
from django.db.models import Q, QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bizloom.platform.customfields import selectors, values
from bizloom.platform.customfields.models import CUSTOM_DATA_FIELD, CustomField
from bizloom.platform.listing.columns import Column
from bizloom.platform.listing.filters import Filter, TextFilter

T = CustomField.Type

COLUMN_KINDS: dict[str, str] = {
    T.INTEGER: "number", T.DECIMAL: "number", T.DATE: "date", T.DATETIME: "datetime", T.BOOLEAN: "boolean",
    T.CHOICE: "choice", T.MULTI_CHOICE: "choice", T.EMAIL: "email", T.URL: "url",
}
UNSORTABLE = frozenset({T.MULTI_CHOICE, T.REFERENCE, T.LONG_TEXT})
TEXT_TYPES = frozenset({T.TEXT, T.LONG_TEXT, T.EMAIL, T.PHONE, T.URL})


def _is_postgres(queryset: QuerySet[Any]) -> bool:
    return connections[queryset.db].vendor == "postgresql"


def key_text(field: CustomField) -> KeyTextTransform:
    """The field's value as text (``custom_data ->> key``)."""
    return KeyTextTransform(field.key, CUSTOM_DATA_FIELD)


def key_string(field: CustomField) -> Cast:
    """The field's value as plain text, for text comparisons (JSON key lookups would parse the
    right-hand side as JSON)."""
    return Cast(key_text(field), models.TextField())


def sort_expression(field: CustomField) -> Any:
    """What to order by: numbers cast to numbers (9 before 10), everything else as text."""
    if field.type == T.INTEGER:
        return Cast(key_text(field), models.BigIntegerField())
    if field.type == T.DECIMAL:
        return Cast(key_text(field), models.DecimalField(max_digits=38, decimal_places=10))
    return key_text(field)


def display_value(field: CustomField, stored: Any) -> Any:
    """A stored value as a list or detail cell shows and exports it: choices by label, numbers as
    numbers, dates as dates, a reference as the record's name."""
    if stored is None:
        return None
    if field.type == T.CHOICE:
        return field.choice_label(stored)
    if field.type == T.MULTI_CHOICE:
        return ", ".join(field.choice_label(v) for v in (stored if isinstance(stored, list) else [stored]))
    if field.type == T.DATETIME:
        value = values.to_python(field, stored)
        return timezone.localtime(value) if isinstance(value, dt.datetime) and timezone.is_aware(value) else value
    if field.type == T.REFERENCE:
        target = field.target_model()
        record = target._default_manager.filter(pk=stored).first() if target is not None else None
        return str(record) if record is not None else f"#{stored}"
    return values.to_python(field, stored)


def _getter(field: CustomField) -> Any:
    def get(obj: Any) -> Any:
        data = getattr(obj, CUSTOM_DATA_FIELD, None) or {}
        return display_value(field, data.get(field.key)) if isinstance(data, dict) else None

    return get


def column_for(field: CustomField) -> Column:
    """The list column of ``field``: ``cf_<key>``, labelled in the active language."""
    sortable = field.type not in UNSORTABLE
    return Column(field.name, label=field.label, kind=COLUMN_KINDS.get(field.type, "text"), sortable=sortable,
                  sort_field=field.name, value=_getter(field), value_source=CUSTOM_DATA_FIELD,
                  sort_expression=sort_expression(field) if sortable else None)


def custom_columns(model: type[models.Model]) -> list[Column]:
    """One column per active custom field of ``model``, in the definitions' order."""
    return [column_for(field) for field in selectors.definitions_for(model)]


# --- filters ---------------------------------------------------------------------------------


def filter_equal(queryset: QuerySet[Any], field: CustomField, value: Any) -> QuerySet[Any]:
    """Records whose value of ``field`` is ``value`` (a stored-form value); for a multiple
    choice field, records whose list contains it."""
    if field.type == T.MULTI_CHOICE:
        if _is_postgres(queryset):
            return queryset.filter(**{f"{CUSTOM_DATA_FIELD}__contains": {field.key: [value]}})
        # The list's JSON text holds each value in quotes; values have no quotes of their own.
        alias = f"_cf_{field.key}"
        aliased: QuerySet[Any] = queryset.alias(**{alias: key_string(field)})
        return aliased.filter(**{f"{alias}__contains": f'"{value}"'})
    if field.type == T.BOOLEAN and value is False:
        return queryset.filter(Q(**{f"{CUSTOM_DATA_FIELD}__{field.key}": False})
                               | ~Q(**{f"{CUSTOM_DATA_FIELD}__has_key": field.key}))
    if _is_postgres(queryset):
        return queryset.filter(**{f"{CUSTOM_DATA_FIELD}__contains": {field.key: value}})
    return queryset.filter(**{f"{CUSTOM_DATA_FIELD}__{field.key}": value})


def filter_contains(queryset: QuerySet[Any], field: CustomField, text: str) -> QuerySet[Any]:
    """Records whose text value of ``field`` contains ``text`` (case-insensitive)."""
    alias = f"_cf_{field.key}"
    aliased: QuerySet[Any] = queryset.alias(**{alias: key_string(field)})
    return aliased.filter(**{f"{alias}__icontains": text})


def _day_start(day: dt.date, field: CustomField) -> str:
    if field.type == T.DATETIME:
        start = timezone.make_aware(dt.datetime.combine(day, dt.time()))
        return start.astimezone(dt.UTC).isoformat()
    return day.isoformat()


def filter_range(queryset: QuerySet[Any], field: CustomField, start: dt.date | None,
                 end: dt.date | None) -> QuerySet[Any]:
    """Records whose date (or local date of the datetime) lies in [start, end]."""
    alias = f"_cf_{field.key}"
    queryset = queryset.alias(**{alias: key_string(field)})
    if start is not None:
        queryset = queryset.filter(**{f"{alias}__gte": _day_start(start, field)})
    if end is not None:
        queryset = queryset.filter(**{f"{alias}__lt": _day_start(end + dt.timedelta(days=1), field)})
    return queryset


def _definition(model: type[models.Model] | None, name: str) -> CustomField | None:
    if model is None:
        return None
    return next((f for f in selectors.definitions_for(model) if f.name == name), None)


@dataclass(frozen=True)
class CustomChoiceFilter(Filter):
    """Equality on a choice, multiple choice (membership) or yes/no custom field."""

    choices: tuple[tuple[str, Any], ...] = ()
    kind = "choice"

    def options(self) -> Sequence[tuple[str, Any]]:
        """The field's choices (yes/no for booleans)."""
        return self.choices

    def clean(self, raw: Mapping[str, str]) -> dict[str, str]:
        """Keep the value only when it is one of the options."""
        value = raw.get(self.param, "")
        return {self.param: value} if value in {k for k, _label in self.choices} else {}

    def apply(self, queryset: QuerySet[Any], values: Mapping[str, str], user: Any) -> QuerySet[Any]:
        """Records holding the chosen value."""
        field = _definition(queryset.model, self.field)
        if self.param not in values or field is None:
            return queryset
        value: Any = values[self.param]
        if field.type == T.BOOLEAN:
            value = value == "1"
        return filter_equal(queryset, field, value)


@dataclass(frozen=True)
class CustomTextFilter(TextFilter):
    """Text contains on a text-like custom field (input cleaned as for any text filter)."""

    def apply(self, queryset: QuerySet[Any], values: Mapping[str, str], user: Any) -> QuerySet[Any]:
        """Records whose value contains the text."""
        field = _definition(queryset.model, self.field)
        if self.param not in values or field is None:
            return queryset
        return filter_contains(queryset, field, values[self.param])


@dataclass(frozen=True)
class CustomDateRangeFilter(Filter):
    """From/to dates (inclusive) on a date or datetime custom field: ``cf_<key>_from``/``_to``."""

    kind = "daterange"

    def params(self) -> tuple[str, ...]:
        """Both bounds."""
        return (f"{self.field}_from", f"{self.field}_to")

    def clean(self, raw: Mapping[str, str]) -> dict[str, str]:
        """Keep bounds that parse as ISO dates."""
        cleaned = {}
        for name in self.params():
            try:
                cleaned[name] = dt.date.fromisoformat(raw.get(name, "")).isoformat()
            except ValueError:
                continue
        return cleaned

    def apply(self, queryset: QuerySet[Any], values: Mapping[str, str], user: Any) -> QuerySet[Any]:
        """Inclusive range; datetimes compare on their local date."""
        field = _definition(queryset.model, self.field)
        start_name, end_name = self.params()
        if field is None or not (start_name in values or end_name in values):
            return queryset
        start = dt.date.fromisoformat(values[start_name]) if start_name in values else None
        end = dt.date.fromisoformat(values[end_name]) if end_name in values else None
        return filter_range(queryset, field, start, end)


def filter_for(field: CustomField) -> Filter | None:
    """The list filter of ``field`` (None for numbers and references, which have no list filter)."""
    if field.type in (T.CHOICE, T.MULTI_CHOICE):
        return CustomChoiceFilter(field.name, label=field.label, choices=tuple(field.choice_options()))
    if field.type == T.BOOLEAN:
        return CustomChoiceFilter(field.name, label=field.label, choices=(("1", _("Yes")), ("0", _("No"))))
    if field.type in (T.DATE, T.DATETIME):
        return CustomDateRangeFilter(field.name, label=field.label)
    if field.type in TEXT_TYPES:
        return CustomTextFilter(field.name, label=field.label)
    return None


def custom_filters(model: type[models.Model]) -> list[Filter]:
    """The list filters of ``model``'s active custom fields."""
    return [f for f in (filter_for(field) for field in selectors.definitions_for(model)) if f is not None]
