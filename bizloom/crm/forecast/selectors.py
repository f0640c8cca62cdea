"""Permission-scoped reads of the forecast area: who may see and set whose targets, the forecast
figures and the pipeline analysis.

Only opportunities the user may view count (``access.restrict``), so a sales rep sees their own
forecast and a manager their department's. Sums are computed in Python over the few columns the
reports need (``values_list``): Decimal arithmetic is exact on both databases, where SQLite's SUM
of a decimal column is a float.

**Who sees whose targets.** :class:`SalesTarget` has no ``owner`` field; its ``user`` (the
salesperson) plays that part. A target is visible when its salesperson lies in the viewer's
record scope of ``crm.view_salestarget`` (own / team / department / all, as for owned records),
or when the viewer may set targets for that salesperson.

**Who may set targets** (:func:`may_manage_targets`, :func:`manageable_people`): users holding
``crm.manage_targets``. Superusers and holders of ``crm.change_salestarget`` with scope ``all``
(the Administrator role) reach every user; everyone else reaches the people of the department
subtrees they belong to or manage (a sales manager: their department and the groups below it).
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from bizloom.common.errors import ValidationFailed
from bizloom.common.money import quantize
from bizloom.crm.forecast import periods
from bizloom.crm.forecast.periods import Period
from bizloom.crm.models import Opportunity, Pipeline, SalesTarget, Stage, StageHistory
from bizloom.platform import access
from bizloom.platform.collation import sort_key
from bizloom.platform.models import Department, Team, User

MANAGE_PERMISSION = "crm.manage_targets"
HUNDRED = Decimal(100)
ONE_DECIMAL = Decimal("0.1")
SECONDS_PER_DAY = Decimal(86400)


# --- people ----------------------------------------------------------------------------------


def _department_paths(user: Any) -> list[str]:
    """Materialised paths of the departments ``user`` belongs to or manages."""
    return [p for p in Department.objects.filter(Q(members=user.pk) | Q(manager=user.pk))
            .values_list("path", flat=True) if p]


def people_in_scope(user: Any, scope: str | None) -> QuerySet[User]:
    """The users whose records fall inside ``scope`` for ``user``: ``own`` → the user; ``team`` →
    and the members of their teams; ``department`` → and the people of the department subtrees
    they belong to or manage; ``all`` → everyone; None → nobody."""
    if scope is None or user is None or not user.is_authenticated:
        return User.objects.none()
    if scope == access.SCOPE_ALL:
        return User.objects.all()
    condition = Q(pk=user.pk)
    if scope == access.SCOPE_TEAM:
        teams = Team.objects.filter(Q(members=user.pk) | Q(leader=user.pk)).values("pk")
        condition |= Q(teams__in=teams)
    elif scope == access.SCOPE_DEPARTMENT:
        for path in _department_paths(user):
            condition |= Q(department__path__startswith=path)
    return User.objects.filter(pk__in=User.objects.filter(condition).values("pk"))


def may_manage_targets(user: Any) -> bool:
    """Whether ``user`` may set targets at all: ``crm.manage_targets`` (or superuser), signed in,
    active and not viewing the application as someone else."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if access.viewing_as_by(user) is not None:
        return False
    return bool(user.is_superuser or user.has_perm(MANAGE_PERMISSION))


def manages_everyone(user: Any) -> bool:
    """Whether ``user`` may set targets for every user (an administrator)."""
    return may_manage_targets(user) and (
        bool(user.is_superuser) or access.scope_for(user, SalesTarget, "change") == access.SCOPE_ALL)


def manageable_people(user: Any) -> QuerySet[User]:
    """The users ``user`` may set targets for (see the module docstring)."""
    if not may_manage_targets(user):
        return User.objects.none()
    if manages_everyone(user):
        return User.objects.all()
    return people_in_scope(user, access.SCOPE_DEPARTMENT)


