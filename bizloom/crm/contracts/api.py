"""REST API of contracts, mounted under /api/v1/crm/ by ``bizloom.crm.api`` (thin: selectors
read, services write, access decides)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router

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
from bizloom.platform.api.records import RecordOperations
from bizloom.platform.api.schemas import RecordId
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


contracts = RecordOperations(router, Contract, "/contracts", app="crm", name="contract", out=ContractOut,
                             get_record=selectors.get_contract, services=services, to_data=_contract_data)
contracts.list(page=ContractPage, filters=ContractFilters, ordering=ContractOrdering, allowed=CONTRACT_ORDERING,
               default=["-start_date", "-id"], records=selectors.list_contracts,
               description="Contracts you may see. Filters: status, account, owner, opportunity, end date range.")
contracts.get()
contracts.create(ContractIn, description="Create a draft contract; its number is assigned.")
contracts.update(ContractPatch, description="Change a draft or active contract (409 contract_not_editable otherwise).")
contracts.delete(description="Delete a draft contract (409 for a signed one: terminate it instead).")


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
