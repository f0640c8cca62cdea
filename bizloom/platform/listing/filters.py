"""List filters. Each reads its own query parameters, keeps only valid values and filters
the queryset; nothing from the query string reaches SQL except through these."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from django.db import models
from django.db.models import QuerySet
from django.utils.functional import Promise
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from bizloom.platform.listing.columns import model_field


@dataclass(frozen=True)
class Filter:
    """Base class: ``field`` is the model field path; the parameter is named after it."""

    field: str
    label: str | Promise | None = None
    kind = "choice"

    @property
    def param(self) -> str:
        """The query-string parameter name."""
        return self.field

    def params(self) -> tuple[str, ...]:
        """Every parameter this filter reads."""
        return (self.param,)

    def bind(self, model: type[models.Model]) -> Filter:
        """A copy with the label read from ``model`` when not declared."""
        if self.label is not None:
            return self
        mf = model_field(model, self.field)
        label = capfirst(mf.verbose_name) if mf is not None and hasattr(mf, "verbose_name") else self.field
        return replace(self, label=label)

    def clean(self, raw: Mapping[str, str]) -> dict[str, str]:
        """The valid values among ``raw`` (parameter → string); invalid ones are dropped."""
        return {}

    def apply(self, queryset: QuerySet[Any], values: Mapping[str, str], user: Any) -> QuerySet[Any]:
        """``queryset`` narrowed by the cleaned ``values``."""
        return queryset

    def options(self) -> Sequence[tuple[str, Any]]:
        """(value, label) pairs for a select control."""
        return ()


@dataclass(frozen=True)
class ChoiceFilter(Filter):
    """Equality on a field with choices (read from the model unless ``choices`` is given)."""

    choices: tuple[tuple[str, Any], ...] = ()
    kind = "choice"

    def bind(self, model: type[models.Model]) -> Filter:
        """Label and choices from the model field."""
        bound = super().bind(model)
        if not self.choices:
            mf = model_field(model, self.field)
            choices = tuple((str(k), v) for k, v in (getattr(mf, "choices", None) or ()))
            bound = replace(bound, choices=choices)  # type: ignore[call-arg]  # dataclass subclass field
        return bound

    def options(self) -> Sequence[tuple[str, Any]]:
        """The declared choices."""
        return self.choices

    def clean(self, raw: Mapping[str, str]) -> dict[str, str]:
        """Keep the value only when it is one of the choices."""
        value = raw.get(self.param, "")
        return {self.param: value} if value in {k for k, _label in self.choices} else {}

    def apply(self, queryset: QuerySet[Any], values: Mapping[str, str], user: Any) -> QuerySet[Any]:
        """``field = value``."""
        if self.param in values:
            return queryset.filter(**{self.field: values[self.param]})
        return queryset


@dataclass(frozen=True)
class BooleanFilter(Filter):
    """Yes/no on a boolean field: parameter value "1" or "0"."""

    kind = "boolean"

    def options(self) -> Sequence[tuple[str, Any]]:
        """Yes and no."""
        return (("1", _("Yes")), ("0", _("No")))

    def clean(self, raw: Mapping[str, str]) -> dict[str, str]:
        """Keep "1" or "0"."""
        value = raw.get(self.param, "")
        return {self.param: value} if value in ("1", "0") else {}

    def apply(self, queryset: QuerySet[Any], values: Mapping[str, str], user: Any) -> QuerySet[Any]:
        """``field is True/False``."""
        if self.param in values:
            return queryset.filter(**{self.field: values[self.param] == "1"})
        return queryset


@dataclass(frozen=True)
class DateRangeFilter(Filter):
    """From/to dates (inclusive, ISO ``YYYY-MM-DD``) on a date or datetime field."""

    kind = "daterange"

    @property
    def param_from(self) -> str:
        """``<field>_from``."""
        return f"{self.field}_from"

    @property
    def param_to(self) -> str:
        """``<field>_to``."""
        return f"{self.field}_to"

    def params(self) -> tuple[str, ...]:
        """Both bounds."""
        return (self.param_from, self.param_to)

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
        mf = queryset.model and model_field(queryset.model, self.field)
        lookup = f"{self.field}__date" if isinstance(mf, models.DateTimeField) else self.field
        if self.param_from in values:
            queryset = queryset.filter(**{f"{lookup}__gte": dt.date.fromisoformat(values[self.param_from])})
        if self.param_to in values:
            queryset = queryset.filter(**{f"{lookup}__lte": dt.date.fromisoformat(values[self.param_to])})
        return queryset


@dataclass(frozen=True)
class OwnerFilter(Filter):
    """"Mine" or "unassigned" on a user foreign key (default ``owner``)."""

    field: str = "owner"
    kind = "choice"

    def options(self) -> Sequence[tuple[str, Any]]:
        """Mine and unassigned."""
        return (("mine", _("Mine")), ("none", _("Unassigned")))

    def clean(self, raw: Mapping[str, str]) -> dict[str, str]:
        """Keep "mine" or "none"."""
        value = raw.get(self.param, "")
        return {self.param: value} if value in ("mine", "none") else {}

    def apply(self, queryset: QuerySet[Any], values: Mapping[str, str], user: Any) -> QuerySet[Any]:
        """The signed-in user's records, or records without an owner."""
        value = values.get(self.param)
        if value == "mine":
            return queryset.filter(**{self.field: user})
        if value == "none":
            return queryset.filter(**{f"{self.field}__isnull": True})
        return queryset


@dataclass(frozen=True)
class TextFilter(Filter):
    """Text contains (case-insensitive) on a text field; at most 200 characters are used."""

    kind = "text"

    def clean(self, raw: Mapping[str, str]) -> dict[str, str]:
        """Keep non-blank text without NUL characters."""
        value = raw.get(self.param, "").strip()[:200]
        return {self.param: value} if value and "\x00" not in value else {}

    def apply(self, queryset: QuerySet[Any], values: Mapping[str, str], user: Any) -> QuerySet[Any]:
        """``field icontains value``."""
        if self.param in values:
            return queryset.filter(**{f"{self.field}__icontains": values[self.param]})
        return queryset