def target_people(user: Any) -> QuerySet[User]:
    """The users whose targets ``user`` may see."""
    visible = people_in_scope(user, access.scope_for(user, SalesTarget, "view"))
    if not may_manage_targets(user):
        return visible
    return User.objects.filter(Q(pk__in=visible.values("pk")) | Q(pk__in=manageable_people(user).values("pk")))


def may_view_targets(user: Any) -> bool:
    """Whether the targets page and API are open to ``user`` (view permission or manager)."""
    return access.can(user, SalesTarget, "view") or may_manage_targets(user)


def list_targets(user: Any) -> QuerySet[SalesTarget]:
    """Targets ``user`` may see, with the salesperson joined."""
    if not may_view_targets(user):
        return SalesTarget.objects.none()
    return SalesTarget.objects.filter(user__in=target_people(user).values("pk")).select_related("user", "updated_by")


def get_target(user: Any, pk: int) -> SalesTarget:
    """One target ``user`` may see; ``SalesTarget.DoesNotExist`` otherwise (the views turn it into 404)."""
    return list_targets(user).get(pk=pk)


def salespeople(user: Any) -> QuerySet[User]:
    """Active users ``user`` may see targets of who sell: they hold ``crm.add_opportunity`` or
    ``crm.view_salestarget`` (directly or through a role), or already have a target. The rows
    of the targets grid."""
    from django.contrib.auth.models import Permission

    perms = Permission.objects.filter(content_type__app_label="crm",
                                      codename__in=["add_opportunity", "view_salestarget"])
    selling = (Q(groups__permissions__in=perms) | Q(user_permissions__in=perms)
               | Q(pk__in=SalesTarget.objects.values("user_id")))
    ids = User.objects.filter(selling, is_active=True).values("pk")
    return User.objects.filter(pk__in=ids).filter(pk__in=target_people(user).values("pk")).select_related(
        "department")


def company_currency() -> str:
    """The company currency (``settings.COMPANY_CURRENCY``), upper case."""
    return str(settings.COMPANY_CURRENCY).upper()


def currency_order(currencies: Iterable[str]) -> list[str]:
    """Currencies with the company currency first, then alphabetically."""
    home = company_currency()
    return sorted(set(currencies), key=lambda c: (c != home, c))


# --- filters --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """What the forecast and the analysis are computed for. ``pipeline`` None means every pipeline
    (forecast only); ``owner``/``department``/``team`` narrow the salespeople."""

    period: Period
    pipeline: Pipeline | None = None
    owner: User | None = None
    department: Department | None = None
    team: Team | None = None

    def people_q(self, prefix: str) -> Q:
        """The condition on the salesperson field ``prefix`` (``owner`` or ``user``)."""
        condition = Q()
        if self.owner is not None:
            condition &= Q(**{prefix: self.owner.pk})
        if self.department is not None:
            condition &= Q(**{f"{prefix}__department__path__startswith": self.department.path})
        if self.team is not None:
            members = Q(teams=self.team.pk) | Q(led_teams=self.team.pk)
            condition &= Q(**{f"{prefix}__in": User.objects.filter(members).values("pk")})
        return condition


def visible_opportunities(user: Any, filters: Filters) -> QuerySet[Opportunity]:
    """Opportunities ``user`` may view, in the filter's pipeline and among its salespeople."""
    opportunities = access.restrict(Opportunity.objects.all(), user, "view")
    if filters.pipeline is not None:
        opportunities = opportunities.filter(pipeline=filters.pipeline)
    return opportunities.filter(filters.people_q("owner"))


# --- forecast --------------------------------------------------------------------------------


def weighted(amount: Decimal, probability: int, currency: str) -> Decimal:
    """``amount × probability %`` rounded half-up to the currency's minor unit (per opportunity,
    so month rows, owner rows and totals add up exactly)."""
    return quantize(amount * probability / HUNDRED, currency)


