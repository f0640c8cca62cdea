"""Reading the audit trail, access-checked like the record it is about."""

from __future__ import annotations

from typing import Any

from django.db import models

from bizloom.platform import access
from bizloom.platform.audit.models import AuditEntry, AuditEntryQuerySet


def entries_for(obj: models.Model, user: Any) -> AuditEntryQuerySet:
    """The audit entries of ``obj`` (newest first) if ``user`` may view ``obj``, else none.

    The check is :func:`bizloom.platform.access.restrict` on the record's own model with
    the "view" action, so record scopes apply to the history as they do to the record.
    """
    model = type(obj)
    visible = access.restrict(model._default_manager.filter(pk=obj.pk), user, "view")
    if obj.pk is None or not visible.exists():
        return AuditEntry.objects.none()
    return AuditEntry.objects.for_object(obj).select_related("actor").order_by("-at", "-pk")
