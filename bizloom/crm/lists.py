"""Declarations of the CRM list and detail pages (the platform kit renders them)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from bizloom.crm import selectors, services
from bizloom.crm.forms import TransferOwnerForm
from bizloom.crm.models import Account
from bizloom.platform.detail import DetailAction, DetailConfig, FieldGroup
from bizloom.platform.listing import (
    BooleanFilter,
    BulkAction,
    ChoiceFilter,
    Column,
    DateRangeFilter,
    ListConfig,
    OwnerFilter,
)


def transfer_selected(queryset: QuerySet[Account], user: Any, data: Mapping[str, Any]) -> str:
    """Bulk action: give the selected accounts to ``data["new_owner"]``."""
    changed = services.transfer_accounts(list(queryset), data["new_owner"], actor=user)
    return ngettext("%(count)d account transferred to %(owner)s.", "%(count)d accounts transferred to %(owner)s.",
                    changed) % {"count": changed, "owner": data["new_owner"]}


def delete_selected(queryset: QuerySet[Account], user: Any, data: Mapping[str, Any]) -> str:
    """Bulk action: delete the selected accounts (the caller's transaction makes it all or nothing)."""
    accounts = list(queryset)
    for account in accounts:
        services.delete_account(account, actor=user)
    return ngettext("%(count)d account deleted.", "%(count)d accounts deleted.", len(accounts)) % {
        "count": len(accounts)}


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
    bulk_actions=[
        BulkAction("transfer", _("Transfer owner"), "change", transfer_selected, form_class=TransferOwnerForm),
        BulkAction("delete", _("Delete"), "delete", delete_selected, style="danger",
                   confirm=_("Delete the selected accounts?")),
    ],
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
