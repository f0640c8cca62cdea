"""REST API of leads, mounted under /api/v1/crm/ by ``bizloom.crm.api`` (thin: selectors read,
services write, access decides)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from bizloom.common.errors import ValidationFailed
from bizloom.crm import selectors as crm_selectors
from bizloom.crm.leads import conversion, selectors, services
from bizloom.crm.leads.schemas import (
    LEAD_ORDERING,
    ConversionIn,
    ConversionMatchesOut,
    ConversionOut,
    LeadFilters,
    LeadIn,
    LeadOrdering,
    LeadOut,
    LeadPage,
    LeadPatch,
    LeadStatusIn,
)
from bizloom.crm.leads.services import DuplicateHit
from bizloom.crm.models import Lead, Pipeline, Stage
from bizloom.platform import access
from bizloom.platform.api.listing import describe_ordering, list_page
from bizloom.platform.api.pagination import PageParams
from bizloom.platform.api.schemas import RecordId
from bizloom.platform.customfields import api as custom_api
from bizloom.platform.models import User

router = Router(tags=["crm"])


def _active_user(user_id: int, field: str) -> User:
    owner = User.objects.filter(pk=user_id, is_active=True).first()
    if owner is None:
        message = _("No active user with this id.")
        raise ValidationFailed(message, fields={field: [message]})
    return owner


def _lead_data(payload: LeadPatch) -> dict[str, Any]:
    """The fields the client sent, as the services expect them (the owner id becomes a user)."""
    data = payload.model_dump(exclude_unset=True)
    data.pop("allow_duplicate", None)
    if data.get("owner") is not None:
        data["owner"] = _active_user(data["owner"], "owner")
    elif "owner" in data:
        data["owner"] = None
    return data


@router.get("/leads", response=LeadPage, operation_id="crm_lead_list",
            description="Leads you may see. Filters: status, source, owner, score_min/score_max, "
            "created_from/created_to. " + describe_ordering(LEAD_ORDERING) + " " + custom_api.describe())
def list_leads(request: HttpRequest, filters: Query[LeadFilters], ordering: Query[LeadOrdering],
               page: Query[PageParams]) -> dict[str, Any]:
    access.require(request.user, Lead, "view")
    return list_page(request, selectors.list_leads(request.user, "view"), filters=filters,
                     ordering=ordering.ordering, allowed=LEAD_ORDERING, default=["-created_at"], page=page)


@router.get("/leads/{lead_id}", response=LeadOut, operation_id="crm_lead_get")
def get_lead(request: HttpRequest, lead_id: RecordId) -> Lead:
    access.require(request.user, Lead, "view")
    return selectors.get_lead(request.user, lead_id, "view")


@router.post("/leads", response={201: LeadOut}, operation_id="crm_lead_create")
def create_lead(request: HttpRequest, payload: LeadIn) -> Status[Lead]:
    access.require(request.user, Lead, "add")
    data = _lead_data(payload)
    custom_api.check_writable(request.user, Lead, data.get("custom_fields"), "add")
    with custom_api.body_errors():
        lead = services.create_lead(data, actor=request.user,  # type: ignore[arg-type]
                                    allow_duplicate=payload.allow_duplicate)
    return Status(201, lead)


@router.patch("/leads/{lead_id}", response=LeadOut, operation_id="crm_lead_update")
def update_lead(request: HttpRequest, lead_id: RecordId, payload: LeadPatch) -> Lead:
    access.require(request.user, Lead, "change")
    lead = selectors.get_lead(request.user, lead_id, "change")
    data = _lead_data(payload)
    custom_api.check_writable(request.user, Lead, data.get("custom_fields"), "change")
    with custom_api.body_errors():
        return services.update_lead(lead, data, actor=request.user)  # type: ignore[arg-type]


@router.delete("/leads/{lead_id}", response={204: None}, operation_id="crm_lead_delete")
def delete_lead(request: HttpRequest, lead_id: RecordId) -> Status[None]:
    access.require(request.user, Lead, "delete")
    lead = selectors.get_lead(request.user, lead_id, "delete")
    services.delete_lead(lead, actor=request.user)  # type: ignore[arg-type]
    return Status(204, None)


@router.post("/leads/{lead_id}/status", response=LeadOut, operation_id="crm_lead_status",
             description="Move the lead to new, contacted, qualified or unqualified (with a reason). "
             "409 invalid_transition for a move the workflow does not allow.")
def change_status(request: HttpRequest, lead_id: RecordId, payload: LeadStatusIn) -> Lead:
    access.require(request.user, Lead, "change")
    lead = selectors.get_lead(request.user, lead_id, "change")
    return services.change_lead_status(lead, payload.status, reason=payload.reason,
                                       actor=request.user)  # type: ignore[arg-type]


def _matches_out(hits: list[DuplicateHit]) -> list[dict[str, Any]]:
    return [{"id": hit.record.pk, "name": str(hit.record), "rule": hit.rule, "value": hit.value} for hit in hits]


@router.get("/leads/{lead_id}/conversion-matches", response=ConversionMatchesOut,
            operation_id="crm_lead_conversion_matches",
            description="Existing accounts (same tax id or normalised company name) and contacts (same email "
            "or phone, or same name at the matched account) you may see, best first, before converting.")
def conversion_matches(request: HttpRequest, lead_id: RecordId) -> dict[str, Any]:
    access.require(request.user, Lead, "convert")
    lead = selectors.get_lead(request.user, lead_id, "convert")
    found = conversion.conversion_matches(lead, actor=request.user)  # type: ignore[arg-type]
    return {"account": found.account.pk if found.account else None,
            "contact": found.contact.pk if found.contact else None,
            "accounts": _matches_out(found.accounts), "contacts": _matches_out(found.contacts)}


def _visible(queryset: Any, pk: int | None, field: str) -> Any:
    """The record ``pk`` among ``queryset`` (already access-restricted), or a 422 naming ``field``:
    an id outside the caller's scope reads exactly like one that does not exist."""
    if pk is None:
        return None
    found = queryset.filter(pk=pk).first()
    if found is None:
        message = _("No record with this id.")
        raise ValidationFailed(message, fields={field: [message]})
    return found


