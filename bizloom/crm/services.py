"""CRM use cases. Views, the API, imports and automation all call these."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from bizloom.common.errors import DomainError
from bizloom.common.validation import full_clean
from bizloom.crm.models import Account
from bizloom.platform.models import User

ACCOUNT_WRITABLE_FIELDS = frozenset({
    "name", "code", "industry", "tier", "city", "phone", "email", "website", "annual_revenue", "currency",
    "is_customer", "is_supplier", "owner", "notes",
})


def _assign(account: Account, data: Mapping[str, Any]) -> None:
    unknown = set(data) - ACCOUNT_WRITABLE_FIELDS
    if unknown:
        raise DomainError(_("Unknown fields: %(fields)s") % {"fields": ", ".join(sorted(unknown))},
                          code="unknown_fields", fields={name: [_("Unknown field.")] for name in unknown})
    for name, value in data.items():
        setattr(account, name, value.strip() if isinstance(value, str) else value)


@transaction.atomic
def create_account(data: Mapping[str, Any], *, actor: User) -> Account:
    """Create an account from validated field values; the actor owns it unless another owner is given.

    Raises ValidationFailed with per-field messages when a value breaks a field rule.
    """
    account = Account()
    _assign(account, {"owner": actor, **data})
    full_clean(account)
    account.save()
    return account


@transaction.atomic
def update_account(account: Account, data: Mapping[str, Any], *, actor: User) -> Account:
    """Change the given fields of ``account``. Raises ValidationFailed on invalid values."""
    account = Account.objects.select_for_update().get(pk=account.pk)
    _assign(account, data)
    full_clean(account)
    account.save()
    return account


@transaction.atomic
def delete_account(account: Account, *, actor: User) -> None:
    """Delete ``account``. Refused while other records refer to it (ProtectedError → DomainError)."""
    from django.db.models import ProtectedError

    try:
        account.delete()
    except ProtectedError as error:
        raise DomainError(_("%(account)s is still referred to by other records and cannot be deleted.")
                          % {"account": account}, code="account_in_use") from error


@transaction.atomic
def transfer_accounts(accounts: list[Account], new_owner: User, *, actor: User) -> int:
    """Give every account in ``accounts`` to ``new_owner``; returns how many changed."""
    ids = [a.pk for a in accounts]
    return Account.objects.filter(pk__in=ids).exclude(owner=new_owner).update(owner=new_owner)
