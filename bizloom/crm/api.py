"""CRM REST API: /api/v1/crm/… (thin: selectors read, services write, access decides)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Status

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
from bizloom.platform import access
from bizloom.platform.api.listing import describe_ordering, list_page
from bizloom.platform.api.pagination import PageParams
from bizloom.platform.api.schemas import RecordId
from bizloom.platform.customfields import api as custom_api

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


@router.get("/accounts", response=AccountPage, operation_id="crm_account_list",
            description="Accounts you may see. " + describe_ordering(ACCOUNT_ORDERING) + " " + custom_api.describe())
def list_accounts(request: HttpRequest, filters: Query[AccountFilters], ordering: Query[AccountOrdering],
                  page: Query[PageParams]) -> dict[str, Any]:
    access.require(request.user, Account, "view")
    return list_page(request, selectors.list_accounts(request.user, "view"), filters=filters,
                     ordering=ordering.ordering, allowed=ACCOUNT_ORDERING, default=["name"], page=page)


@router.get("/accounts/{account_id}", response=AccountOut, operation_id="crm_account_get")
def get_account(request: HttpRequest, account_id: RecordId) -> Account:
    access.require(request.user, Account, "view")
    return selectors.get_account(request.user, account_id, "view")


@router.post("/accounts", response={201: AccountOut}, operation_id="crm_account_create")
def create_account(request: HttpRequest, payload: AccountIn) -> Status[Account]:
    access.require(request.user, Account, "add")
    data = _account_data(payload, request.user)
    custom_api.check_writable(request.user, Account, data.get("custom_fields"), "add")
    with custom_api.body_errors():
        account = services.create_account(data, actor=request.user)  # type: ignore[arg-type]
    return Status(201, account)


@router.patch("/accounts/{account_id}", response=AccountOut, operation_id="crm_account_update")
def update_account(request: HttpRequest, account_id: RecordId, payload: AccountPatch) -> Account:
    access.require(request.user, Account, "change")
    account = selectors.get_account(request.user, account_id, "change")
    data = _account_data(payload, request.user)
    custom_api.check_writable(request.user, Account, data.get("custom_fields"), "change")
    with custom_api.body_errors():
        return services.update_account(account, data, actor=request.user)  # type: ignore[arg-type]


@router.delete("/accounts/{account_id}", response={204: None}, operation_id="crm_account_delete")
def delete_account(request: HttpRequest, account_id: RecordId) -> Status[None]:
    access.require(request.user, Account, "delete")
    account = selectors.get_account(request.user, account_id, "delete")
    services.delete_account(account, actor=request.user)  # type: ignore[arg-type]
    return Status(204, None)


# --- contacts (issue #4) ------------------------------------------------------------------


def _contact_data(payload: ContactPatch, user: Any) -> dict[str, Any]:
    """The fields the client sent, as the contact services take them: the owner id becomes a
    user and account ids become accounts the caller may view. ``allow_duplicate`` is not a
    field and is left out."""
    data = apidata.sent_fields(payload)
    data.pop("allow_duplicate", None)
    apidata.resolve_owner(data)
    apidata.resolve_record(data, "account", Account.objects.all(), user, _("No account with this id."))
    apidata.resolve_records(data, "accounts", Account.objects.all(), user, _("No account with this id."))
    return data


@router.get("/contacts", response=ContactPage, operation_id="crm_contact_list",
            description="Contacts you may see. " + describe_ordering(CONTACT_ORDERING) + " " + custom_api.describe())
def list_contacts(request: HttpRequest, filters: Query[ContactFilters], ordering: Query[ContactOrdering],
                  page: Query[PageParams]) -> dict[str, Any]:
    access.require(request.user, Contact, "view")
    return list_page(request, selectors.list_contacts(request.user, "view"), filters=filters,
                     ordering=ordering.ordering, allowed=CONTACT_ORDERING, default=["name"], page=page)


@router.get("/contacts/{contact_id}", response=ContactOut, operation_id="crm_contact_get")
def get_contact(request: HttpRequest, contact_id: RecordId) -> Contact:
    access.require(request.user, Contact, "view")
    return selectors.get_contact(request.user, contact_id, "view")


@router.post("/contacts", response={201: ContactOut}, operation_id="crm_contact_create")
def create_contact(request: HttpRequest, payload: ContactIn) -> Status[Contact]:
    access.require(request.user, Contact, "add")
    data = _contact_data(payload, request.user)
    custom_api.check_writable(request.user, Contact, data.get("custom_fields"), "add")
    with custom_api.body_errors():
        contact = services.create_contact(data, actor=request.user,  # type: ignore[arg-type]
                                          allow_duplicate=payload.allow_duplicate)
    return Status(201, contact)


@router.patch("/contacts/{contact_id}", response=ContactOut, operation_id="crm_contact_update")
def update_contact(request: HttpRequest, contact_id: RecordId, payload: ContactPatch) -> Contact:
    access.require(request.user, Contact, "change")
    contact = selectors.get_contact(request.user, contact_id, "change")
    data = _contact_data(payload, request.user)
    custom_api.check_writable(request.user, Contact, data.get("custom_fields"), "change")
    with custom_api.body_errors():
        return services.update_contact(contact, data, actor=request.user)  # type: ignore[arg-type]


@router.delete("/contacts/{contact_id}", response={204: None}, operation_id="crm_contact_delete")
def delete_contact(request: HttpRequest, contact_id: RecordId) -> Status[None]:
    access.require(request.user, Contact, "delete")
    contact = selectors.get_contact(request.user, contact_id, "delete")
    services.delete_contact(contact, actor=request.user)  # type: ignore[arg-type]
    return Status(204, None)
