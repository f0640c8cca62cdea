"""CRM REST API: /api/v1/crm/… (thin: selectors read, services write, access decides)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from ninja import Router

from bizloom.crm import apidata, selectors, services
from bizloom.crm.models import Account, Contact
from bizloom.crm.schemas import (
    ACCOUNT_ORDERING,
    CONTACT_ORDERING,
    AccountFilters,
    AccountIn,
    AccountOrdering,
    AccountOut,
    AccountPage,
    AccountPatch,
    ContactFilters,
    ContactIn,
    ContactOrdering,
    ContactOut,
    ContactPage,
    ContactPatch,
)
from bizloom.platform.api.records import RecordOperations

router = Router(tags=["crm"])
for _area in ("pipeline", "forecast", "leads", "merging", "activities", "contracts"):
    router.add_router("", f"bizloom.crm.{_area}.api.router")


def _account_data(payload: AccountIn, user: Any) -> dict[str, Any]:
    """The fields the client sent, as the account services take them: the owner id becomes a
    user and the parent id an account the caller may view; tags stay names."""
    data = apidata.sent_fields(payload)
    apidata.resolve_owner(data)
    apidata.resolve_record(data, "parent", Account.objects.all(), user, _("No account with this id."))
    return data


accounts = RecordOperations(router, Account, "/accounts", app="crm", name="account", out=AccountOut,
                            get_record=selectors.get_account, services=services, to_data=_account_data)
accounts.list(page=AccountPage, filters=AccountFilters, ordering=AccountOrdering, allowed=ACCOUNT_ORDERING,
              default=["name"], records=selectors.list_accounts, description="Accounts you may see.")
accounts.get()
accounts.create(AccountIn)
accounts.update(AccountPatch)
accounts.delete()


# --- contacts (issue #4) ------------------------------------------------------------------


def _contact_data(payload: ContactPatch, user: Any) -> dict[str, Any]:
    """The fields the client sent, as the contact services take them: the owner id becomes a
    user and account ids become accounts the caller may view (``allow_duplicate`` of a new
    contact is kept for :func:`_create_contact`)."""
    data = apidata.sent_fields(payload)
    apidata.resolve_owner(data)
    apidata.resolve_record(data, "account", Account.objects.all(), user, _("No account with this id."))
    apidata.resolve_records(data, "accounts", Account.objects.all(), user, _("No account with this id."))
    return data


def _create_contact(data: dict[str, Any], *, actor: Any) -> Contact:
    """``allow_duplicate`` is not a field but a flag of the create service."""
    allow_duplicate = data.pop("allow_duplicate", False)
    return services.create_contact(data, actor=actor, allow_duplicate=allow_duplicate)


contacts = RecordOperations(router, Contact, "/contacts", app="crm", name="contact", out=ContactOut,
                            get_record=selectors.get_contact, services=services, to_data=_contact_data)
contacts.list(page=ContactPage, filters=ContactFilters, ordering=ContactOrdering, allowed=CONTACT_ORDERING,
              default=["name"], records=selectors.list_contacts, description="Contacts you may see.")
contacts.get()
contacts.create(ContactIn, _create_contact)
contacts.update(ContactPatch)
contacts.delete()