@dataclass
class Figures:
    """The forecast figures of one row in one currency.

    ``target`` is None when no target covers the row. ``attainment`` (percent, one decimal) is
    won ÷ target; ``gap`` is target − won − weighted open (negative: the pipeline more than covers it).
    """

    open_count: int = 0
    open_amount: Decimal = Decimal(0)
    weighted_amount: Decimal = Decimal(0)
    won_count: int = 0
    won_amount: Decimal = Decimal(0)
    target: Decimal | None = None

    @property
    def attainment(self) -> Decimal | None:
        if not self.target:
            return None
        return (self.won_amount * HUNDRED / self.target).quantize(ONE_DECIMAL)

    @property
    def gap(self) -> Decimal | None:
        if self.target is None:
            return None
        return self.target - self.won_amount - self.weighted_amount

    def add(self, other: Figures) -> None:
        """Add ``other`` (same currency) to these figures."""
        self.open_count += other.open_count
        self.open_amount += other.open_amount
        self.weighted_amount += other.weighted_amount
        self.won_count += other.won_count
        self.won_amount += other.won_amount
        if other.target is not None:
            self.target = (self.target or Decimal(0)) + other.target


@dataclass(frozen=True)
class HiddenFigures:
    """:class:`Figures` for a user whose roles hide the opportunity amount: the counts and the
    target only (every amount, and the attainment and gap computed from them, is None)."""

    open_count: int
    won_count: int
    target: Decimal | None
    open_amount: None = None
    weighted_amount: None = None
    won_amount: None = None
    attainment: None = None
    gap: None = None

    @classmethod
    def of(cls, figures: Figures) -> HiddenFigures:
        return cls(open_count=figures.open_count, won_count=figures.won_count, target=figures.target)


@dataclass
class Line:
    """One currency's figures of a row."""

    currency: str
    figures: Figures | HiddenFigures


@dataclass
class Row:
    """A month (``month``) or a salesperson (``owner``; None and ``month`` None: unassigned) with
    one line per currency."""

    key: Any
    label: str
    lines: list[Line] = field(default_factory=list)
    owner: User | None = None
    month: dt.date | None = None


@dataclass
class Forecast:
    """The forecast of a period: rows by expected-close month and by salesperson, and totals; each
    row has one line per currency (company currency first); currencies are never added together."""

    filters: Filters
    currencies: list[str]
    months: list[Row]
    owners: list[Row]
    totals: list[Line]
    amounts_shown: bool = True

    def chart(self) -> list[dict[str, Any]]:
        """Chart data per currency: months, unweighted and weighted open amounts, won amounts
        (amounts as strings); none when the amounts are hidden from the user."""
        charts: list[dict[str, Any]] = []
        if not self.amounts_shown:
            return charts
        for currency in self.currencies:
            series: dict[str, list[str]] = {"unweighted": [], "weighted": [], "won": []}
            for row in self.months:
                figures = next((line.figures for line in row.lines if line.currency == currency), Figures())
                series["unweighted"].append(str(figures.open_amount))
                series["weighted"].append(str(figures.weighted_amount))
                series["won"].append(str(figures.won_amount))
            charts.append({"currency": currency, "months": [row.key for row in self.months], **series})
        return charts


def _targets_in_period(user: Any, filters: Filters) -> dict[int, dict[str, Decimal]]:
    """{salesperson id: {currency: target}} for the period: targets overlapping the period,
    prorated by calendar days (a target lying wholly in the period counts in full; a quarterly
    target in a one-month period counts with the month's share of the quarter's days)."""
    period = filters.period
    rows = (list_targets(user).filter(period_start__lte=period.end, period_end__gte=period.start)
            .filter(filters.people_q("user"))
            .values_list("user_id", "period_start", "period_end", "currency", "amount"))
    result: dict[int, dict[str, Decimal]] = defaultdict(dict)
    for person, start, end, currency, amount in rows:
        days = (end - start).days + 1
        share = amount if period.overlap_days(start, end) == days else \
            amount * period.overlap_days(start, end) / days
        result[person][currency] = result[person].get(currency, Decimal(0)) + quantize(share, currency)
    return result


