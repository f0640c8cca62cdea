"""Declarations of the contract list and detail pages (the platform kit renders them)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from bizloom.crm.contracts import selectors, services
from bizloom.crm.models import Contract
from bizloom.platform.detail import DetailAction, DetailConfig, FieldGroup
from bizloom.platform.listing import ChoiceFilter, Column, DateRangeFilter, ListConfig, OwnerFilter
from bizloom.platform.listing.bulk import delete_action, transfer_owner_action
from bizloom.platform.listing.filters import TextFilter

CONTRACT_LIST = ListConfig(
    key="crm.contract",
    model=Contract,
    queryset=selectors.list_contracts,
    url_prefix="crm:contract",
    columns=[
        # number and title in one link (what the contract is called everywhere: ``str(contract)``)
        Column("contract", label=_("Contract"), value=str, sort_field="number", link=True, kind="text"),
        Column("number"),
        Column("title"),
        Column("account", sort_field="account__name"),
        Column("contact", sort_field="contact__name"),
        Column("status"),
        Column("amount", currency_field="currency"),
        Column("start_date"),
        Column("end_date"),
        Column("signed_on"),
        Column("customer_reference"),
        Column("payment_terms", sortable=False),
        Column("owner", sort_field="owner__username"),
        Column("created_at"),
        Column("updated_at"),
    ],
    default_columns=("contract", "account", "status", "amount", "start_date", "end_date", "owner"),
    search_fields=("number", "title", "account__name", "customer_reference"),
    filters=[
        ChoiceFilter("status"),
        OwnerFilter("owner"),
        DateRangeFilter("end_date"),
        TextFilter("account__name", label=_("Account")),
    ],
    default_sort="-start_date",
    custom_fields=True,
    bulk_actions=[transfer_owner_action(services.transfer_contracts),
                  delete_action(services.delete_contract, confirm=_("Delete the selected draft contracts?"))],
)

CONTRACT_DETAIL = DetailConfig(
    model=Contract,
    back_url_name="crm:contract_list",
    title=lambda contract: f"{contract.number} {contract.title}",
    status=lambda contract: {"value": contract.status, "label": contract.get_status_display()},
    groups=[
        FieldGroup(_("Contract"), ["account", "contact", "opportunity", "customer_reference", "owner"]),
        FieldGroup(_("Terms"), [Column("amount", currency_field="currency"), "payment_terms", "signed_on",
                                "start_date", "end_date", "renewal_notice_days", "renewal_reminded_at"]),
        FieldGroup(_("Termination"), ["terminated_at", "termination_reason"]),
        FieldGroup(_("Notes"), ["notes"]),
    ],
    actions=[
        DetailAction(_("Edit"), "crm:contract_update", "change", style="primary"),
        DetailAction(_("Activate"), "crm:contract_activate", "activate", style="primary"),
        DetailAction(_("Terminate"), "crm:contract_terminate", "terminate", style="danger"),
        DetailAction(_("Delete"), "crm:contract_delete", "delete", method="post", style="danger",
                     confirm=_("Delete this draft contract?")),
    ],
    template="crm/contracts/contract_detail.html",
)

# Which header actions each status offers (the services refuse the others anyway).
ACTIONS_BY_STATUS = {
    Contract.Status.DRAFT: {"crm:contract_update", "crm:contract_activate", "crm:contract_terminate",
                            "crm:contract_delete"},
    Contract.Status.ACTIVE: {"crm:contract_update", "crm:contract_terminate"},
    Contract.Status.EXPIRED: set(),
    Contract.Status.TERMINATED: set(),
}
