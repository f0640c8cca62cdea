"""API schemas of contracts."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar

from ninja import Field, FilterLookup

from bizloom.crm.contracts.services import MAX_NOTICE_DAYS, MAX_REASON_LENGTH
from bizloom.crm.models import Contract
from bizloom.crm.schemas import CustomFields
from bizloom.platform.api.listing import ListFilters, OrderingParams
from bizloom.platform.api.pagination import Page
from bizloom.platform.api.schemas import OneOf, ReadSchema, RecordId, WriteSchema, amount_str
from bizloom.platform.customfields import api as custom_api

NonNegativeAmount = Annotated[Decimal, Field(ge=0, max_digits=19, decimal_places=4, allow_inf_nan=False,
                                             description="Decimal amount ≥ 0; send and receive as a string.")]
Status = Annotated[str, OneOf(Contract.Status)]

CONTRACT_ORDERING = {
    "number": "number",
    "title": "title",
    "status": "status",
    "amount": "amount",
    "start_date": "start_date",
    "end_date": "end_date",
    "signed_on": "signed_on",
    "created_at": "created_at",
    "updated_at": "updated_at",
}


class ContractOut(ReadSchema):
    id: int
    number: str
    title: str
    account: int = Field(description="Id of the account.")
    contact: int | None = Field(description="Id of the contact who signed (a contact of the account).")
    opportunity: int | None = Field(description="Id of the opportunity it came from.")
    owner: int | None = Field(description="Id of the owning user.")
    customer_reference: str
    amount: str = Field(description="Decimal amount as a string.")
    currency: str
    payment_terms: str
    status: str = Field(description="draft, active, expired or terminated.")
    signed_on: date | None
    start_date: date
    end_date: date
    renewal_notice_days: int
    renewal_reminded_at: datetime | None
    signed_document: int | None = Field(description="Id of the attachment marked as the signed document.")
    terminated_at: datetime | None
    termination_reason: str
    notes: str
    created_at: datetime
    updated_at: datetime
    custom_fields: dict[str, Any] = Field(description="Custom field values by key (decimals as strings).")

    @staticmethod
    def resolve_custom_fields(obj: Contract, context: dict[str, Any] | None = None) -> dict[str, Any]:
        request = (context or {}).get("request")
        return custom_api.output(obj, getattr(request, "user", None))

    @staticmethod
    def resolve_amount(obj: Contract) -> str | None:
        return amount_str(obj.amount, Contract._meta.get_field("amount").decimal_places)

    @staticmethod
    def resolve_account(obj: Contract) -> int:
        return obj.account_id

    @staticmethod
    def resolve_contact(obj: Contract) -> int | None:
        return obj.contact_id

    @staticmethod
    def resolve_opportunity(obj: Contract) -> int | None:
        return obj.opportunity_id

    @staticmethod
    def resolve_owner(obj: Contract) -> int | None:
        return obj.owner_id

    @staticmethod
    def resolve_signed_document(obj: Contract) -> int | None:
        return obj.signed_document_id


class ContractPage(Page[ContractOut]):
    """A page of contracts."""


class ContractPatch(WriteSchema):
    """Any subset of a draft or active contract's fields; fields left out keep their value
    (custom fields too: only the keys sent change). The account changes only while draft."""

    access_model: ClassVar[str] = "crm.Contract"

    title: str = Field("", min_length=1, max_length=200)
    account: RecordId | None = None
    contact: RecordId | None = None
    opportunity: RecordId | None = None
    owner: RecordId | None = None
    customer_reference: str = Field("", max_length=64)
    amount: NonNegativeAmount = Decimal(0)
    currency: str = Field("CNY", min_length=3, max_length=3)
    payment_terms: str = Field("", max_length=200)
    signed_on: date | None = None
    start_date: date | None = None
    end_date: date | None = Field(None, description="On or after the start date.")
    renewal_notice_days: int = Field(30, ge=0, le=MAX_NOTICE_DAYS,
                                     description="Days before the end date the owner is reminded.")
    notes: str = Field("", max_length=20_000)
    custom_fields: CustomFields = Field(default_factory=dict)


class ContractIn(ContractPatch):
    """Fields of a new (draft) contract; the caller owns it unless ``owner`` is given. The number
    is assigned (HT-<year>-<sequence>). ``account``, ``start_date`` and ``end_date`` are required."""

    title: str = Field(min_length=1, max_length=200)
    account: RecordId | None = Field(None, description="Id of the account (required).")


class ContractActivateIn(WriteSchema):
    """Activate a draft contract; ``signed_on`` is needed unless the contract already has one."""

    access_model: ClassVar[str] = "crm.Contract"

    signed_on: date | None = None


class ContractTerminateIn(WriteSchema):
    """Terminate a draft or active contract."""

    access_model: ClassVar[str] = "crm.Contract"

    reason: str = Field(min_length=1, max_length=MAX_REASON_LENGTH)


class ContractSignedDocumentIn(WriteSchema):
    """Mark a PDF or image already attached to the contract (its timeline) as the signed document."""

    access_model: ClassVar[str] = "crm.Contract"

    attachment: RecordId


class ContractFilters(ListFilters):
    search_fields = ("number__icontains", "title__icontains", "customer_reference__icontains")

    status: Annotated[Status | None, FilterLookup("status")] = None
    account: Annotated[RecordId | None, FilterLookup("account_id")] = None
    owner: Annotated[RecordId | None, FilterLookup("owner_id")] = None
    opportunity: Annotated[RecordId | None, FilterLookup("opportunity_id")] = None
    end_date_from: Annotated[date | None, FilterLookup("end_date__gte")] = None
    end_date_to: Annotated[date | None, FilterLookup("end_date__lte")] = None


class ContractOrdering(OrderingParams):
    pass
