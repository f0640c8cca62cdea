"""REST API of leads, mounted under /api/v1/crm/ by ``bizloom.crm.api`` (thin: selectors read,
services write, access decides)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router

from bizloom.crm import apidata
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
from bizloom.platform.api.records import RecordOperations
from bizloom.platform.api.schemas import RecordId

router = Router(tags=["crm"])


def _lead_data(payload: LeadPatch, user: Any) -> dict[str, Any]:
    """The fields the client sent, as the services expect them (the owner id becomes a user;
    ``allow_duplicate`` of a new lead is kept for :func:`_create_lead`)."""
    data = apidata.sent_fields(payload)
    apidata.resolve_owner(data)
    return data


def _create_lead(data: dict[str, Any], *, actor: Any) -> Lead:
    """``allow_duplicate`` is not a field but a flag of the create service."""
    allow_duplicate = data.pop("allow_duplicate", False)
    return services.create_lead(data, actor=actor, allow_duplicate=allow_duplicate)


leads = RecordOperations(router, Lead, "/leads", app="crm", name="lead", out=LeadOut,
                         get_record=selectors.get_lead, services=services, to_data=_lead_data)
leads.list(page=LeadPage, filters=LeadFilters, ordering=LeadOrdering, allowed=LEAD_ORDERING, default=["-created_at"],
           records=selectors.list_leads, description="Leads you may see. Filters: status, source, owner, "
           "score_min/score_max, created_from/created_to.")
leads.get()
leads.create(LeadIn, _create_lead)
leads.update(LeadPatch)
leads.delete()


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
    return None if pk is None else apidata.record(queryset, pk, field, _("No record with this id."))


@router.post("/leads/{lead_id}/convert", response=ConversionOut, operation_id="crm_lead_convert",
             description="Convert the lead into an account, a contact and (unless create_opportunity is false) an "
             "opportunity, in one transaction. 409 lead_already_converted when it was converted before.")
def convert(request: HttpRequest, lead_id: RecordId, payload: ConversionIn) -> dict[str, Any]:
    access.require(request.user, Lead, "convert")
    lead = selectors.get_lead(request.user, lead_id, "convert")
    user = request.user
    account = _visible(crm_selectors.list_accounts(user), payload.account, "account")
    contact = _visible(crm_selectors.list_contacts(user), payload.contact, "contact")
    owner = apidata.active_user(payload.owner) if payload.owner is not None else None
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
