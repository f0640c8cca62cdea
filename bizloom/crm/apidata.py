"""Turning API request bodies into the values CRM services take (shared by the CRM's routers).

Ids in a body become records, looked up only among the records the caller may view, so a
record outside their scope reads exactly like one that does not exist (no existence oracle);
an unknown id is a 422 with the message on its field.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from ninja import Schema

from bizloom.common.errors import ValidationFailed
from bizloom.platform import access
from bizloom.platform.models import User


def sent_fields(payload: Schema) -> dict[str, Any]:
    """The fields the client sent (left-out fields are not passed, so model defaults and the
    services' defaults apply on create and stored values stay on update)."""
    return payload.model_dump(exclude_unset=True)


def _refuse(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, fields={field: [message]})


def resolve_owner(data: dict[str, Any], field: str = "owner") -> None:
    """Replace the user id in ``data[field]`` by the active user (422 when there is none)."""
    if data.get(field) is None:
        return
    owner = User.objects.filter(pk=data[field], is_active=True).first()
    if owner is None:
        raise _refuse(field, _("No active user with this id."))
    data[field] = owner


def resolve_record(data: dict[str, Any], field: str, queryset: QuerySet[Any], user: Any,
                   message: str | None = None) -> None:
    """Replace the id in ``data[field]`` by the record of ``queryset`` that ``user`` may view."""
    if data.get(field) is None:
        return
    record = access.restrict(queryset, user, "view").filter(pk=data[field]).first()
    if record is None:
        raise _refuse(field, message or _("No %(model)s with this id.") % {
            "model": queryset.model._meta.verbose_name})
    data[field] = record


def resolve_records(data: dict[str, Any], field: str, queryset: QuerySet[Any], user: Any,
                    message: str | None = None) -> None:
    """Replace the ids in ``data[field]`` by the records of ``queryset`` that ``user`` may view."""
    if field not in data:
        return
    wanted = set(data[field] or ())
    found = list(access.restrict(queryset, user, "view").filter(pk__in=wanted))
    if len(found) != len(wanted):
        raise _refuse(field, message or _("No %(model)s with this id.") % {
            "model": queryset.model._meta.verbose_name})
    data[field] = found
