"""Ordering and filtering of list operations, always through allow-lists.

``?ordering=name,-created_at`` names keys from the operation's allow-list (mapped to model
fields, never passed to SQL as sent); filters are declared ninja ``FilterSchema`` classes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, TypeVar

from django.db.models import Model, Q, QuerySet
from django.utils.translation import gettext as _
from ninja import Field, FilterSchema, Schema
from pydantic import field_validator

from bizloom.platform.api.problem import ApiProblem
from bizloom.platform.collation import order_terms

M = TypeVar("M", bound=Model)

MAX_ORDERING_KEYS = 5


class OrderingParams(Schema):
    """``?ordering``: comma-separated keys, ``-`` prefix for descending."""

    ordering: str | None = Field(
        None, max_length=300, description="Comma-separated sort keys from the operation's list; '-' sorts descending.")


def apply_ordering(queryset: QuerySet[M], ordering: str | None, allowed: Mapping[str, str],
                   default: Sequence[str]) -> QuerySet[M]:
    """Order ``queryset`` by the allow-listed keys in ``ordering`` (``default`` when empty).

    ``allowed`` maps public keys to model lookups (``{"owner": "owner__username"}``). The
    primary key is appended so pages are stable. Raises ApiProblem 422 naming unknown keys.
    """
    keys = [key.strip() for key in (ordering or "").split(",") if key.strip()]
    if not keys:
        return queryset.order_by(*order_terms(queryset.model, default), "pk")
    unknown = [key for key in keys if key.lstrip("-") not in allowed or key.count("-") > 1]
    if unknown or len(keys) > MAX_ORDERING_KEYS:
        message = _("Unknown sort key: %(keys)s. Allowed: %(allowed)s.") % {
            "keys": ", ".join(unknown) or "…", "allowed": ", ".join(sorted(allowed))}
        if not unknown:
            message = _("Sort by at most %(n)s keys.") % {"n": MAX_ORDERING_KEYS}
        raise ApiProblem(422, message, code="invalid_ordering", errors={"ordering": [message]})
    fields = [("-" if key.startswith("-") else "") + allowed[key.lstrip("-")] for key in keys]
    return queryset.order_by(*order_terms(queryset.model, fields), "pk")


def describe_ordering(allowed: Mapping[str, str]) -> str:
    """A sentence for the operation's OpenAPI description."""
    return ("Sort keys: " + ", ".join(sorted(allowed)) + " (prefix '-' for descending; "
            "text sorts Chinese by pinyin).")


def _reject_nul(value: Any) -> Any:
    if isinstance(value, str) and "\x00" in value:
        raise ValueError(_("Text may not contain NUL characters."))
    return value


class ListFilters(FilterSchema):
    """Base of every list filter: ``?q`` searches the lookups in ``search_fields``.

    Subclasses declare filters as annotated fields, e.g.
    ``industry: Annotated[str | None, FilterLookup("industry")] = None``, and set
    ``search_fields = ("name__icontains", "code__iexact")``.
    """

    search_fields: ClassVar[tuple[str, ...]] = ()

    q: str | None = Field(None, max_length=200, description="Search text.")

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        return _reject_nul(value)

    def filter_q(self, value: str | None) -> Q:
        text = (value or "").strip()
        if not text or not self.search_fields:
            return Q()
        condition = Q()
        for lookup in self.search_fields:
            condition |= Q(**{lookup: text})
        return condition


def list_page(request: Any, queryset: QuerySet[M], *, filters: FilterSchema, ordering: str | None,
              allowed: Mapping[str, str], default: Sequence[str], page: Any) -> dict[str, Any]:
    """One page of a list operation, the same for every resource.

    ``queryset`` is already access-restricted (the resource's selector). Applies the declared
    ``filters``, ``cf_<key>`` custom-field filters, the ordering allow-list (custom fields
    included when asked for) and bounded pagination.
    """
    from bizloom.platform.api.pagination import paginate
    from bizloom.platform.customfields import api as custom_api

    model = queryset.model
    queryset = filters.filter(queryset)
    queryset = custom_api.filter_queryset(queryset, model, request.GET, request.user)
    queryset, allowed = custom_api.ordering(queryset, model, ordering, allowed, request.user)
    queryset = apply_ordering(queryset, ordering, allowed, default=default)
    return paginate(queryset, page)
