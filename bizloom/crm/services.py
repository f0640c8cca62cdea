"""CRM use cases. Views, the API, imports and automation all call these.

Every write records the audit trail and publishes a ``bizloom.crm.events`` event in the
same transaction (issue #3).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from bizloom.common.errors import DomainError
from bizloom.common.validation import full_clean
from bizloom.crm.events import AccountCreated, AccountDeleted, AccountOwnerChanged, AccountUpdated
from bizloom.crm.models import Account
from bizloom.platform.audit import services as audit
from bizloom.platform.audit.models import AuditEntry
from bizloom.platform.customfields.services import validate_custom_values
from bizloom.platform.events import publish
from bizloom.platform.models import User

ACCOUNT_WRITABLE_FIELDS = frozenset({
    "name", "code", "industry", "tier", "city", "phone", "email", "website", "annual_revenue", "currency",
    "is_customer", "is_supplier", "owner", "notes",
})
CUSTOM_FIELDS_KEY = "custom_fields"


def _assign(account: Account, data: Mapping[str, Any], *, actor: User | None) -> None:
    """Set the given fields; ``data["custom_fields"]`` ({key: value}) is validated and merged into
    ``custom_data`` (all keys on creation, the given ones on update)."""
    if CUSTOM_FIELDS_KEY in data:
        account.custom_data = validate_custom_values(
            Account, data[CUSTOM_FIELDS_KEY], instance=account if account.pk else None,
            partial=account.pk is not None, user=actor)
        data = {k: v for k, v in data.items() if k != CUSTOM_FIELDS_KEY}
    elif account.pk is None:
        account.custom_data = validate_custom_values(Account, {}, user=actor)  # defaults and required fields
    unknown = set(data) - ACCOUNT_WRITABLE_FIELDS
    if unknown:
        raise DomainError(_("Unknown fields: %(fields)s") % {"fields": ", ".join(sorted(unknown))},
                          code="unknown_fields", fields={name: [_("Unknown field.")] for name in unknown})
    for name, value in data.items():
        setattr(account, name, value.strip() if isinstance(value, str) else value)


def _owner_id(state: Mapping[str, Any]) -> int | None:
    owner = state.get("owner")
    return int(owner["id"]) if isinstance(owner, dict) else None


@transaction.atomic
def create_account(data: Mapping[str, Any], *, actor: User) -> Account:
    """Create an account from validated field values; the actor owns it unless another owner is given.

    ``data["custom_fields"]`` holds custom field values by key (any input form, see
    ``customfields.services.validate_custom_values``); defaults fill the keys left out.
    Records a "create" audit entry and publishes AccountCreated.
    Raises ValidationFailed with per-field messages when a value breaks a field rule.
    """
    account = Account()
    _assign(account, {"owner": actor, **data}, actor=actor)
    full_clean(account)
    account.save()
    audit.record_change(account, actor=actor, action=AuditEntry.Action.CREATE, before=None,
                        after=audit.snapshot(account))
    publish(AccountCreated(account_id=account.pk, owner_id=account.owner_id, actor_id=actor.pk))
    return account


@transaction.atomic
def update_account(account: Account, data: Mapping[str, Any], *, actor: User) -> Account:
    """Change the given fields of ``account``. Raises ValidationFailed on invalid values.

    Only the custom fields named in ``data["custom_fields"]`` change (None clears one).

    Records an "update" audit entry with the changed fields and publishes AccountUpdated
    (plus AccountOwnerChanged when the owner changed); an update that changes nothing
    records and publishes nothing.
    """
    account = Account.objects.select_for_update().get(pk=account.pk)
    before = audit.snapshot(account)
    _assign(account, data, actor=actor)
    full_clean(account)
    account.save()
    after = audit.snapshot(account)
    entry = audit.record_change(account, actor=actor, action=AuditEntry.Action.UPDATE, before=before, after=after)
    if entry is not None:
        publish(AccountUpdated(account_id=account.pk, changed=tuple(entry.changes), actor_id=actor.pk))
        if "owner" in entry.changes:
            publish(AccountOwnerChanged(account_id=account.pk, old_owner_id=_owner_id(before),
                                        new_owner_id=_owner_id(after), actor_id=actor.pk))
    return account


@transaction.atomic
def delete_account(account: Account, *, actor: User) -> None:
    """Delete ``account``. Refused while other records refer to it (ProtectedError → DomainError).

    Records a "delete" audit entry with the last values and publishes AccountDeleted;
    a refused deletion records and publishes nothing.
    """
    from django.db.models import ProtectedError

    account_id, name = account.pk, str(account)
    # Recorded first because the entry needs the primary key; a refusal rolls it back.
    audit.record_change(account, actor=actor, action=AuditEntry.Action.DELETE, before=audit.snapshot(account),
                        after=None)
    try:
        account.delete()
    except ProtectedError as error:
        raise DomainError(_("%(account)s is still referred to by other records and cannot be deleted.")
                          % {"account": account}, code="account_in_use") from error
    publish(AccountDeleted(account_id=account_id, account_name=name, actor_id=actor.pk))


@transaction.atomic
def transfer_accounts(accounts: list[Account], new_owner: User, *, actor: User) -> int:
    """Give every account in ``accounts`` to ``new_owner``; returns how many changed.

    One UPDATE for all rows, then one "owner_change" audit entry per changed account
    (written in bulk) and one AccountOwnerChanged event each. Accounts that already
    belong to ``new_owner`` are left alone and get no entry.
    """
    ids = [a.pk for a in accounts]
    changing = list(Account.objects.select_for_update().filter(pk__in=ids).exclude(owner=new_owner)
                    .order_by("pk").values_list("pk", "owner_id"))
    if not changing:
        return 0
    old_owners = User.objects.in_bulk({owner_id for _pk, owner_id in changing if owner_id is not None})
    changed = Account.objects.filter(pk__in=[pk for pk, _owner in changing]).update(owner=new_owner)
    audit.record_bulk(Account, [pk for pk, _owner in changing], actor=actor, action=AuditEntry.Action.OWNER_CHANGE,
                      changes_by_id={pk: {"owner": (old_owners.get(owner_id) if owner_id else None, new_owner)}
                                     for pk, owner_id in changing})
    for pk, owner_id in changing:
        publish(AccountOwnerChanged(account_id=pk, old_owner_id=owner_id, new_owner_id=new_owner.pk,
                                    actor_id=actor.pk))
    return changed
