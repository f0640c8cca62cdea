"""REST API of contracts, mounted under /api/v1/crm/ by ``bizloom.crm.api`` (thin: selectors
read, services write, access decides)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from bizloom.common.errors import ValidationFailed
from bizloom.crm import apidata
from bizloom.crm.contracts import selectors, services
from bizloom.crm.contracts.schemas import (
    CONTRACT_ORDERING,
    ContractActivateIn,
    ContractFilters,
    ContractIn,
    ContractOrdering,
    ContractOut,
    ContractPage,
    ContractPatch,
    ContractSignedDocumentIn,
    ContractTerminateIn,
)
from bizloom.crm.models import Account, Contact, Contract, Opportunity
from bizloom.platform import access
from bizloom.platform.api.listing import describe_ordering, list_page
from bizloom.platform.api.pagination import PageParams
from bizloom.platform.api.schemas import RecordId
from bizloom.platform.customfields import api as custom_api
from bizloom.platform.timeline.models import Attachment

router = Router(tags=["crm"])


def _contract_data(payload: ContractPatch, user: Any) -> dict[str, Any]:
    """The fields the client sent, as the contract services take them (ids → records the caller may view)."""
    data = apidata.sent_fields(payload)
    apidata.resolve_owner(data)
    apidata.resolve_record(data, "account", Account.objects.all(), user, _("No account with this id."))
    apidata.resolve_record(data, "contact", Contact.objects.all(), user, _("No contact with this id."))
    apidata.resolve_record(data, "opportunity", Opportunity.objects.all(), user, _("No opportunity with this id."))
    return data


@router.get("/contracts", response=ContractPage, operation_id="crm_contract_list",
            description="Contracts you may see. Filters: status, account, owner, opportunity, end date range. "
            + describe_ordering(CONTRACT_ORDERING) + " " + custom_api.describe())
def list_contracts(request: HttpRequest, filters: Query[ContractFilters], ordering: Query[ContractOrdering],
                   page: Query[PageParams]) -> dict[str, Any]:
    access.require(request.user, Contract, "view")
    return list_page(request, selectors.list_contracts(request.user, "view"), filters=filters,
                     ordering=ordering.ordering, allowed=CONTRACT_ORDERING, default=["-start_date", "-id"],
                     page=page)


@router.get("/contracts/{contract_id}", response=ContractOut, operation_id="crm_contract_get")
def get_contract(request: HttpRequest, contract_id: RecordId) -> Contract:
    access.require(request.user, Contract, "view")
    return selectors.get_contract(request.user, contract_id, "view")


@router.post("/contracts", response={201: ContractOut}, operation_id="crm_contract_create",
             description="Create a draft contract; its number is assigned.")
def create_contract(request: HttpRequest, payload: ContractIn) -> Status[Contract]:
    access.require(request.user, Contract, "add")
    data = _contract_data(payload, request.user)
    custom_api.check_writable(request.user, Contract, data.get("custom_fields"), "add")
    with custom_api.body_errors():
        contract = services.create_contract(data, actor=request.user)
    return Status(201, contract)


@router.patch("/contracts/{contract_id}", response=ContractOut, operation_id="crm_contract_update",
              description="Change a draft or active contract (409 contract_not_editable otherwise).")
def update_contract(request: HttpRequest, contract_id: RecordId, payload: ContractPatch) -> Contract:
    access.require(request.user, Contract, "change")
    contract = selectors.get_contract(request.user, contract_id, "change")
    data = _contract_data(payload, request.user)
    custom_api.check_writable(request.user, Contract, data.get("custom_fields"), "change")
    with custom_api.body_errors():
        return services.update_contract(contract, data, actor=request.user)


@router.delete("/contracts/{contract_id}", response={204: None}, operation_id="crm_contract_delete",
               description="Delete a draft contract (409 for a signed one: terminate it instead).")
def delete_contract(request: HttpRequest, contract_id: RecordId) -> Status[None]:
    access.require(request.user, Contract, "delete")
    contract = selectors.get_contract(request.user, contract_id, "delete")
    services.delete_contract(contract, actor=request.user)
    return Status(204, None)


@router.post("/contracts/{contract_id}/activate", response=ContractOut, operation_id="crm_contract_activate",
             description="Draft → active. Needs signed_on (in the body or already on the contract).")
def activate_contract(request: HttpRequest, contract_id: RecordId, payload: ContractActivateIn) -> Contract:
    access.require(request.user, Contract, "activate")
    contract = selectors.get_contract(request.user, contract_id, "activate")
    return services.activate_contract(contract, signed_on=payload.signed_on, actor=request.user)


@router.post("/contracts/{contract_id}/terminate", response=ContractOut, operation_id="crm_contract_terminate",
             description="Draft or active → terminated, with a reason.")
def terminate_contract(request: HttpRequest, contract_id: RecordId, payload: ContractTerminateIn) -> Contract:
    access.require(request.user, Contract, "terminate")
    contract = selectors.get_contract(request.user, contract_id, "terminate")
    return services.terminate_contract(contract, payload.reason, actor=request.user)


@router.post("/contracts/{contract_id}/signed-document", response=ContractOut,
             operation_id="crm_contract_signed_document",
             description="Mark a PDF or image attached to the contract (upload it to the contract's timeline "
                         "first) as the signed document.")
def mark_signed_document(request: HttpRequest, contract_id: RecordId, payload: ContractSignedDocumentIn) -> Contract:
    access.require(request.user, Contract, "change")
    contract = selectors.get_contract(request.user, contract_id, "change")
    attachment = Attachment.objects.filter(pk=payload.attachment).first()
    if attachment is None:
        message = _("This file is not attached to the contract.")
        raise ValidationFailed(message, code="signed_document_elsewhere", fields={"attachment": [message]})
    return services.mark_signed_document(contract, attachment, actor=request.user)
