"""API schemas of CRM records."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar

from django.db.models import Q
from ninja import Field, FilterLookup

from bizloom.crm.models import Account, Contact
from bizloom.platform.api.listing import ListFilters, OrderingParams
from bizloom.platform.api.pagination import Page
from bizloom.platform.api.schemas import OneOf, ReadSchema, RecordId, WriteSchema, amount_str
from bizloom.platform.customfields import api as custom_api

Amount = Annotated[Decimal, Field(max_digits=19, decimal_places=4, allow_inf_nan=False,
                                  description="Decimal amount; send and receive as a string, e.g. \"1250.50\".")]
Industry = Annotated[str, OneOf(Account.Industry, blank=True)]
Tier = Annotated[str, OneOf(Account.Tier)]
Size = Annotated[str, OneOf(Account.Size, blank=True)]
CustomFields = Annotated[dict[str, Any], Field(
    max_length=200, description="Custom field values by key: text, numbers (decimals as strings), ISO dates, "
    "true/false, a choice value, a list of choice values, or a record id. null clears a value.")]
TagNames = Annotated[list[Annotated[str, Field(max_length=200)]], Field(
    max_length=50, description="Tag names; a name that does not exist yet creates the tag (matched ignoring case).")]

ACCOUNT_ORDERING = {
    "name": "name",
    "code": "code",
    "industry": "industry",
    "size": "size",
    "tier": "tier",
    "city": "city",
    "annual_revenue": "annual_revenue",
    "created_at": "created_at",
    "updated_at": "updated_at",
}


class AccountOut(ReadSchema):
    id: int
    name: str
    code: str
    industry: str
    size: str
    tier: str
    city: str
    phone: str
    email: str
    website: str
    annual_revenue: str | None = Field(description="Decimal amount as a string.")
    currency: str
    is_customer: bool
    is_supplier: bool
    owner: int | None = Field(description="Id of the owning user.")
    parent: int | None = Field(description="Id of the parent account.")
    tags: list[str] = Field(description="Tag names, sorted.")
    billing_address: str
    shipping_address: str
    account_plan: str
    notes: str
    created_at: datetime
    updated_at: datetime
    custom_fields: dict[str, Any] = Field(description="Custom field values by key (decimals as strings).")

    @staticmethod
    def resolve_custom_fields(obj: Account, context: dict[str, Any] | None = None) -> dict[str, Any]:
        request = (context or {}).get("request")
        return custom_api.output(obj, getattr(request, "user", None))

    @staticmethod
    def resolve_parent(obj: Account) -> int | None:
        return obj.parent_id

    @staticmethod
    def resolve_tags(obj: Account) -> list[str]:
        return sorted(tag.name for tag in obj.tags.all())

    @staticmethod
    def resolve_annual_revenue(obj: Account) -> str | None:
        return amount_str(obj.annual_revenue, Account._meta.get_field("annual_revenue").decimal_places)

    @staticmethod
    def resolve_owner(obj: Account) -> int | None:
        return obj.owner_id


class AccountPage(Page[AccountOut]):
    """A page of accounts."""


class AccountIn(WriteSchema):
    """Fields of a new account; the caller owns it unless ``owner`` is given."""

    name: str = Field(min_length=1, max_length=200)
    code: str = Field("", max_length=32)
    industry: Industry = ""
    size: Size = ""
    tier: Tier = Account.Tier.C.value
    city: str = Field("", max_length=100)
    phone: str = Field("", max_length=32)
    email: str = Field("", max_length=254)
    website: str = Field("", max_length=200)
    annual_revenue: Amount | None = None
    currency: str = Field("CNY", min_length=3, max_length=3)
    is_customer: bool = True
    is_supplier: bool = False
    owner: RecordId | None = None
    parent: RecordId | None = Field(None, description="Id of the parent account (one you may see; no cycles).")
    tags: TagNames = Field(default_factory=list)
    billing_address: str = Field("", max_length=2000)
    shipping_address: str = Field("", max_length=2000)
    account_plan: str = Field("", max_length=20_000)
    notes: str = Field("", max_length=20_000)
    custom_fields: CustomFields = Field(default_factory=dict)


class AccountPatch(AccountIn):
    """Any subset of an account's fields; fields left out keep their value (custom fields too:
    only the keys sent change)."""

    name: str = Field("", min_length=1, max_length=200)


class AccountFilters(ListFilters):
    search_fields = ("name__icontains", "code__icontains", "city__icontains", "email__icontains")

    industry: Annotated[Industry | None, FilterLookup("industry")] = None
    size: Annotated[Size | None, FilterLookup("size")] = None
    tier: Annotated[Tier | None, FilterLookup("tier")] = None
    is_customer: Annotated[bool | None, FilterLookup("is_customer")] = None
    is_supplier: Annotated[bool | None, FilterLookup("is_supplier")] = None
    owner: Annotated[RecordId | None, FilterLookup("owner_id")] = None
    parent: Annotated[RecordId | None, FilterLookup("parent_id")] = None
    tag: str | None = Field(None, max_length=50, description="Accounts carrying this tag (ignoring case).")

    def filter_tag(self, value: str | None) -> Q:
        """Accounts linked to the tag named ``value``."""
        if not value:
            return Q()
        return Q(pk__in=Account.tags.through.objects.filter(tag__name__iexact=value.strip()).values("account_id"))


class AccountOrdering(OrderingParams):
    pass


# --- contacts (issue #4) ------------------------------------------------------------------

CONTACT_ORDERING = {
    "name": "name",
    "account": "account__name",
    "position": "position",
    "department": "department",
    "email": "email",
    "birthday": "birthday",
    "created_at": "created_at",
    "updated_at": "updated_at",
}


class ContactOut(ReadSchema):
    id: int
    name: str
    position: str
    department: str
    is_key_contact: bool
    account: int | None = Field(description="Id of the primary account.")
    accounts: list[int] = Field(description="Ids of the other linked accounts.")
    mobile: str = Field(description="E.164, e.g. +8613812345678.")
    phone: str = Field(description="E.164, with ;ext=NNN for an extension.")
    email: str
    wechat_id: str
    birthday: date | None
    consent_email: bool
    consent_email_at: datetime | None
    consent_sms: bool
    consent_sms_at: datetime | None
    owner: int | None = Field(description="Id of the owning user.")
    notes: str
    created_at: datetime
    updated_at: datetime
    custom_fields: dict[str, Any] = Field(description="Custom field values by key (decimals as strings).")

    @staticmethod
    def resolve_custom_fields(obj: Contact, context: dict[str, Any] | None = None) -> dict[str, Any]:
        request = (context or {}).get("request")
        return custom_api.output(obj, getattr(request, "user", None))

    @staticmethod
    def resolve_account(obj: Contact) -> int | None:
        return obj.account_id

    @staticmethod
    def resolve_accounts(obj: Contact) -> list[int]:
        return sorted(account.pk for account in obj.accounts.all())

    @staticmethod
    def resolve_owner(obj: Contact) -> int | None:
        return obj.owner_id


class ContactPage(Page[ContactOut]):
    """A page of contacts."""


class ContactPatch(WriteSchema):
    """Any subset of a contact's fields; fields left out keep their value (custom fields too:
    only the keys sent change; ``accounts`` replaces the linked accounts). Phones and emails
    are normalised (E.164, lower case) and refused with 422 when invalid."""

    access_model: ClassVar[str] = "crm.Contact"

    name: str = Field("", min_length=1, max_length=200)
    position: str = Field("", max_length=100)
    department: str = Field("", max_length=100)
    is_key_contact: bool = False
    account: RecordId | None = None
    accounts: list[RecordId] = Field(default_factory=list, max_length=100)
    mobile: str = Field("", max_length=64)
    phone: str = Field("", max_length=64)
    email: str = Field("", max_length=254)
    wechat_id: str = Field("", max_length=64)
    birthday: date | None = None
    consent_email: bool = False
    consent_sms: bool = False
    owner: RecordId | None = None
    notes: str = Field("", max_length=20_000)
    custom_fields: CustomFields = Field(default_factory=dict)


class ContactIn(ContactPatch):
    """Fields of a new contact; the caller owns it unless ``owner`` is given. A contact with
    the email or a phone of one the caller may see is refused (409 ``duplicate_contact``)
    unless ``allow_duplicate`` is true."""

    name: str = Field(min_length=1, max_length=200)
    allow_duplicate: bool = Field(False, description="Create the contact even if a duplicate exists.")


class ContactFilters(ListFilters):
    search_fields = ("name__icontains", "email__icontains", "mobile__icontains", "wechat_id__icontains")

    account: Annotated[RecordId | None, FilterLookup("account_id")] = None
    owner: Annotated[RecordId | None, FilterLookup("owner_id")] = None
    is_key_contact: Annotated[bool | None, FilterLookup("is_key_contact")] = None
    consent_email: Annotated[bool | None, FilterLookup("consent_email")] = None
    consent_sms: Annotated[bool | None, FilterLookup("consent_sms")] = None


class ContactOrdering(OrderingParams):
    pass
