"""Pages of the forecast area: the forecast, the pipeline analysis and the targets grid (thin:
selectors compute, services write)."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from bizloom.common.errors import PermissionDeniedError, ValidationFailed
from bizloom.common.money import quantize
from bizloom.crm.forecast import periods, selectors, services
from bizloom.crm.forecast.forms import ReportFilterForm
from bizloom.crm.forecast.periods import Period
from bizloom.crm.models import Opportunity, SalesTarget
from bizloom.platform.collation import sort_key
from bizloom.platform.forms_kit import htmx_redirect, require_or_403
from bizloom.platform.models import Department, Team, User
from bizloom.platform.requests import actor_of


def _period_links(request: HttpRequest, period: Period) -> dict[str, str]:
    """Query strings of the previous and next period (same kind), keeping the other filters."""
    links = {}
    for key, other in (("previous", period.previous()), ("next", period.following())):
        query = request.GET.copy()
        for name in ("on", "start", "end"):
            query.pop(name, None)
        query["period"] = period.kind
        if period.kind == periods.CUSTOM:
            query["start"], query["end"] = other.start.isoformat(), other.end.isoformat()
        else:
            query["on"] = other.start.isoformat()
        links[key] = "?" + query.urlencode()
    return links


@login_required
@require_GET
def forecast_report(request: HttpRequest) -> HttpResponse:
    """The forecast of a period (this quarter by default) over the opportunities the user may view."""
    require_or_403(request.user, Opportunity, "view")
    form = ReportFilterForm(request.GET, user=request.user)
    filters = form.filters()
    report = selectors.forecast(request.user, filters)
    return render(request, "crm/forecast/forecast.html", {
        "form": form, "filters": filters, "report": report, "chart": report.chart(),
        "links": _period_links(request, filters.period),
        "company_currency": selectors.company_currency(),
        "can_view_targets": selectors.may_view_targets(request.user),
    })


@login_required
@require_GET
def pipeline_analysis_report(request: HttpRequest) -> HttpResponse:
    """Stage conversion, days in stage, win rate and sales cycle of one pipeline."""
    require_or_403(request.user, Opportunity, "view")
    form = ReportFilterForm(request.GET, user=request.user, pipeline_required=True)
    filters = form.filters()
    analysis = selectors.pipeline_analysis(request.user, filters)
    return render(request, "crm/forecast/analysis.html", {
        "form": form, "filters": filters, "analysis": analysis,
        "links": _period_links(request, filters.period),
    })


# --- targets -------------------------------------------------------------------------------

BY_MONTH, BY_QUARTER = "month", "quarter"
CELL_RE = re.compile(r"cell-(\d{1,18})-(\d{8})-(\d{8})")


@dataclass
class Column:
    """A month or quarter of the grid."""

    start: dt.date
    end: dt.date
    label: str


@dataclass
class Cell:
    """One salesperson × period cell of the grid."""

    name: str
    person: User
    column: Column
    target: SalesTarget | None
    value: str
    covered: Decimal | None
    editable: bool
    currency: str
    errors: list[str]
    saved: bool = False


def _columns(year: int, by: str) -> list[Column]:
    if by == BY_QUARTER:
        return [Column(p.start, p.end, _("Q%(number)s") % {"number": n + 1})
                for n, p in enumerate(periods.period_of(periods.QUARTER, dt.date(year, m, 1)) for m in (1, 4, 7, 10))]
    return [Column(p.start, p.end, date_format(p.start, "M"))
            for p in (periods.period_of(periods.MONTH, dt.date(year, m, 1)) for m in range(1, 13))]


def plain_amount(amount: Decimal) -> str:
    """``500000.0000`` → ``500000``; ``1250.5000`` → ``1250.5`` (what an input shows)."""
    text = f"{amount.normalize():f}"
    return text


def clean_input(raw: str) -> str | None:
    """A typed cell: None when blank (remove the target), else the text with full-width characters
    folded and grouping separators (commas, spaces, underscores) removed, for the service to check."""
    text = unicodedata.normalize("NFKC", raw or "").strip()
    text = re.sub(r"[,\s_']", "", text)
    return text or None


def cell_name(person: User, column: Column) -> str:
    """The form field name of a cell: ``cell-<user id>-<YYYYMMDD>-<YYYYMMDD>``."""
    return f"cell-{person.pk}-{column.start:%Y%m%d}-{column.end:%Y%m%d}"


def _covered(person_targets: list[SalesTarget], column: Column) -> Decimal | None:
    """What the person's other targets add up to over ``column`` (prorated by days), shown as a hint."""
    period = Period(periods.CUSTOM, column.start, column.end)
    total: Decimal | None = None
    for target in person_targets:
        days = (target.period_end - target.period_start).days + 1
        overlap = period.overlap_days(target.period_start, target.period_end)
        if overlap and not (target.period_start == column.start and target.period_end == column.end):
            total = (total or Decimal(0)) + quantize(target.amount * overlap / days, target.currency)
    return total