@router.post("/leads/{lead_id}/convert", response=ConversionOut, operation_id="crm_lead_convert",
             description="Convert the lead into an account, a contact and (unless create_opportunity is false) an "
             "opportunity, in one transaction. 409 lead_already_converted when it was converted before.")
def convert(request: HttpRequest, lead_id: RecordId, payload: ConversionIn) -> dict[str, Any]:
    access.require(request.user, Lead, "convert")
    lead = selectors.get_lead(request.user, lead_id, "convert")
    user = request.user
    account = _visible(crm_selectors.list_accounts(user), payload.account, "account")
    contact = _visible(crm_selectors.list_contacts(user), payload.contact, "contact")
    owner = _active_user(payload.owner, "owner") if payload.owner is not None else None
    values: dict[str, Any] = (payload.opportunity.model_dump(exclude_unset=True)
                              if payload.opportunity is not None else {})
    if values.get("pipeline") is not None:
        values["pipeline"] = _visible(Pipeline.objects.all(), values["pipeline"], "opportunity.pipeline")
    if values.get("stage") is not None:
        values["stage"] = _visible(Stage.objects.all(), values["stage"], "opportunity.stage")
    result = conversion.convert_lead(lead, actor=user, account=account, contact=contact,  # type: ignore[arg-type]
                                     create_opportunity=payload.create_opportunity, opportunity=values, owner=owner)
    return {"lead": result.lead, "account": result.account.pk, "contact": result.contact.pk,
            "opportunity": result.opportunity.pk if result.opportunity else None,
            "account_created": result.account_created, "contact_created": result.contact_created}
