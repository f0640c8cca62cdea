"""Permission-scoped reads of the pipeline: opportunities (with their lines and history, which
follow their opportunity), pipelines, stages, loss reasons and competitors."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404

from bizloom.crm.models import (
    Account,
    Competitor,
    LossReason,
    Opportunity,
    OpportunityLine,
    Pipeline,
    Stage,
    StageHistory,
)
from bizloom.platform import access
from bizloom.platform.collation import order_terms


def list_opportunities(user: Any, action: str = "view") -> QuerySet[Opportunity]:
    """Opportunities ``user`` may ``action``, with account, owner, pipeline and stage joined."""
    return access.restrict(
        Opportunity.objects.select_related("account", "owner", "pipeline", "stage", "contact", "loss_reason"),
        user, action)


def get_opportunity(user: Any, pk: int, action: str = "view") -> Opportunity:
    """One opportunity, or Http404 when it does not exist or lies outside ``user``'s scope."""
    return get_object_or_404(list_opportunities(user, action), pk=pk)


def opportunity_lines(opportunity: Opportunity) -> QuerySet[OpportunityLine]:
    """The product lines of an opportunity the caller has already loaded through a selector."""
    return opportunity.lines.order_by("position", "pk")


def stage_history(opportunity: Opportunity) -> QuerySet[StageHistory]:
    """The stays of an (already scoped) opportunity in its stages, oldest first."""
    return opportunity.stage_history.select_related("stage", "entered_by", "left_by").order_by("entered_at", "pk")


def list_account_opportunities(user: Any, account: Account, *, open_only: bool = True) -> QuerySet[Opportunity]:
    """The opportunities of ``account`` that ``user`` may view (open ones unless asked), by expected close."""
    queryset = list_opportunities(user).filter(account=account)
    if open_only:
        queryset = queryset.filter(stage__kind=Stage.Kind.OPEN)
    return queryset.order_by("expected_close", "pk")


def list_pipelines(*, active_only: bool = False) -> QuerySet[Pipeline]:
    """Pipelines with their stages prefetched (in order); settings, not business records."""
    queryset = Pipeline.objects.prefetch_related(
        Prefetch("stages", queryset=Stage.objects.order_by("position", "pk")))
    if active_only:
        queryset = queryset.filter(is_active=True)
    return queryset.order_by("position", "pk")


def get_pipeline(pk: int) -> Pipeline:
    """One pipeline or Http404."""
    return get_object_or_404(list_pipelines(), pk=pk)


def get_stage(pk: int) -> Stage:
    """One stage or Http404."""
    return get_object_or_404(Stage.objects.select_related("pipeline"), pk=pk)


def list_loss_reasons(*, active_only: bool = False) -> QuerySet[LossReason]:
    """Loss reasons in creation order."""
    queryset = LossReason.objects.all()
    return queryset.filter(is_active=True) if active_only else queryset.order_by("pk")


def list_competitors(*, active_only: bool = False) -> QuerySet[Competitor]:
    """Competitors by name (pinyin order)."""
    queryset = Competitor.objects.all()
    if active_only:
        queryset = queryset.filter(is_active=True)
    return queryset.order_by(*order_terms(Competitor, ["name", "pk"]))


# --- the kanban board --------------------------------------------------------------------------


@dataclass
class Totals:
    """Count and sums of some opportunities: ``amount``/``weighted`` in the company currency,
    ``other`` the sums in other currencies ({currency: (amount, weighted)})."""

    count: int = 0
    amount: Decimal = Decimal(0)
    weighted: Decimal = Decimal(0)
    other: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)

    def add(self, opportunity: Opportunity) -> None:
        self.count += 1
        weighted = opportunity.weighted_amount
        if opportunity.currency == settings.COMPANY_CURRENCY:
            self.amount += opportunity.amount
            self.weighted += weighted
        else:
            amount, weight = self.other.get(opportunity.currency, (Decimal(0), Decimal(0)))
            self.other[opportunity.currency] = (amount + opportunity.amount, weight + weighted)

    @property
    def other_sorted(self) -> list[tuple[str, Decimal, Decimal]]:
        return [(currency, amount, weighted) for currency, (amount, weighted) in sorted(self.other.items())]


def totals(opportunities: Iterable[Opportunity]) -> Totals:
    """The :class:`Totals` of ``opportunities``."""
    result = Totals()
    for opportunity in opportunities:
        result.add(opportunity)
    return result


@dataclass
class BoardColumn:
    """One stage on the board with its cards (opportunities) and totals."""

    stage: Stage
    cards: list[Opportunity]
    totals: Totals


def board(user: Any, pipeline: Pipeline, *, owner: Any = None, team: Any = None, department: Any = None,
          close_from: Any = None, close_to: Any = None, limit_per_stage: int = 200) -> list[BoardColumn]:
    """The kanban columns of ``pipeline`` for ``user``: every active stage, plus inactive ones
    still holding visible opportunities, with the opportunities ``user`` may view (filtered by
    owner, team members, department subtree and expected close range). Each card carries
    ``can_move`` (the user may change it). Totals count every matching opportunity; at most
    ``limit_per_stage`` cards per stage are listed (closest expected close first)."""
    from bizloom.platform.models import Department, User

    queryset = list_opportunities(user).filter(pipeline=pipeline)
    if owner is not None:
        queryset = queryset.filter(owner=owner)
    if team is not None:
        members = set(team.members.values_list("pk", flat=True)) | ({team.leader_id} if team.leader_id else set())
        queryset = queryset.filter(owner__in=members)
    if department is not None:
        departments = Department.objects.filter(path__startswith=department.path).values("pk")
        queryset = queryset.filter(owner__in=User.objects.filter(department__in=departments).values("pk"))
    if close_from is not None:
        queryset = queryset.filter(expected_close__gte=close_from)
    if close_to is not None:
        queryset = queryset.filter(expected_close__lte=close_to)
    changeable = set(list_opportunities(user, "change").filter(pk__in=queryset.values("pk"))
                     .values_list("pk", flat=True))
    by_stage: dict[int, list[Opportunity]] = {}
    for opportunity in queryset.order_by("expected_close", "pk"):
        opportunity.can_move = opportunity.pk in changeable  # type: ignore[attr-defined]
        by_stage.setdefault(opportunity.stage_id, []).append(opportunity)
    columns = []
    for stage in pipeline.stages.order_by("position", "pk"):
        cards = by_stage.get(stage.pk, [])
        if not stage.is_active and not cards:
            continue
        columns.append(BoardColumn(stage=stage, cards=cards[:limit_per_stage], totals=totals(cards)))
    return columns