@dataclass
class Grid:
    year: int
    by: str
    columns: list[Column]
    rows: list[tuple[User, list[Cell]]]
    editable: bool


def _grid(user: Any, year: int, by: str, department: Department | None, team: Team | None,
          typed: QueryDict | None = None, errors: dict[str, list[str]] | None = None) -> Grid:
    columns = _columns(year, by)
    people = selectors.salespeople(user)
    if department is not None:
        people = people.filter(department__path__startswith=department.path)
    if team is not None:
        people = people.filter(Q(teams=team.pk) | Q(led_teams=team.pk))
    people_list = sorted(people.distinct(), key=lambda p: sort_key(str(p)))
    manageable = set(selectors.manageable_people(user).filter(pk__in=[p.pk for p in people_list])
                     .values_list("pk", flat=True))
    first, last = columns[0].start, columns[-1].end
    targets: dict[int, list[SalesTarget]] = {}
    for target in selectors.list_targets(user).filter(user__in=[p.pk for p in people_list],
                                                       period_start__lte=last, period_end__gte=first):
        targets.setdefault(target.user_id, []).append(target)
    home = selectors.company_currency()
    rows = []
    for person in people_list:
        cells = []
        mine = targets.get(person.pk, [])
        for column in columns:
            exact = next((t for t in mine if t.period_start == column.start and t.period_end == column.end), None)
            name = cell_name(person, column)
            value = plain_amount(exact.amount) if exact is not None else ""
            if typed is not None and name in typed:
                value = typed.get(name, "")
            cells.append(Cell(name=name, person=person, column=column, target=exact, value=value,
                              covered=_covered(mine, column), editable=person.pk in manageable,
                              currency=exact.currency if exact is not None else home,
                              errors=(errors or {}).get(name, [])))
        rows.append((person, cells))
    return Grid(year=year, by=by, columns=columns, rows=rows, editable=bool(manageable))


def _grid_params(query: QueryDict) -> tuple[int, str, Department | None, Team | None]:
    raw_year = query.get("year", "")
    year = int(raw_year) if raw_year.isdigit() and periods.MIN_YEAR <= int(raw_year) <= periods.MAX_YEAR \
        else periods.today().year
    by = BY_QUARTER if query.get("by") == BY_QUARTER else BY_MONTH
    department_id, team_id = query.get("department", ""), query.get("team", "")
    department = Department.objects.filter(pk=int(department_id)).first() \
        if department_id.isdigit() and len(department_id) < 18 else None
    team = Team.objects.filter(pk=int(team_id)).first() if team_id.isdigit() and len(team_id) < 18 else None
    return year, by, department, team


def _require_targets(user: Any) -> None:
    if not selectors.may_view_targets(user):
        raise PermissionDenied(_("You do not have permission to view sales targets."))


