"""API schemas of the forecast area: report parameters and answers, sales targets.

Amounts are strings with four decimal places (``"125000.0000"``), percentages and days strings
with one (``"45.5"``); every amount sits next to its currency.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from ninja import Field, Schema

from bizloom.crm.forecast import periods
from bizloom.crm.forecast.selectors import Analysis, Figures, Forecast, HiddenFigures, Line, StageFigures
from bizloom.crm.models import SalesTarget
from bizloom.crm.schemas import Amount
from bizloom.platform.api.pagination import Page
from bizloom.platform.api.schemas import OneOf, ReadSchema, RecordId, WriteSchema, amount_str

PeriodKind = Annotated[str, OneOf(periods.KINDS)]
Currency = Annotated[str, Field(min_length=3, max_length=3, pattern=r"^[A-Za-z]{3}$",
                                description="ISO 4217 code, e.g. CNY.")]


def _decimal(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


class ReportParams(Schema):
    """Period and filters of the forecast and the pipeline analysis (default: this quarter)."""

    period: PeriodKind | None = Field(None, description="month, quarter (default), year or custom.")
    on: date | None = Field(None, description="A day inside the wanted month/quarter/year (default: today).")
    start: date | None = Field(None, description="First day of a custom range.")
    end: date | None = Field(None, description="Last day of a custom range (inclusive; at most three years).")
    pipeline: RecordId | None = Field(None, description="Only this pipeline's opportunities.")
    owner: RecordId | None = Field(None, description="Only this salesperson.")
    department: RecordId | None = Field(None, description="Only salespeople of this department and those below.")
    team: RecordId | None = Field(None, description="Only members (and the leader) of this team.")


class PeriodOut(Schema):
    kind: str
    start: date
    end: date


class FiguresOut(Schema):
    """Figures of one row in one currency."""

    currency: str
    open_count: int
    open_amount: str | None = Field(description="Null when the opportunity amount is hidden from you (also "
                                    "the weighted and won amounts, attainment and gap).")
    weighted_amount: str | None
    won_count: int
    won_amount: str | None
    target: str | None = Field(description="Target for the period (prorated by days); null without one.")
    attainment: str | None = Field(description="Won ÷ target in percent, one decimal; null without a target.")
    gap: str | None = Field(description="Target − won − weighted open; null without a target.")


def figures_out(line: Line) -> dict[str, Any]:
    """A :class:`Line` as :class:`FiguresOut` data."""
    f: Figures | HiddenFigures = line.figures
    return {"currency": line.currency, "open_count": f.open_count, "open_amount": amount_str(f.open_amount),
            "weighted_amount": amount_str(f.weighted_amount), "won_count": f.won_count,
            "won_amount": amount_str(f.won_amount), "target": amount_str(f.target),
            "attainment": _decimal(f.attainment), "gap": amount_str(f.gap)}


class MonthOut(Schema):
    month: str = Field(description="YYYY-MM of the expected close date (open) or of closing (won).")
    lines: list[FiguresOut]


class OwnerOut(Schema):
    owner: int | None = Field(description="Id of the salesperson; null for unassigned opportunities.")
    owner_name: str
    lines: list[FiguresOut]


class ForecastOut(Schema):
    period: PeriodOut
    pipeline: int | None
    currencies: list[str] = Field(description="Currencies in the report, company currency first.")
    months: list[MonthOut]
    owners: list[OwnerOut]
    totals: list[FiguresOut] = Field(description="One line per currency; currencies are never added together.")


def forecast_out(report: Forecast) -> dict[str, Any]:
    """The forecast as :class:`ForecastOut` data."""
    period = report.filters.period
    return {
        "period": {"kind": period.kind, "start": period.start, "end": period.end},
        "pipeline": report.filters.pipeline.pk if report.filters.pipeline else None,
        "currencies": report.currencies,
        "months": [{"month": row.key, "lines": [figures_out(line) for line in row.lines]} for row in report.months],
        "owners": [{"owner": row.key, "owner_name": row.label, "lines": [figures_out(line) for line in row.lines]}
                   for row in report.owners],
        "totals": [figures_out(line) for line in report.totals],
    }


class StageOut(Schema):
    stage: int
    name: str
    kind: str
    position: int
    entered: int
    moved_on: int
    next_rate: str | None = Field(description="Percent of the entries that reached a later stage.")
    won: int
    won_rate: str | None = Field(description="Percent of the entries that were won.")
    average_days: str | None
    median_days: str | None
    current: int = Field(description="Opportunities in the stage now.")


def stage_out(row: StageFigures) -> dict[str, Any]:
    stage = row.stage
    return {"stage": stage.pk, "name": str(stage), "kind": stage.kind, "position": stage.position,
            "entered": row.entered, "moved_on": row.moved_on, "next_rate": _decimal(row.next_rate), "won": row.won,
            "won_rate": _decimal(row.won_rate), "average_days": _decimal(row.average_days),
            "median_days": _decimal(row.median_days), "current": row.current}


class AnalysisOut(Schema):
    period: PeriodOut
    pipeline: int | None
    stages: list[StageOut]
    won: int
    lost: int
    win_rate: str | None
    average_cycle_days: str | None
    median_cycle_days: str | None


def analysis_out(analysis: Analysis) -> dict[str, Any]:
    period = analysis.filters.period
    return {
        "period": {"kind": period.kind, "start": period.start, "end": period.end},
        "pipeline": analysis.filters.pipeline.pk if analysis.filters.pipeline else None,
        "stages": [stage_out(row) for row in analysis.stages],
        "won": analysis.won, "lost": analysis.lost, "win_rate": _decimal(analysis.win_rate),
        "average_cycle_days": _decimal(analysis.average_cycle_days),
        "median_cycle_days": _decimal(analysis.median_cycle_days),
    }


# --- targets ---------------------------------------------------------------------------------


class TargetOut(ReadSchema):
    id: int
    user: int = Field(description="Id of the salesperson.")
    user_name: str
    period_start: date
    period_end: date
    amount: str = Field(description="Decimal amount as a string.")
    currency: str
    updated_at: datetime
    updated_by: int | None

    @staticmethod
    def resolve_user(obj: SalesTarget) -> int:
        return obj.user_id

    @staticmethod
    def resolve_user_name(obj: SalesTarget) -> str:
        return str(obj.user)

    @staticmethod
    def resolve_amount(obj: SalesTarget) -> str | None:
        return amount_str(obj.amount)

    @staticmethod
    def resolve_updated_by(obj: SalesTarget) -> int | None:
        return obj.updated_by_id


class TargetPage(Page[TargetOut]):
    """A page of sales targets."""


class TargetFilters(Schema):
    user: RecordId | None = Field(None, description="Only this salesperson's targets.")
    start: date | None = Field(None, description="Only targets ending on or after this day.")
    end: date | None = Field(None, description="Only targets starting on or before this day.")


class TargetIn(WriteSchema):
    """A salesperson's target for a period; a target with the same user and period is replaced."""

    access_model = SalesTarget

    user: RecordId = Field(description="Id of the salesperson.")
    period_start: date
    period_end: date = Field(description="Last day of the period (inclusive).")
    amount: Amount
    currency: Currency | None = Field(None, description="Default: the company currency.")
