"""Declarations of the CRM list and detail pages (the platform kit renders them)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from bizloom.crm import selectors, services
from bizloom.crm.models import Account, Contact
from bizloom.platform.detail import DetailAction, DetailConfig, FieldGroup
from bizloom.platform.listing import (
    BooleanFilter,
    ChoiceFilter,
    Column,
    DateRangeFilter,
    ListConfig,
    OwnerFilter,
)
from bizloom.platform.listing.bulk import delete_action, transfer_owner_action
from bizloom.platform.listing.filters import TextFilter

ACCOUNT_LIST = ListConfig(
    key="crm.account",
    model=Account,
    queryset=selectors.list_accounts,
    url_prefix="crm:account",
    columns=[
        Column("name", link=True),
        Column("code"),
        Column("industry"),
        Column("tier"),
        Column("city"),
        Column("phone", sortable=False),
        Column("email"),
        Column("owner", sort_field="owner__username"),
        Column("annual_revenue", currency_field="currency"),
        Column("is_customer"),
        Column("is_supplier"),
        Column("created_at"),
        Column("updated_at"),
    ],
    default_columns=("name", "industry", "tier", "city", "owner", "annual_revenue"),
    search_fields=("name", "code", "city", "email", "phone"),
    filters=[
        ChoiceFilter("industry"),
        ChoiceFilter("tier"),
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

ACCOUNT_DETAIL = DetailConfig(
    model=Account,
    back_url_name="crm:account_list",
    groups=[
        FieldGroup(_("Company"), ["code", "industry", "tier", "city", "is_customer", "is_supplier", "owner"]),
        FieldGroup(_("Contact"), ["phone", "email", "website"]),
        FieldGroup(_("Business"), [Column("annual_revenue", currency_field="currency"), "currency", "notes"]),
    ],
    actions=[
        DetailAction(_("Edit"), "crm:account_update", "change", style="primary"),
        DetailAction(_("Delete"), "crm:account_delete", "delete", method="post", style="danger",
                     confirm=_("Delete this account?")),
    ],
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
    default_columns=("name", "account", "position", "mobile", "email", "owner", "created_at"),
    search_fields=("name", "email", "mobile", "wechat_id"),
    filters=[
        TextFilter("account__name", label=_("Account")),
        OwnerFilter("owner"),
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
        FieldGroup(_("Person"), ["account", "position", "department", "birthday", "owner"]),
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
