"""Permission-scoped reads of leads."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from bizloom.crm.models import Lead
from bizloom.platform import access


def list_leads(user: Any, action: str = "view") -> QuerySet[Lead]:
    """Leads ``user`` may ``action``, with the owner joined for list pages and the API."""
    return access.restrict(Lead.objects.select_related("owner"), user, action)


def get_lead(user: Any, pk: int, action: str = "view") -> Lead:
    """One lead, or Http404 when it does not exist or lies outside ``user``'s scope for ``action``."""
    return get_object_or_404(list_leads(user, action).select_related(
        "converted_account", "converted_contact", "converted_opportunity"), pk=pk)