def _render_grid(request: HttpRequest, grid: Grid, department: Department | None, team: Team | None,
                 status: int = 200) -> HttpResponse:
    return render(request, "crm/forecast/targets.html", {
        "grid": grid, "department": department, "team": team,
        "departments": Department.objects.order_by("path"), "teams": Team.objects.order_by("name"),
        "years": [grid.year - 1, grid.year, grid.year + 1],
        "company_currency": selectors.company_currency(),
    }, status=status)


@login_required
@require_GET
def target_list(request: HttpRequest) -> HttpResponse:
    """The targets grid: salespeople × months (or quarters) of a year. Cells of people the user
    may set targets for are inputs (saved one by one with HTMX, or all at once); others read-only."""
    _require_targets(request.user)
    year, by, department, team = _grid_params(request.GET)
    return _render_grid(request, _grid(request.user, year, by, department, team), department, team)


def _compact_date(text: str) -> dt.date | None:
    """``20250131`` → a date; None when it is not one."""
    try:
        return dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return None


def _changes(post: QueryDict, names: list[str]) -> tuple[list[services.TargetChange], dict[str, list[str]]]:
    """The grid cells named ``names`` as changes for the service, and errors of cells that do not
    parse (unknown salesperson, impossible dates)."""
    changes, errors = [], {}
    home = selectors.company_currency()
    people = User.objects.in_bulk([int(m.group(1)) for n in names if (m := CELL_RE.fullmatch(n))])
    currencies = {(t.user_id, t.period_start, t.period_end): t.currency
                  for t in SalesTarget.objects.filter(user__in=list(people))}
    for name in names:
        match = CELL_RE.fullmatch(name)
        person = people.get(int(match.group(1))) if match else None
        start, end = (_compact_date(match.group(2)), _compact_date(match.group(3))) if match else (None, None)
        if person is None or start is None or end is None:
            errors[name] = [_("This cell does not name a salesperson and a period.")]
            continue
        changes.append(services.TargetChange(key=name, user=person, period_start=start, period_end=end,
                                             amount=clean_input(post.get(name, "")),
                                             currency=currencies.get((person.pk, start, end), home)))
    return changes, errors


@login_required
@require_POST
def target_save(request: HttpRequest) -> HttpResponse:
    """Save grid cells: with HTMX the one cell that changed (answers with that cell), otherwise
    every cell of the form at once (all or nothing; errors shown per cell)."""
    _require_targets(request.user)
    actor = actor_of(request)
    trigger = request.headers.get("HX-Trigger-Name", "")
    single = bool(getattr(request, "htmx", False)) and bool(CELL_RE.fullmatch(trigger))
    names = [trigger] if single else [n for n in request.POST if n.startswith("cell-")]
    changes, errors = _changes(request.POST, names)
    if not errors:
        try:
            services.save_targets(changes, actor=actor)
        except ValidationFailed as error:
            errors = dict(error.fields)
        except PermissionDeniedError as error:
            errors = {name: [error.message] for name in names}
    year, by, department, team = _grid_params(request.POST)
    if single:
        grid = _grid(request.user, year, by, department, team, typed=request.POST if errors else None,
                     errors=errors)
        cell = next((c for _person, cells in grid.rows for c in cells if c.name == trigger), None)
        if cell is None:
            return render(request, "crm/forecast/_cell_error.html", {"errors": errors.get(trigger, [])})
        cell.saved = not errors
        return render(request, "crm/forecast/_target_cell.html",
                      {"cell": cell, "company_currency": selectors.company_currency()})
    if errors:
        messages.error(request, _("Some targets could not be saved, so none were saved."))
        grid = _grid(request.user, year, by, department, team, typed=request.POST, errors=errors)
        return _render_grid(request, grid, department, team, status=422)
    messages.success(request, _("Targets saved."))
    query = QueryDict(mutable=True)
    query.update({"year": str(year), "by": by})
    if department is not None:
        query["department"] = str(department.pk)
    if team is not None:
        query["team"] = str(team.pk)
    return htmx_redirect(request, reverse("crm:target_list") + "?" + query.urlencode())
