"""Declarations of the opportunity list and detail pages (the platform kit renders them)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from bizloom.crm.models import Opportunity, Pipeline, Stage
from bizloom.crm.pipeline import selectors, services
from bizloom.platform.detail import DetailAction, DetailConfig, FieldGroup
from bizloom.platform.listing import ChoiceFilter, Column, DateRangeFilter, ListConfig, OwnerFilter
from bizloom.platform.listing.bulk import delete_action, transfer_owner_action
from bizloom.platform.listing.filters import Filter, TextFilter


def _pipeline_options() -> list[tuple[str, Any]]:
    return [(str(p.pk), str(p)) for p in Pipeline.objects.order_by("position", "pk")]


def _stage_options() -> list[tuple[str, Any]]:
    stages = Stage.objects.select_related("pipeline").order_by("pipeline__position", "pipeline_id", "position", "pk")
    several = Pipeline.objects.count() > 1
    return [(str(s.pk), f"{s.pipeline} · {s}" if several else str(s)) for s in stages]


@dataclass(frozen=True)
class RecordFilter(Filter):
    """Equality on a foreign key whose options are read from the database (pipelines, stages)."""

    choices_of: Callable[[], Sequence[tuple[str, Any]]] = lambda: ()
    kind = "choice"

    def options(self) -> Sequence[tuple[str, Any]]:
        """The current records, as (id, label)."""
        return self.choices_of()

    def clean(self, raw: Mapping[str, str]) -> dict[str, str]:
        """Keep a plain positive id."""
        value = raw.get(self.param, "")
        return {self.param: value} if value.isdigit() and 0 < len(value) < 19 else {}

    def apply(self, queryset: QuerySet[Any], values: Mapping[str, str], user: Any) -> QuerySet[Any]:
        """``<field>_id = value``."""
        if self.param in values:
            return queryset.filter(**{f"{self.field}_id": int(values[self.param])})
        return queryset


OPPORTUNITY_LIST = ListConfig(
    key="crm.opportunity",
    model=Opportunity,
    queryset=selectors.list_opportunities,
    url_prefix="crm:opportunity",
    columns=[
        Column("name", link=True),
        Column("account", sort_field="account__name"),
        Column("pipeline", sort_field="pipeline__position"),
        Column("stage", sort_field="stage__position"),
        Column("amount", currency_field="currency"),
        # sorts nowhere, but "amount" names its data: hiding the amount hides it too
        Column("weighted_amount", label=_("Weighted amount"), kind="money", currency_field="currency",
               value=lambda o: o.weighted_amount, sortable=False, sort_field="amount"),
        Column("probability"),
        Column("expected_close"),
        Column("owner", sort_field="owner__username"),
        Column("contact", sort_field="contact__name"),
        Column("source"),
        Column("campaign"),
        Column("next_step"),
        Column("loss_reason", sort_field="loss_reason__name"),
        Column("closed_at"),
        Column("created_at"),
        Column("updated_at"),
    ],
    default_columns=("name", "account", "stage", "amount", "weighted_amount", "probability", "expected_close",
                     "owner"),
    search_fields=("name", "account__name"),
    filters=[
        RecordFilter("pipeline", label=_("Pipeline"), choices_of=_pipeline_options),
        RecordFilter("stage", label=_("Stage"), choices_of=_stage_options),
        ChoiceFilter("stage__kind", label=_("Status"), choices=tuple((str(k), v) for k, v in Stage.Kind.choices)),
        OwnerFilter("owner"),
        DateRangeFilter("expected_close"),
        ChoiceFilter("source"),
        TextFilter("account__name", label=_("Account")),
        DateRangeFilter("created_at"),
    ],
    default_sort="expected_close",
    custom_fields=True,
    bulk_actions=[transfer_owner_action(services.transfer_opportunities),
                  delete_action(services.delete_opportunity, confirm=_("Delete the selected opportunities?"))],
)

OPPORTUNITY_DETAIL = DetailConfig(
    model=Opportunity,
    back_url_name="crm:opportunity_list",
    groups=[
        FieldGroup(_("Opportunity"), ["account", "contact", "pipeline", "stage", "owner", "expected_close"]),
        FieldGroup(_("Value"), [Column("amount", currency_field="currency"),
                                Column("weighted_amount", label=_("Weighted amount"), kind="money",
                                       currency_field="currency", value=lambda o: o.weighted_amount,
                                       sortable=False, sort_field="amount"),
                                "probability"]),
        FieldGroup(_("Details"), ["source", "campaign", "next_step", "description"]),
        FieldGroup(_("Closing"), ["closed_at", "loss_reason", "loss_note"]),
    ],
    actions=[
        DetailAction(_("Edit"), "crm:opportunity_update", "change", style="primary"),
        DetailAction(_("Delete"), "crm:opportunity_delete", "delete", method="post", style="danger",
                     confirm=_("Delete this opportunity?")),
    ],
    status=lambda o: {"value": o.stage.kind, "label": str(o.stage)},
    template="crm/pipeline/opportunity_detail.html",
)
