"""Permission-scoped reads of CRM records."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from bizloom.crm.models import Account
from bizloom.platform import access


def list_accounts(user: Any, action: str = "view") -> QuerySet[Account]:
    """Accounts ``user`` may ``action``, with the owner joined for list pages."""
    return access.restrict(Account.objects.select_related("owner"), user, action)


def get_account(user: Any, pk: int, action: str = "view") -> Account:
    """One account, or Http404 when it does not exist or lies outside ``user``'s scope."""
    return get_object_or_404(list_accounts(user, action), pk=pk)
