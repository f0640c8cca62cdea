"""Custom fields in the REST API: ``custom_fields`` in bodies, ``cf_<key>`` filters and sort keys.

A module's API uses these four helpers (see ``bizloom/crm/api.py``)::

    queryset = customfields.api.filter_queryset(queryset, Account, request.GET)        # ?cf_source=web
    queryset, allowed = customfields.api.ordering(queryset, Account, ordering.ordering, ACCOUNT_ORDERING)
    with customfields.api.body_errors():                       # cf_<key> errors → custom_fields.<key>
        services.update_account(account, data, actor=request.user)
    customfields.api.output(account, user)                      # the dict AccountOut sends

Filter and sort keys come from the model's active definitions (an allow-list); an unknown
``cf_`` key or a value that does not fit the field's type is a 422 problem.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from django.db import models
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from bizloom.common.errors import ValidationFailed
from bizloom.platform import access
from bizloom.platform.api.problem import ApiProblem
from bizloom.platform.customfields import listing, selectors, values
from bizloom.platform.customfields.models import CUSTOM_DATA_FIELD, PREFIX, CustomField

BODY_FIELD = "custom_fields"
MAX_FILTERS = 10
T = CustomField.Type


def output(obj: models.Model, user: Any = None) -> dict[str, Any]:
    """The custom field values of ``obj`` as the API sends them (stored JSON form; decimals as
    strings), without the fields ``user``'s roles hide (``cf_<key>`` in access field rules).

    Values of deactivated fields are kept and still sent: deactivation hides a field from
    forms and lists, it does not delete data.
    """
    data = getattr(obj, CUSTOM_DATA_FIELD, None) or {}
    if not isinstance(data, dict):
        return {}
    hidden = access.field_policy(user, type(obj), "view").hidden if user is not None else frozenset()
    return {key: value for key, value in sorted(data.items()) if f"{PREFIX}{key}" not in hidden}


def check_writable(user: Any, model: type[models.Model], data: Mapping[str, Any] | None, action: str) -> None:
    """Refuse (422, error on ``custom_fields.<key>``) custom fields ``user``'s roles hide or make read-only."""
    if not data:
        return
    with body_errors():
        access.check_fields_writable(user, model, [f"{PREFIX}{key}" for key in data], action)


@contextmanager
def body_errors() -> Iterator[None]:
    """Re-raise ValidationFailed with ``cf_<key>`` field errors keyed ``custom_fields.<key>``."""
    try:
        yield
    except ValidationFailed as error:
        if any(name.startswith(PREFIX) for name in error.fields):
            error.fields = {(f"{BODY_FIELD}.{name[len(PREFIX):]}" if name.startswith(PREFIX) else name): messages
                            for name, messages in error.fields.items()}
        raise


def _invalid(param: str, message: str) -> ApiProblem:
    return ApiProblem(422, message, code="invalid_filter", errors={param: [message]})


def filter_queryset(queryset: QuerySet[Any], model: type[models.Model], params: Mapping[str, Any],
                    user: Any = None) -> QuerySet[Any]:
    """Apply every ``cf_<key>=value`` in ``params`` (a QueryDict or dict).

    Equality for every type (the value as a form would send it: ``true``, ``2025-01-31``,
    ``12.5``, a record id); for a multiple choice field, records whose list holds the value;
    text types match when the value contains the text. Raises ApiProblem 422 for an unknown
    key (or one ``user``'s roles hide) or a value that does not fit the type.
    """
    names = [name for name in params if isinstance(name, str) and name.startswith(PREFIX)]
    if not names:
        return queryset
    if len(names) > MAX_FILTERS:
        raise _invalid(names[0], _("Filter by at most %(n)s custom fields.") % {"n": MAX_FILTERS})
    definitions = {f.name: f for f in selectors.definitions_for(model)}
    hidden = access.field_policy(user, model, "view").hidden if user is not None else frozenset()
    for name in names:
        field = definitions.get(name)
        if field is None or name in hidden:
            raise _invalid(name, _("Unknown custom field: %(name)s. Allowed: %(allowed)s.") % {
                "name": name[:60], "allowed": ", ".join(sorted(set(definitions) - hidden)) or "—"})
        raw = params.getlist(name)[-1] if hasattr(params, "getlist") else params[name]
        if not isinstance(raw, str) or "\x00" in raw or len(raw) > 200:
            raise _invalid(name, _("Enter a value of at most 200 characters."))
        if field.type in listing.TEXT_TYPES and field.type not in (T.EMAIL,):
            queryset = listing.filter_contains(queryset, field, raw.strip())
            continue
        probe = field
        if field.type == T.MULTI_CHOICE:
            probe = CustomField(key=field.key, type=T.CHOICE, choices=field.choices)
        try:
            value = values.coerce(probe, raw)
        except values.InvalidValue as error:
            raise _invalid(name, str(error)) from error
        if value is None:
            continue
        queryset = listing.filter_equal(queryset, field, value)
    return queryset


def ordering(queryset: QuerySet[Any], model: type[models.Model], requested: str | None,
             allowed: Mapping[str, str], user: Any = None) -> tuple[QuerySet[Any], dict[str, str]]:
    """``(queryset, allow-list)`` for ``apply_ordering``: when ``requested`` names ``cf_`` keys, the
    sortable custom fields join the allow-list, ordering by a numeric-aware alias."""
    result = dict(allowed)
    if not requested or PREFIX not in requested:
        return queryset, result
    hidden = access.field_policy(user, model, "view").hidden if user is not None else frozenset()
    for field in selectors.definitions_for(model):
        if field.type in listing.UNSORTABLE or field.name in hidden:
            continue
        alias = f"_cf_sort_{field.key}"
        queryset = queryset.alias(**{alias: listing.sort_expression(field)})
        result[field.name] = alias
    return queryset, result


def describe() -> str:
    """A sentence for list operations' OpenAPI descriptions."""
    return ("Custom fields filter as cf_<key>=value (choices by value, yes/no as true/false, dates ISO, "
            "text by contained text) and sort as cf_<key>.")