def forecast(user: Any, filters: Filters) -> Forecast:
    """The forecast of ``filters.period`` for ``user`` (see :class:`Forecast`).

    * **Open**: opportunities in an open stage whose expected close date lies in the period;
      grouped by expected-close month and by owner: count, amount, weighted amount
      (amount × probability, rounded per opportunity to the currency's minor unit).
    * **Won**: opportunities in a won stage closed (``closed_at``, local time) in the period.
    * **Target**: see :func:`_targets_in_period` (prorated by days); targets are per
      salesperson, not per pipeline.
    * **Attainment** = won ÷ target; **gap** = target − won − weighted open.
    """
    period = filters.period
    opportunities = visible_opportunities(user, filters)
    begin, after = period.datetimes()
    by_month: dict[dt.date, dict[str, Figures]] = {month: {} for month in period.months()}
    by_owner: dict[int | None, dict[str, Figures]] = defaultdict(dict)
    currencies: set[str] = set()

    open_rows = opportunities.filter(stage__kind=Stage.Kind.OPEN, expected_close__gte=period.start,
                                     expected_close__lte=period.end).values_list(
        "owner_id", "expected_close", "currency", "amount", "probability")
    for owner_id, close, currency, amount, probability in open_rows.iterator():
        if close is None:  # excluded by the filter; narrows the type
            continue
        currencies.add(currency)
        share = weighted(amount, probability, currency)
        for bucket in (by_month[close.replace(day=1)], by_owner[owner_id]):
            figures = bucket.setdefault(currency, Figures())
            figures.open_count += 1
            figures.open_amount += amount
            figures.weighted_amount += share

    won_rows = opportunities.filter(stage__kind=Stage.Kind.WON, closed_at__gte=begin, closed_at__lt=after) \
        .values_list("owner_id", "closed_at", "currency", "amount")
    for owner_id, closed_at, currency, amount in won_rows.iterator():
        currencies.add(currency)
        month = timezone.localtime(closed_at).date().replace(day=1)
        for bucket in (by_month.setdefault(month, {}), by_owner[owner_id]):
            figures = bucket.setdefault(currency, Figures())
            figures.won_count += 1
            figures.won_amount += amount

    for person, amounts in _targets_in_period(user, filters).items():
        for currency, amount in amounts.items():
            currencies.add(currency)
            by_owner[person].setdefault(currency, Figures()).target = amount

    order = currency_order(currencies)
    people = User.objects.in_bulk([pk for pk in by_owner if pk is not None])

    def lines(bucket: dict[str, Figures]) -> list[Line]:
        return [Line(currency, bucket[currency]) for currency in order if currency in bucket]

    months = [Row(key=f"{month:%Y-%m}", label=f"{month:%Y-%m}", month=month, lines=lines(by_month[month]))
              for month in sorted(by_month)]
    owners = [Row(key=pk, label=str(people[pk]) if pk is not None else "", owner=people.get(pk) if pk else None,
                  lines=lines(bucket)) for pk, bucket in by_owner.items() if pk is None or pk in people]
    owners.sort(key=lambda row: (row.owner is None, sort_key(row.label)))
    totals: dict[str, Figures] = {}
    for pk, bucket in by_owner.items():
        if pk is None or pk in people:
            for currency, figures in bucket.items():
                totals.setdefault(currency, Figures()).add(figures)
    report = Forecast(filters=filters, currencies=order, months=months, owners=owners, totals=lines(totals))
    if not access.field_policy(user, Opportunity, "view").shows("amount"):
        _hide_amounts(report)
    return report


