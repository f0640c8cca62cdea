"""API schemas of leads and their conversion."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, ClassVar

from ninja import Field, FilterLookup, Schema

from bizloom.crm.models import Account, Lead, Source
from bizloom.crm.schemas import Amount, CustomFields
from bizloom.platform.api.listing import ListFilters, OrderingParams
from bizloom.platform.api.pagination import Page
from bizloom.platform.api.schemas import OneOf, ReadSchema, RecordId, WriteSchema
from bizloom.platform.customfields import api as custom_api

LeadStatus = Annotated[str, OneOf(Lead.Status)]
ManualStatus = Annotated[str, OneOf([s for s in Lead.Status.values if s != Lead.Status.CONVERTED])]
LeadSource = Annotated[str, OneOf(Source, blank=True)]
Industry = Annotated[str, OneOf(Account.Industry, blank=True)]
Score = Annotated[int, Field(ge=0, le=100)]

LEAD_ORDERING = {
    "name": "name",
    "company": "company",
    "status": "status",
    "source": "source",
    "score": "score",
    "city": "city",
    "created_at": "created_at",
    "updated_at": "updated_at",
}


class LeadOut(ReadSchema):
    id: int
    name: str
    position: str
    company: str
    company_code: str
    industry: str
    city: str
    mobile: str = Field(description="E.164, e.g. +8613812345678.")
    phone: str = Field(description="E.164, with ;ext=NNN for an extension.")
    email: str
    wechat_id: str
    website: str
    source: str
    campaign: str
    status: str
    score: int
    owner: int | None = Field(description="Id of the owning user.")
    notes: str
    unqualified_reason: str
    converted_at: datetime | None
    converted_account: int | None = Field(description="Id of the account the lead became.")
    converted_contact: int | None = Field(description="Id of the contact the lead became.")
    converted_opportunity: int | None = Field(description="Id of the opportunity created on conversion.")
    created_at: datetime
    updated_at: datetime
    custom_fields: dict[str, Any] = Field(description="Custom field values by key (decimals as strings).")

    @staticmethod
    def resolve_custom_fields(obj: Lead, context: dict[str, Any] | None = None) -> dict[str, Any]:
        request = (context or {}).get("request")
        return custom_api.output(obj, getattr(request, "user", None))

    @staticmethod
    def resolve_owner(obj: Lead) -> int | None:
        return obj.owner_id

    @staticmethod
    def resolve_converted_account(obj: Lead) -> int | None:
        return obj.converted_account_id

    @staticmethod
    def resolve_converted_contact(obj: Lead) -> int | None:
        return obj.converted_contact_id

    @staticmethod
    def resolve_converted_opportunity(obj: Lead) -> int | None:
        return obj.converted_opportunity_id


class LeadPage(Page[LeadOut]):
    """A page of leads."""


class LeadPatch(WriteSchema):
    """Any subset of a lead's fields; fields left out keep their value (custom fields too: only
    the keys sent change). Phones, email and tax id are normalised (E.164, lower case, a unified
    social credit code is checked) and refused with 422 when invalid. The status changes
    through ``POST /leads/{id}/status`` and ``/convert``."""

    access_model: ClassVar[str] = "crm.Lead"

    name: str = Field("", min_length=1, max_length=200)
    position: str = Field("", max_length=100)
    company: str = Field("", max_length=200)
    company_code: str = Field("", max_length=64)
    industry: Industry = ""
    city: str = Field("", max_length=100)
    mobile: str = Field("", max_length=64)
    phone: str = Field("", max_length=64)
    email: str = Field("", max_length=254)
    wechat_id: str = Field("", max_length=64)
    website: str = Field("", max_length=200)
    source: LeadSource = ""
    campaign: str = Field("", max_length=200)
    score: Score = 0
    owner: RecordId | None = None
    notes: str = Field("", max_length=20_000)
    custom_fields: CustomFields = Field(default_factory=dict)


class LeadIn(LeadPatch):
    """Fields of a new lead; the caller owns it unless ``owner`` is given. A lead that looks
    like a lead or contact (same email or phone) or an account (same tax id or company name)
    the caller may see is refused (409 ``duplicate_lead``) unless ``allow_duplicate`` is true."""

    name: str = Field(min_length=1, max_length=200)
    allow_duplicate: bool = Field(False, description="Create the lead even if it looks like an existing record.")


class LeadStatusIn(WriteSchema):
    """A status change: new, contacted, qualified or unqualified (which needs a reason)."""

    access_model: ClassVar[str] = "crm.Lead"

    status: ManualStatus
    reason: str = Field("", max_length=200)


class LeadFilters(ListFilters):
    search_fields = ("name__icontains", "company__icontains", "email__icontains", "mobile__icontains")

    status: Annotated[LeadStatus | None, FilterLookup("status")] = None
    source: Annotated[LeadSource | None, FilterLookup("source")] = None
    owner: Annotated[RecordId | None, FilterLookup("owner_id")] = None
    score_min: Annotated[Score | None, FilterLookup("score__gte")] = None
    score_max: Annotated[Score | None, FilterLookup("score__lte")] = None
    created_from: Annotated[date | None, FilterLookup("created_at__date__gte")] = None
    created_to: Annotated[date | None, FilterLookup("created_at__date__lte")] = None


class LeadOrdering(OrderingParams):
    pass


class MatchOut(Schema):
    """An existing record a lead may be converted into."""

    id: int
    name: str
    rule: str = Field(description="tax_id, email, phone or name.")
    value: str = Field(description="The shared (normalised) value.")


class ConversionMatchesOut(Schema):
    """Accounts and contacts the caller may see that match the lead, best first; ``account`` and
    ``contact`` are the pre-selected best matches (null: create new)."""

    account: int | None
    contact: int | None
    accounts: list[MatchOut]
    contacts: list[MatchOut]


class OpportunityValues(WriteSchema):
    """The opportunity created on conversion; everything is optional (default name
    "<account> – new business", the default pipeline and its first stage)."""

    access_model: ClassVar[str | None] = None

    name: str = Field("", max_length=200)
    amount: Amount | None = None
    currency: str = Field("", max_length=3)
    expected_close: date | None = None
    pipeline: RecordId | None = None
    stage: RecordId | None = None
    description: str = Field("", max_length=20_000)


class ConversionIn(WriteSchema):
    """How to convert: ``account`` / ``contact`` are ids of existing records to use (see
    ``GET /leads/{id}/conversion-matches``); leave them out to create new ones from the lead."""

    access_model: ClassVar[str | None] = None

    account: RecordId | None = None
    contact: RecordId | None = None
    create_opportunity: bool = True
    opportunity: OpportunityValues | None = None
    owner: RecordId | None = Field(None, description="Owner of the new records (default: the lead's owner).")


class ConversionOut(Schema):
    lead: LeadOut
    account: int
    contact: int
    opportunity: int | None
    account_created: bool
    contact_created: bool
