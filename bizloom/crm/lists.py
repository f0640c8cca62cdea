"""Declarations of the CRM list and detail pages (the platform kit renders them)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from bizloom.crm import selectors, services
from bizloom.crm.models import Account, Contact, Tag
from bizloom.platform.detail import DetailAction, DetailConfig, FieldGroup
from bizloom.platform.listing import (
    BooleanFilter,
    ChoiceFilter,
    Column,
    DateRangeFilter,
    Filter,
    ListConfig,
    OwnerFilter,
)
from bizloom.platform.listing.bulk import delete_action, transfer_owner_action
from bizloom.platform.listing.filters import TextFilter

TAG_FILTER_OPTIONS = 200


@dataclass(frozen=True)
class TagFilter(Filter):
    """Accounts carrying one tag (``?tags=<name>``, matched ignoring case); the options are the
    tags in use, read when the page renders."""

    kind = "choice"

    def options(self) -> Sequence[tuple[str, Any]]:
        """The first 200 tags by name."""
        return [(name, name) for name in Tag.objects.order_by("name").values_list("name", flat=True)
                [:TAG_FILTER_OPTIONS]]

    def clean(self, raw: Mapping[str, str]) -> dict[str, str]:
        """Any non-blank name of a possible tag (at most 50 characters, no NUL)."""
        value = raw.get(self.param, "").strip()
        return {self.param: value} if value and len(value) <= 50 and "\x00" not in value else {}

    def apply(self, queryset: QuerySet[Any], values: Mapping[str, str], user: Any) -> QuerySet[Any]:
        """Records linked to the tag named ``value``."""
        if self.param not in values:
            return queryset
        through = queryset.model._meta.get_field(self.field).remote_field.through
        tagged = through.objects.filter(tag__name__iexact=values[self.param]).values("account_id")
        return queryset.filter(pk__in=tagged)


def tag_names(account: Account) -> str:
    """The account's tag names, comma-separated (from the prefetched tags)."""
    return ", ".join(sorted(tag.name for tag in account.tags.all()))

ACCOUNT_LIST = ListConfig(
    key="crm.account",
    model=Account,
    queryset=selectors.list_accounts,
    url_prefix="crm:account",
    columns=[
        Column("name", link=True),
        Column("code"),
        Column("industry"),
        Column("size"),
        Column("tier"),
        Column("city"),
        Column("parent", sort_field="parent__name"),
        Column("tags", value=tag_names, sortable=False, kind="text"),
        Column("phone", sortable=False),
        Column("email"),
        Column("owner", sort_field="owner__username"),
        Column("annual_revenue", currency_field="currency"),
        Column("billing_address", sortable=False),
        Column("shipping_address", sortable=False),
        Column("is_customer"),
        Column("is_supplier"),
        Column("created_at"),
        Column("updated_at"),
    ],
    default_columns=("name", "industry", "tier", "city", "owner", "annual_revenue"),
    search_fields=("name", "code", "city", "email", "phone"),
    filters=[
        ChoiceFilter("industry"),
        ChoiceFilter("size"),
        ChoiceFilter("tier"),
        TagFilter("tags", label=_("Tag")),
        BooleanFilter("is_customer"),
        BooleanFilter("is_supplier"),
        OwnerFilter("owner"),
        DateRangeFilter("created_at"),
    ],
    default_sort="name",
    custom_fields=True,
    bulk_actions=[transfer_owner_action(services.transfer_accounts),
                  delete_action(services.delete_account, confirm=_("Delete the selected accounts?"))],
)

# Shown first on the page of a key (tier A) account, after the other groups otherwise.
ACCOUNT_PLAN_GROUP = FieldGroup(_("Account plan"), ["account_plan"])

ACCOUNT_DETAIL = DetailConfig(
    model=Account,
    back_url_name="crm:account_list",
    groups=[
        FieldGroup(_("Company"), ["code", "industry", "size", "tier", "parent", "city", "is_customer", "is_supplier",
                                  "owner", Column("tags", value=tag_names, kind="text")]),
        FieldGroup(_("Contact"), ["phone", "email", "website"]),
        FieldGroup(_("Addresses"), ["billing_address", "shipping_address"]),
        FieldGroup(_("Business"), [Column("annual_revenue", currency_field="currency"), "currency", "notes"]),
        ACCOUNT_PLAN_GROUP,
    ],
    actions=[
        DetailAction(_("Edit"), "crm:account_update", "change", style="primary"),
        DetailAction(_("Delete"), "crm:account_delete", "delete", method="post", style="danger",
                     confirm=_("Delete this account?")),
    ],
    template="crm/account_detail.html",  # the 360 header above the fields
)


CONTACT_LIST = ListConfig(
    key="crm.contact",
    model=Contact,
    queryset=selectors.list_contacts,
    url_prefix="crm:contact",
    columns=[
        Column("name", link=True),
        Column("account", sort_field="account__name"),
        Column("position"),
        Column("department"),
        Column("is_key_contact"),
        Column("mobile", sortable=False),
        Column("phone", sortable=False),
        Column("email"),
        Column("wechat_id", sortable=False),
        Column("birthday"),
        Column("consent_email"),
        Column("consent_sms"),
        Column("owner", sort_field="owner__username"),
        Column("created_at"),
        Column("updated_at"),
    ],
    default_columns=("name", "account", "position", "is_key_contact", "mobile", "email", "owner", "created_at"),
    search_fields=("name", "email", "mobile", "wechat_id"),
    filters=[
        TextFilter("account__name", label=_("Account")),
        OwnerFilter("owner"),
        BooleanFilter("is_key_contact"),
        BooleanFilter("consent_email"),
        BooleanFilter("consent_sms"),
        DateRangeFilter("created_at"),
    ],
    default_sort="name",
    custom_fields=True,
    bulk_actions=[transfer_owner_action(services.transfer_contacts),
                  delete_action(services.delete_contact, confirm=_("Delete the selected contacts?"))],
)

CONTACT_DETAIL = DetailConfig(
    model=Contact,
    back_url_name="crm:contact_list",
    groups=[
        FieldGroup(_("Person"), ["account", "position", "department", "is_key_contact", "birthday", "owner"]),
        FieldGroup(_("Contact"), ["mobile", "phone", "email", "wechat_id"]),
        FieldGroup(_("Consent"), ["consent_email", "consent_email_at", "consent_sms", "consent_sms_at"]),
        FieldGroup(_("Notes"), ["notes"]),
    ],
    actions=[
        DetailAction(_("Edit"), "crm:contact_update", "change", style="primary"),
        DetailAction(_("Delete"), "crm:contact_delete", "delete", method="post", style="danger",
                     confirm=_("Delete this contact?")),
    ],
    template="crm/contact_detail.html",
)
