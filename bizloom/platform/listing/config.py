"""The list declaration (:class:`ListConfig`) and the state parsed from a query string.

Query parameters: ``q`` (search), one per filter (``industry``, ``is_customer``,
``created_at_from``/``_to``, ``owner=mine``, ``cf_<key>`` for custom fields), ``sort``
(``name`` / ``-name``; only declared sortable columns), ``page``, ``per_page`` (one of the
declared page sizes) and ``cols`` (repeated; visible columns). Anything else is ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.db import models
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.text import capfirst

from bizloom.platform.collation import order_terms
from bizloom.platform.listing.columns import Column
from bizloom.platform.listing.filters import Filter

SEARCH_MAX_LENGTH = 200
STATE_PARAMS = ("q", "sort", "per_page", "cols")


@dataclass(frozen=True)
class BulkAction:
    """An action on the selected records.

    ``run(queryset, user, cleaned_data) -> message`` receives the selected records that the
    user may ``permission`` (an access action: "change", "delete", ...); ``form_class`` is an
    optional Django form for extra inputs (e.g. the new owner), shown in the action bar.
    """

    name: str
    label: str | Promise
    permission: str
    run: Callable[[QuerySet[Any], Any, Mapping[str, Any]], str]
    form_class: type[forms.Form] | None = None
    confirm: str | Promise | None = None
    style: str = ""


@dataclass
class ListConfig:
    """Everything a list page needs, declared once per model.

    ``queryset(user)`` must return an access-restricted queryset (a selector such as
    ``crm.selectors.list_accounts``). ``url_prefix`` ("crm:account") gives the URL names
    ``<prefix>_list``, ``_detail``, ``_create``, ``_export``, ``_bulk`` and ``_views``.
    ``custom_fields=True`` adds the model's active custom fields as columns (off by default,
    in the column chooser and exports), filters and sort keys, all named ``cf_<key>``.
    """

    key: str
    model: type[models.Model]
    queryset: Callable[[Any], QuerySet[Any]]
    columns: Sequence[Column]
    url_prefix: str
    default_columns: Sequence[str] = ()
    search_fields: Sequence[str] = ()
    filters: Sequence[Filter] = ()
    default_sort: str = ""
    page_sizes: Sequence[int] = (25, 50, 100)
    bulk_actions: Sequence[BulkAction] = ()
    export_formats: Sequence[str] = ("csv", "xlsx")
    title: str | Promise | None = None
    template: str = "platform/list/page.html"
    partial_template: str = "platform/list/_results.html"
    has_detail: bool = True
    has_create: bool = True
    custom_fields: bool = False

    def __post_init__(self) -> None:
        self._static_columns = {c.name: c.bind(self.model) for c in self.columns}
        self._static_filters = [f.bind(self.model) for f in self.filters]
        if not self.default_columns:
            self.default_columns = tuple(self._static_columns)
        # Checked against the declared columns only: custom fields live in the database.
        unknown = set(self.default_columns) - set(self._static_columns)
        if unknown:
            raise ValueError(f"ListConfig {self.key}: unknown default columns {sorted(unknown)}")
        declared_sorts = {c.name for c in self._static_columns.values() if c.sortable}
        if self.default_sort and self.default_sort.lstrip("-") not in declared_sorts:
            raise ValueError(f"ListConfig {self.key}: default sort {self.default_sort!r} is not a sortable column")
        if not self.page_sizes:
            raise ValueError(f"ListConfig {self.key}: page_sizes is empty")

    @property
    def bound_columns(self) -> dict[str, Column]:
        """Every column by name: the declared ones, then (with ``custom_fields``) one per active
        custom field (``cf_<key>``, off by default), read once per request."""
        override = self.__dict__.get("_bound_columns")
        if override is not None:
            return override  # type: ignore[no-any-return]
        if not self.custom_fields:
            return self._static_columns
        from bizloom.platform.customfields.listing import custom_columns

        return {**self._static_columns, **{c.name: c for c in custom_columns(self.model)}}

    @bound_columns.setter
    def bound_columns(self, value: dict[str, Column]) -> None:
        self.__dict__["_bound_columns"] = value

    @property
    def bound_filters(self) -> list[Filter]:
        """Every filter: the declared ones, then (with ``custom_fields``) one per filterable custom field."""
        override = self.__dict__.get("_bound_filters")
        if override is not None:
            return override  # type: ignore[no-any-return]
        if not self.custom_fields:
            return self._static_filters
        from bizloom.platform.customfields.listing import custom_filters

        return [*self._static_filters, *custom_filters(self.model)]

    @bound_filters.setter
    def bound_filters(self, value: list[Filter]) -> None:
        self.__dict__["_bound_filters"] = value

    @property
    def sort_keys(self) -> dict[str, str]:
        """The allow-list: sort key → ORM field path (custom fields sort by an expression,
        see :meth:`Column.order_by`)."""
        return {c.name: c.sort_field or c.name for c in self.bound_columns.values() if c.sortable}

    @property
    def heading(self) -> str | Promise:
        """The page title (the model's plural name unless declared)."""
        return self.title or capfirst(str(self.model._meta.verbose_name_plural))

    def url(self, suffix: str, *args: Any) -> str:
        """``reverse(f"{url_prefix}_{suffix}")``."""
        return reverse(f"{self.url_prefix}_{suffix}", args=args)

    def detail_url(self, obj: Any) -> str:
        """The record's detail page."""
        return self.url("detail", obj.pk)

    def bulk_action(self, name: str) -> BulkAction | None:
        """The declared bulk action called ``name``."""
        return next((a for a in self.bulk_actions if a.name == name), None)


@dataclass
class ListState:
    """The validated parameters of one list request."""

    config: ListConfig
    q: str = ""
    filters: dict[str, str] = field(default_factory=dict)
    sort: str = ""
    page: int = 1
    per_page: int = 0
    columns: list[str] = field(default_factory=list)

    @classmethod
    def from_params(cls, config: ListConfig, params: Any) -> ListState:
        """Parse a QueryDict (or a ``{name: [values]}`` dict); invalid values fall back to defaults."""
        def first(name: str) -> str:
            values = _getlist(params, name)
            return values[0].strip() if values else ""

        raw_filters = {name: first(name) for f in config.bound_filters for name in f.params()}
        filters: dict[str, str] = {}
        for flt in config.bound_filters:
            filters.update(flt.clean(raw_filters))
        sort = first("sort")
        if sort.lstrip("-") not in config.sort_keys:
            sort = config.default_sort
        try:
            per_page = int(first("per_page"))
        except ValueError:
            per_page = 0
        if per_page not in config.page_sizes:
            per_page = config.page_sizes[0]
        try:
            page = max(1, int(first("page")))
        except ValueError:
            page = 1
        requested = [c for value in _getlist(params, "cols") for c in value.split(",")]
        columns = [c for c in dict.fromkeys(requested) if c in config.bound_columns]
        return cls(config, q=first("q")[:SEARCH_MAX_LENGTH], filters=filters, sort=sort, page=page,
                   per_page=per_page, columns=columns or list(config.default_columns))

    def to_params(self, *, page: bool = False) -> dict[str, list[str]]:
        """The non-default parameters, suitable for a saved view or a URL (``urlencode(doseq=True)``)."""
        config = self.config
        params: dict[str, list[str]] = {}
        if self.q:
            params["q"] = [self.q]
        for name, value in self.filters.items():
            params[name] = [value]
        if self.sort and self.sort != config.default_sort:
            params["sort"] = [self.sort]
        if self.per_page != config.page_sizes[0]:
            params["per_page"] = [str(self.per_page)]
        if list(self.columns) != list(config.default_columns):
            params["cols"] = list(self.columns)
        if page and self.page > 1:
            params["page"] = [str(self.page)]
        return params

    def query(self, **changes: Any) -> str:
        """``?...`` for this state with some parameters changed (``sort="-name"``, ``page=2``)."""
        params = self.to_params(page=True)
        for name, value in changes.items():
            if value in (None, ""):
                params.pop(name, None)
            else:
                params[name] = [str(value)]
        if "page" in params and params["page"] == ["1"]:
            del params["page"]
        return "?" + urlencode(params, doseq=True) if params else "?"

    @property
    def visible_columns(self) -> list[Column]:
        """The chosen columns, in declaration order."""
        return [c for name, c in self.config.bound_columns.items() if name in self.columns]

    @property
    def is_filtered(self) -> bool:
        """Whether search or any filter narrows the list."""
        return bool(self.q or self.filters)


def _getlist(params: Any, name: str) -> list[str]:
    if hasattr(params, "getlist"):
        return [str(v) for v in params.getlist(name)]
    value = params.get(name, [])
    return [str(v) for v in (value if isinstance(value, list | tuple) else [value])]


def filtered_queryset(state: ListState, user: Any) -> QuerySet[Any]:
    """The access-restricted, searched, filtered and ordered records of ``state``.

    The list page paginates it; exports iterate all of it. Sorting always ends with the
    primary key so pages are stable.
    """
    config = state.config
    queryset = config.queryset(user)
    if state.q and config.search_fields:
        condition = Q()
        for name in config.search_fields:
            condition |= Q(**{f"{name}__icontains": state.q})
        queryset = queryset.filter(condition)
    for flt in config.bound_filters:
        queryset = flt.apply(queryset, state.filters, user)
    ordering: list[Any] = []
    column = config.bound_columns.get(state.sort.lstrip("-")) if state.sort else None
    if column is not None and column.sortable:
        ordering.append(column.order_by(descending=state.sort.startswith("-")))
    elif queryset.model._meta.ordering:
        ordering.extend(str(o) for o in queryset.model._meta.ordering)
    if "pk" not in ordering and "-pk" not in ordering:
        ordering.append("pk")
    # Text columns sort Chinese by pinyin (platform.collation), the same on both databases.
    return queryset.order_by(*order_terms(queryset.model, ordering))


def state_from_mapping(config: ListConfig, params: Mapping[str, Any]) -> ListState:
    """Shortcut for tests and saved views: ``ListState.from_params`` on a plain dict."""
    return ListState.from_params(config, params)
