"""Declarations of the lead list and detail pages (the platform kit renders them)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from bizloom.crm.leads import selectors, services
from bizloom.crm.models import Lead
from bizloom.platform.detail import DetailAction, DetailConfig, FieldGroup
from bizloom.platform.listing import ChoiceFilter, Column, DateRangeFilter, Filter, ListConfig, OwnerFilter
from bizloom.platform.listing.bulk import delete_action, transfer_owner_action

_RANGE_RE = re.compile(r"(\d{1,3})-(\d{1,3})")


@dataclass(frozen=True)
class ScoreRangeFilter(Filter):
    """Score between two bounds (inclusive), as ``score=40-69``; the select offers cold, warm
    and hot bands, and any ``a-b`` with 0 ≤ a ≤ b ≤ 100 in the address works too."""

    field: str = "score"
    kind = "choice"

    def options(self) -> Sequence[tuple[str, Any]]:
        """The three bands."""
        return (("0-39", _("Cold (0–39)")), ("40-69", _("Warm (40–69)")), ("70-100", _("Hot (70–100)")))

    def clean(self, raw: Mapping[str, str]) -> dict[str, str]:
        """Keep ``a-b`` with 0 ≤ a ≤ b ≤ 100."""
        value = raw.get(self.param, "")
        match = _RANGE_RE.fullmatch(value)
        if match and int(match.group(1)) <= int(match.group(2)) <= 100:
            return {self.param: value}
        return {}

    def apply(self, queryset: QuerySet[Any], values: Mapping[str, str], user: Any) -> QuerySet[Any]:
        """``low <= score <= high``."""
        if self.param not in values:
            return queryset
        low, high = (int(part) for part in values[self.param].split("-"))
        return queryset.filter(**{f"{self.field}__gte": low, f"{self.field}__lte": high})


LEAD_LIST = ListConfig(
    key="crm.lead",
    model=Lead,
    queryset=selectors.list_leads,
    url_prefix="crm:lead",
    columns=[
        Column("name", link=True),
        Column("company"),
        Column("position"),
        Column("status"),
        Column("source"),
        Column("score"),
        Column("city"),
        Column("mobile", sortable=False),
        Column("email"),
        Column("campaign"),
        Column("owner", sort_field="owner__username"),
        Column("created_at"),
        Column("updated_at"),
    ],
    default_columns=("name", "company", "status", "source", "score", "owner", "created_at"),
    search_fields=("name", "company", "email", "mobile", "phone"),
    filters=[
        ChoiceFilter("status"),
        ChoiceFilter("source"),
        OwnerFilter("owner"),
        ScoreRangeFilter(label=_("Score")),
        DateRangeFilter("created_at"),
    ],
    default_sort="-created_at",
    custom_fields=True,
    bulk_actions=[transfer_owner_action(services.transfer_leads),
                  delete_action(services.delete_lead, confirm=_("Delete the selected leads?"))],
)

LEAD_DETAIL = DetailConfig(
    model=Lead,
    back_url_name="crm:lead_list",
    groups=[
        FieldGroup(_("Person"), ["position", "mobile", "phone", "email", "wechat_id"]),
        FieldGroup(_("Company"), ["company", "company_code", "industry", "city", "website"]),
        FieldGroup(_("Qualification"), ["source", "campaign", "score", "unqualified_reason", "owner"]),
        FieldGroup(_("Conversion"), ["converted_at", "converted_account", "converted_contact",
                                     "converted_opportunity"]),
        FieldGroup(_("Notes"), ["notes"]),
    ],
    actions=[
        DetailAction(_("Edit"), "crm:lead_update", "change", style="primary"),
        DetailAction(_("Delete"), "crm:lead_delete", "delete", method="post", style="danger",
                     confirm=_("Delete this lead?")),
    ],
    status=lambda lead: {"value": lead.status, "label": lead.get_status_display()},
    template="crm/leads/lead_detail.html",
)
