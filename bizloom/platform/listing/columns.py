"""Columns: what a list (or a detail page's field grid) shows of each record, and how.

A column names a model field path (``"owner"``, ``"owner__username"``); its label and kind
(text, number, money, date, datetime, choice, boolean) are read from the model unless
declared. The same column gives an HTML cell (localised text) and an export value
(typed: Decimal, date, datetime, str).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import formats, timezone
from django.utils.functional import Promise
from django.utils.text import capfirst
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from bizloom.common.money import quantize
from bizloom.platform.templatetags.bizloom import format_money, format_qty

KINDS = frozenset({"text", "number", "money", "date", "datetime", "choice", "boolean", "email", "url"})
NUMERIC_KINDS = frozenset({"number", "money"})


def model_field(model: type[models.Model], path: str) -> models.Field[Any, Any] | None:
    """The model field at the end of ``path`` (``owner__username``), or None for a non-field."""
    field: Any = None
    current: Any = model
    for part in path.split("__"):
        if current is None:
            return None
        try:
            field = current._meta.get_field(part)
        except FieldDoesNotExist:
            return None
        current = field.related_model if field.is_relation else None
    return field  # type: ignore[no-any-return]


def _infer_kind(field: Any) -> str:
    if field is None:
        return "text"
    if getattr(field, "choices", None):
        return "choice"
    if isinstance(field, models.BooleanField):
        return "boolean"
    if isinstance(field, models.DateTimeField):
        return "datetime"
    if isinstance(field, models.DateField):
        return "date"
    if isinstance(field, models.DecimalField | models.IntegerField | models.FloatField) and not field.primary_key:
        return "number"
    if isinstance(field, models.EmailField):
        return "email"
    if isinstance(field, models.URLField):
        return "url"
    return "text"


@functools.lru_cache(maxsize=1024)
def _choice_labels(model: type[models.Model], field_name: str, language: str | None) -> dict[Any, str]:
    """A field's choice labels in one language, built once.

    Django's ``get_<field>_display()`` rebuilds the (lazy) choices on every call: 60 µs a cell,
    half the time of a 100,000-row export.
    """
    field: Any = model._meta.get_field(field_name)
    return {value: str(label) for value, label in (getattr(field, "flatchoices", None) or ())}


@dataclass(frozen=True)
class Column:
    """One declared column.

    ``name`` is a field path, or any key when ``value`` (obj → value) is given. ``sortable``
    columns become allowed sort keys, ordering by ``sort_field`` (default: ``name``).
    ``link`` makes the cell a link to the record's detail page. Money columns read the
    currency from ``currency_field`` (default: the company currency). ``sort_expression``
    (an ORM expression, e.g. a Cast of a JSON key for numeric order) sorts instead of
    ``sort_field``, which then only names the column's data for field rules. ``value_source``
    names the one model field ``value`` reads (``custom_data`` for custom fields): exports
    then fetch only that field (:meth:`export_plan`) instead of whole records.
    """

    name: str
    label: str | Promise | None = None
    kind: str | None = None
    sortable: bool = True
    sort_field: str | None = None
    link: bool = False
    currency_field: str | None = None
    decimal_places: int | None = None
    value: Callable[[Any], Any] | None = None
    sort_expression: Any = None
    value_source: str | None = None

    def bind(self, model: type[models.Model]) -> Column:
        """A copy with label, kind and sort field filled in from ``model``."""
        field = model_field(model, self.name)
        label = self.label
        if label is None:
            label = capfirst(field.verbose_name) if field is not None and hasattr(field, "verbose_name") else self.name
        kind = self.kind or ("money" if self.currency_field else _infer_kind(field))
        if kind not in KINDS:
            raise ValueError(f"Column {self.name!r}: unknown kind {kind!r}")
        sortable = self.sortable and (field is not None or self.sort_field is not None
                                      or self.sort_expression is not None)
        return replace(self, label=label, kind=kind, sortable=sortable, sort_field=self.sort_field or self.name)

    @property
    def is_numeric(self) -> bool:
        """Whether the column aligns right (numbers and money)."""
        return self.kind in NUMERIC_KINDS

    def raw(self, obj: Any) -> Any:
        """The stored value (a choice's label for choice columns)."""
        if self.value is not None:
            return self.value(obj)
        target = obj
        parts = self.name.split("__")
        for part in parts[:-1]:
            target = getattr(target, part, None)
            if target is None:
                return None
        last = parts[-1]
        value = getattr(target, last, None)
        if self.kind == "choice" and isinstance(target, models.Model):
            try:
                return _choice_labels(type(target), last, get_language()).get(value, value)
            except (TypeError, FieldDoesNotExist):  # unhashable value or not a model field
                return value
        return value

    def order_by(self, descending: bool = False) -> Any:
        """The ``order_by()`` term of this column: the sort expression (empty values last) or field path."""
        if self.sort_expression is not None:
            return (self.sort_expression.desc(nulls_last=True) if descending
                    else self.sort_expression.asc(nulls_last=True))
        return ("-" if descending else "") + (self.sort_field or self.name)

    def _currency(self, obj: Any) -> str | None:
        return getattr(obj, self.currency_field, None) if self.currency_field else None

    def display(self, obj: Any) -> str:
        """The localised text shown in an HTML cell."""
        value = self.raw(obj)
        if value is None or value == "":
            return ""
        if self.kind == "money":
            return format_money(value, self._currency(obj))
        if self.kind == "number":
            return format_qty(value, self.decimal_places)
        if self.kind == "boolean":
            return str(_("Yes") if value else _("No"))
        if self.kind == "datetime" and isinstance(value, dt.datetime):
            return formats.date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")
        if self.kind in ("date", "datetime") and isinstance(value, dt.date):
            return formats.date_format(value, "SHORT_DATE_FORMAT")
        return str(value)

    def export(self, obj: Any) -> str | Decimal | int | float | dt.date | dt.datetime | None:
        """A typed value for CSV/XLSX: numbers stay numbers, datetimes are local and naive."""
        value = self.raw(obj)
        if value is None:
            return None
        if self.kind == "money" and isinstance(value, Decimal):
            return quantize(value, self._currency(obj) or "")
        if self.kind == "boolean":
            return str(_("Yes") if value else _("No"))
        if isinstance(value, dt.datetime):
            return timezone.localtime(value).replace(tzinfo=None) if timezone.is_aware(value) else value
        if isinstance(value, Decimal | int | float | dt.date):
            return value
        return str(value)

    def export_plan(self, model: type[models.Model]) -> ExportPlan | None:
        """How to compute :meth:`export` from plain values (``values_list``), or None when it needs the record.

        Possible for field paths (``name``, ``owner__username``), choice fields (labels cached per
        language), money with its currency field, a foreign key at the end of the path (its
        records' ``str`` read once per id) and ``value`` callables that declare their
        ``value_source``. The plan gives the same values as :meth:`export` (a test compares them).
        """
        paths: list[str] = []
        if self.value is not None:
            if not self.value_source or model_field(model, self.value_source) is None:
                return None
            source, value = self.value_source, self.value
            paths.append(source)

            def raw(values: Sequence[Any], related: Mapping[Any, str]) -> Any:
                return value(_Stand_in(source, values[0]))

        else:
            field = model_field(model, self.name)
            if field is None or field.many_to_many or field.one_to_many or getattr(field, "one_to_one", False) and (
                    field.auto_created and not field.concrete):
                return None
            if field.is_relation:  # a record at the end of the path: shown as its str()
                paths.append(f"{self.name}__pk" if "__" in self.name else field.attname)

                def raw(values: Sequence[Any], related: Mapping[Any, str]) -> Any:
                    return None if values[0] is None else related.get(values[0])

            elif self.kind == "choice":
                labels = _choice_labels(field.model, field.name, get_language())
                paths.append(self.name)

                def raw(values: Sequence[Any], related: Mapping[Any, str]) -> Any:
                    try:
                        return labels.get(values[0], values[0])
                    except TypeError:  # unhashable
                        return values[0]

            else:
                paths.append(self.name)

                def raw(values: Sequence[Any], related: Mapping[Any, str]) -> Any:
                    return values[0]

        related_model = None
        if self.value is None:
            field = model_field(model, self.name)
            related_model = field.related_model if field is not None and field.is_relation else None
        currency_index = None
        if self.kind == "money" and self.currency_field:
            currency_index = len(paths)
            paths.append(self.currency_field)
        finish = _export_formatter(self.kind, currency_index)

        def export(values: Sequence[Any], related: Mapping[Any, str]) -> Any:
            return finish(raw(values, related), values)

        one = None
        if len(paths) == 1:
            def one(value: Any, related: Mapping[Any, str]) -> Any:
                return finish(raw((value,), related), ())

        return ExportPlan(tuple(paths), export, related_model, one)


def _export_formatter(kind: str | None, currency_index: int | None) -> Callable[[Any, Sequence[Any]], Any]:
    """:meth:`Column.export`'s formatting of a raw value, specialised for the column's kind once.

    ``values`` are the row's fetched values (the currency of a money column is among them).
    """
    tz = timezone.get_current_timezone()  # what timezone.localtime() reads on every call

    def plain(value: Any, values: Sequence[Any]) -> Any:
        kind_of = type(value)
        if kind_of is str or value is None:
            return value
        if isinstance(value, dt.datetime):
            return value.astimezone(tz).replace(tzinfo=None) if timezone.is_aware(value) else value
        if isinstance(value, Decimal | int | float | dt.date):
            return value
        return str(value)

    if kind == "boolean":
        yes, no = str(_("Yes")), str(_("No"))
        return lambda value, values: None if value is None else (yes if value else no)
    if kind == "money":
        def money(value: Any, values: Sequence[Any]) -> Any:
            if isinstance(value, Decimal):
                return quantize(value, (values[currency_index] if currency_index is not None else None) or "")
            return plain(value, values)

        return money
    return plain


class _Stand_in:  # noqa: N801 - a private record stand-in with one attribute
    """What a ``value`` callable sees in an export: an object with only its ``value_source`` attribute."""

    __slots__ = ("__dict__",)

    def __init__(self, name: str, value: Any) -> None:
        self.__dict__[name] = value


@dataclass(frozen=True)
class ExportPlan:
    """A column's export from plain values: ``fields`` to fetch, ``export(values, related)`` to format them.

    ``related_model`` is set when the first field is a foreign key whose records show as their
    ``str``; ``related`` maps its ids to those strings. ``one(value, related)`` is the same for a
    plan of one field, without packing the value.
    """

    fields: tuple[str, ...]
    export: Callable[[Sequence[Any], Mapping[Any, str]], Any]
    related_model: type[models.Model] | None = None
    one: Callable[[Any, Mapping[Any, str]], Any] | None = None
