"""Permission-scoped reads of CRM records."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from bizloom.crm.models import Account, Contact
from bizloom.platform import access
from bizloom.platform.collation import order_terms


def list_accounts(user: Any, action: str = "view") -> QuerySet[Account]:
    """Accounts ``user`` may ``action``, with the owner joined for list pages."""
    return access.restrict(Account.objects.select_related("owner"), user, action)


def get_account(user: Any, pk: int, action: str = "view") -> Account:
    """One account, or Http404 when it does not exist or lies outside ``user``'s scope."""
    return get_object_or_404(list_accounts(user, action), pk=pk)


def list_contacts(user: Any, action: str = "view") -> QuerySet[Contact]:
    """Contacts ``user`` may ``action``, with the owner and primary account joined and the
    other accounts prefetched for list pages and the API."""
    return access.restrict(Contact.objects.select_related("owner", "account").prefetch_related("accounts"),
                           user, action)


def get_contact(user: Any, pk: int, action: str = "view") -> Contact:
    """One contact, or Http404 when it does not exist or lies outside ``user``'s scope."""
    return get_object_or_404(list_contacts(user, action), pk=pk)


def list_account_contacts(user: Any, account: Account) -> QuerySet[Contact]:
    """The contacts of ``account`` (primary or linked) that ``user`` may view, by name (pinyin order)."""
    linked = Contact.accounts.through.objects.filter(account=account).values("contact_id")
    contacts = Contact.objects.filter(Q(account=account) | Q(pk__in=linked))
    return access.restrict(contacts, user, "view").order_by(*order_terms(Contact, ["name", "pk"]))
