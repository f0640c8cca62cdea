"""Turning API request bodies into the values CRM services take (shared by the CRM's routers).

Ids in a body become records, looked up only among the records the caller may view, so a
record outside their scope reads exactly like one that does not exist (no existence oracle);
an unknown id is a 422 with the message on its field.
"""

from __future__ import annotations

from collections.abc import Iterable
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


def _no_such(queryset: QuerySet[Any]) -> str:
    return _("No %(model)s with this id.") % {"model": queryset.model._meta.verbose_name}


def active_user(pk: int, field: str = "owner") -> User:
    """The active user ``pk`` (422 on ``field`` when there is none)."""
    user = User.objects.filter(pk=pk, is_active=True).first()
    if user is None:
        raise _refuse(field, _("No active user with this id."))
    return user


def record(queryset: QuerySet[Any], pk: int, field: str, message: str | None = None) -> Any:
    """The record ``pk`` of ``queryset`` (422 on ``field`` when there is none). ``queryset`` is
    already what the caller may see: a selector's, or settings everyone may read."""
    found = queryset.filter(pk=pk).first()
    if found is None:
        raise _refuse(field, message or _no_such(queryset))
    return found


def resolve_owner(data: dict[str, Any], field: str = "owner") -> None:
    """Replace the user id in ``data[field]`` by the active user (422 when there is none)."""
    if data.get(field) is not None:
        data[field] = active_user(data[field], field)


def resolve_record(data: dict[str, Any], field: str, queryset: QuerySet[Any], user: Any,
                   message: str | None = None) -> None:
    """Replace the id in ``data[field]`` by the record of ``queryset`` that ``user`` may view."""
    if data.get(field) is not None:
        data[field] = record(access.restrict(queryset, user, "view"), data[field], field, message)


def records(queryset: QuerySet[Any], pks: Iterable[int] | None, field: str, message: str | None = None) -> list[Any]:
    """The records ``pks`` of ``queryset`` (422 on ``field`` when one is missing); ``queryset`` as
    for :func:`record`."""
    wanted = set(pks or ())
    found = list(queryset.filter(pk__in=wanted))
    if len(found) != len(wanted):
        raise _refuse(field, message or _no_such(queryset))
    return found


def resolve_records(data: dict[str, Any], field: str, queryset: QuerySet[Any], user: Any,
                    message: str | None = None) -> None:
    """Replace the ids in ``data[field]`` by the records of ``queryset`` that ``user`` may view."""
    if field in data:
        data[field] = records(access.restrict(queryset, user, "view"), data[field], field, message)