def _hide_amounts(report: Forecast) -> None:
    """Keep only the counts and targets of ``report``: the sums would tell the amounts the
    user's roles hide (one opportunity in a month is its amount)."""
    report.amounts_shown = False
    for line in [*(line for row in (*report.months, *report.owners) for line in row.lines), *report.totals]:
        if isinstance(line.figures, Figures):
            line.figures = HiddenFigures.of(line.figures)


# --- pipeline analysis -------------------------------------------------------------------------


def days_between(start: dt.datetime, end: dt.datetime) -> Decimal:
    """Days from ``start`` to ``end`` as a Decimal (fractions of a day kept)."""
    return Decimal(int((end - start).total_seconds())) / SECONDS_PER_DAY


def _round_days(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(ONE_DECIMAL)


def _mean(values: list[Decimal]) -> Decimal | None:
    return _round_days(sum(values, Decimal(0)) / len(values)) if values else None


def _median(values: list[Decimal]) -> Decimal | None:
    return _round_days(Decimal(statistics.median(values))) if values else None


def _rate(part: int, whole: int) -> Decimal | None:
    return (Decimal(part) * HUNDRED / whole).quantize(ONE_DECIMAL) if whole else None


@dataclass
class StageFigures:
    """One stage of the analysis (see :func:`pipeline_analysis`)."""

    stage: Stage
    entered: int = 0
    moved_on: int = 0
    won: int = 0
    current: int = 0
    average_days: Decimal | None = None
    median_days: Decimal | None = None

    @property
    def next_rate(self) -> Decimal | None:
        """Percentage of the entries that moved on to a later stage."""
        return _rate(self.moved_on, self.entered)

    @property
    def won_rate(self) -> Decimal | None:
        """Percentage of the entries that were won."""
        return _rate(self.won, self.entered)


@dataclass
class Analysis:
    """The pipeline analysis of one pipeline and period."""

    filters: Filters
    stages: list[StageFigures]
    won: int
    lost: int
    average_cycle_days: Decimal | None
    median_cycle_days: Decimal | None

    @property
    def win_rate(self) -> Decimal | None:
        """Won ÷ (won + lost) of the opportunities closed in the period, in percent."""
        return _rate(self.won, self.won + self.lost)


def default_pipeline() -> Pipeline | None:
    """The default active pipeline, else the first active one."""
    pipelines = Pipeline.objects.filter(is_active=True)
    return pipelines.filter(is_default=True).first() or pipelines.first()


def pipeline_analysis(user: Any, filters: Filters) -> Analysis:
    """Stage-by-stage conversion of ``filters.pipeline`` over the opportunities ``user`` may view.

    For each stage (in pipeline order), from the stage history:

    * **entered**: opportunities that entered the stage in the period (each counted once, at its
      first entry in the period);
    * **moved on**: of those, how many later entered a later stage of the pipeline (a higher
      position, lost stages excepted; skipping stages counts) — at any time up to now;
    * **won**: of those, how many later entered a won stage;
    * **average / median days**: over the stays in the stage that began in the period and have
      ended (time from entering to leaving; stays still open are left out, see ``current``);
    * **current**: opportunities in the stage now.

    For the whole pipeline: **win rate** = won ÷ (won + lost) of the opportunities closed in
    the period; **sales cycle** = days from creation to closing of those won (deals recorded as
    closed before they were created, e.g. imported ones, are left out of the cycle).
    """
    pipeline = filters.pipeline
    stages = list(Stage.objects.filter(pipeline=pipeline).order_by("position", "pk")) if pipeline else []
    by_id = {stage.pk: stage for stage in stages}
    opportunities = visible_opportunities(user, filters)
    begin, after = filters.period.datetimes()
    history = StageHistory.objects.filter(stage__pipeline=pipeline, opportunity__in=opportunities.values("pk"))
    cohort = history.filter(entered_at__gte=begin, entered_at__lt=after).values("opportunity_id")
    stays: dict[int, list[tuple[int, dt.datetime, dt.datetime | None]]] = defaultdict(list)
    for opportunity_id, stage_id, entered_at, left_at in history.filter(opportunity__in=cohort).order_by(
            "entered_at", "pk").values_list("opportunity_id", "stage_id", "entered_at", "left_at").iterator():
        if stage_id in by_id:
            stays[opportunity_id].append((stage_id, entered_at, left_at))

    results = {stage.pk: StageFigures(stage=stage) for stage in stages}
    durations: dict[int, list[Decimal]] = defaultdict(list)
    for rows in stays.values():
        seen: set[int] = set()
        for index, (stage_id, entered_at, left_at) in enumerate(rows):
            if not begin <= entered_at < after:
                continue
            stage = by_id[stage_id]
            if left_at is not None:
                durations[stage_id].append(days_between(entered_at, left_at))
            if stage_id in seen:
                continue
            seen.add(stage_id)
            figures = results[stage_id]
            figures.entered += 1
            later = [by_id[other] for other, _entered, _left in rows[index + 1:]]
            if any(s.position > stage.position and s.kind != Stage.Kind.LOST for s in later):
                figures.moved_on += 1
            if any(s.kind == Stage.Kind.WON for s in later):
                figures.won += 1
    for stage_id, values in durations.items():
        results[stage_id].average_days = _mean(values)
        results[stage_id].median_days = _median(values)
    for stage_id, count in _current_counts(opportunities, pipeline).items():
        if stage_id in results:
            results[stage_id].current = count

    closed = opportunities.filter(pipeline=pipeline, closed_at__gte=begin, closed_at__lt=after)
    won_rows = list(closed.filter(stage__kind=Stage.Kind.WON).values_list("created_at", "closed_at"))
    # a closing date before the creation date (imported data) says nothing about the cycle: left out
    cycles = [days_between(created, closed_at) for created, closed_at in won_rows
              if closed_at is not None and closed_at >= created]
    lost = closed.filter(stage__kind=Stage.Kind.LOST).count()
    return Analysis(filters=filters, stages=[results[stage.pk] for stage in stages], won=len(won_rows), lost=lost,
                    average_cycle_days=_mean(cycles), median_cycle_days=_median(cycles))


def _current_counts(opportunities: QuerySet[Opportunity], pipeline: Pipeline | None) -> dict[int, int]:
    from django.db.models import Count

    rows = opportunities.filter(pipeline=pipeline).values("stage_id").annotate(n=Count("pk")).values_list(
        "stage_id", "n")
    return dict(rows)


# --- parameters ------------------------------------------------------------------------------


def _lookup(model: type[Any], pk: int | None, name: str, message: str) -> Any:
    if pk is None:
        return None
    found = model._default_manager.filter(pk=pk).first()
    if found is None:
        raise ValidationFailed(message, code="unknown_reference", fields={name: [message]})
    return found


def resolve_filters(*, period: str | None = None, on: dt.date | None = None, start: dt.date | None = None,
                    end: dt.date | None = None, pipeline: int | None = None, owner: int | None = None,
                    department: int | None = None, team: int | None = None,
                    default_to_pipeline: bool = False) -> Filters:
    """Filters from request parameters (ids); ValidationFailed names the offending parameter.

    ``default_to_pipeline`` picks :func:`default_pipeline` when no pipeline is given (the
    analysis is always about one pipeline).
    """
    chosen = periods.resolve(period, on=on, start=start, end=end)
    found_pipeline = _lookup(Pipeline, pipeline, "pipeline", _("No pipeline with this id."))
    if found_pipeline is None and default_to_pipeline:
        found_pipeline = default_pipeline()
    return Filters(period=chosen, pipeline=found_pipeline,
                   owner=_lookup(User, owner, "owner", _("No user with this id.")),
                   department=_lookup(Department, department, "department", _("No department with this id.")),
                   team=_lookup(Team, team, "team", _("No team with this id.")))
