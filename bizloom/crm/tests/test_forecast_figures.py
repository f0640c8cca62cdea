"""The forecast figures: by month and owner, weighted rounding, currencies, won against target,
and who sees whose numbers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from bizloom.common.errors import ValidationFailed
from bizloom.crm.forecast import periods, selectors
from bizloom.crm.forecast.periods import Period
from bizloom.crm.models import Opportunity
from bizloom.crm.tests.forecast_fixtures import *  # noqa: F403 - the world fixture
from bizloom.crm.tests.forecast_fixtures import ZONE, d

Q1 = Period(periods.QUARTER, d("2025-01-01"), d("2025-03-31"))


def _report(user, period=Q1, **filters):
    return selectors.forecast(user, selectors.Filters(period=period, **filters))


def _line(row, currency="CNY"):
    return next(line.figures for line in row.lines if line.currency == currency)


def _owner(report, user):
    return next(row for row in report.owners if row.owner == user)


def _month(report, key):
    return next(row for row in report.months if row.key == key)


def test_open_opportunities_by_month_and_owner_with_weighted_amounts_rounded_per_opportunity(world):
    # given: amounts whose weighted values need rounding (half up, to the cent)
    world.opportunity(world.rep_a, "propose", "1000.05", close="2025-01-15")         # 500.025 → 500.03
    world.opportunity(world.rep_a, "qualify", "100000", close="2025-01-31")          # 20000.00
    world.opportunity(world.rep_a, "negotiate", "0.01", probability=50, close="2025-02-01")  # 0.005 → 0.01
    world.opportunity(world.rep_b, "negotiate", "250000", close="2025-03-10")        # 200000.00
    world.opportunity(world.rep_b, "propose", "99999", close="2025-04-01")           # next quarter: left out
    world.opportunity(world.rep_b, "lost", "77777", close="2025-02-01", closed="2025-02-01")  # not open

    # when
    report = _report(world.root)

    # then
    assert [row.key for row in report.months] == ["2025-01", "2025-02", "2025-03"]
    january = _line(_month(report, "2025-01"))
    assert (january.open_count, january.open_amount, january.weighted_amount) == (
        2, Decimal("101000.05"), Decimal("20500.03"))
    assert _line(_month(report, "2025-02")).weighted_amount == Decimal("0.01")
    assert _line(_month(report, "2025-03")).weighted_amount == Decimal("200000.00")
    rep_a = _line(_owner(report, world.rep_a))
    assert (rep_a.open_count, rep_a.open_amount, rep_a.weighted_amount) == (
        3, Decimal("101000.06"), Decimal("20500.04"))
    total = report.totals[0].figures
    assert (total.open_count, total.weighted_amount) == (4, Decimal("220500.04"))
    # month rows and owner rows add up to the same total
    assert sum(_line(row).weighted_amount for row in report.months if row.lines) == total.weighted_amount


def test_currencies_are_summed_apart_with_the_company_currency_first(world):
    # given
    world.opportunity(world.rep_a, "propose", "10000", close="2025-02-01", currency="USD")
    world.opportunity(world.rep_a, "propose", "20000", close="2025-02-02", currency="CNY")
    world.opportunity(world.rep_b, "propose", "5000", close="2025-02-03", currency="EUR")

    # when
    report = _report(world.root)

    # then
    assert report.currencies == ["CNY", "EUR", "USD"]
    assert [(line.currency, line.figures.open_amount) for line in report.totals] == [
        ("CNY", Decimal("20000")), ("EUR", Decimal("5000")), ("USD", Decimal("10000"))]
    assert [line.currency for line in _owner(report, world.rep_a).lines] == ["CNY", "USD"]
    assert [chart["currency"] for chart in report.chart()] == ["CNY", "EUR", "USD"]


def test_won_in_the_period_against_monthly_targets_gives_attainment_and_gap(world):
    # given: won in the quarter (one outside it), targets for its three months
    world.opportunity(world.rep_a, "won", "200000", closed="2025-02-14")
    world.opportunity(world.rep_a, "won", "100000", closed="2025-03-31")
    world.opportunity(world.rep_a, "won", "999999", closed="2024-12-31")
    world.opportunity(world.rep_a, "propose", "100000", close="2025-03-20")  # weighted 50000
    for month, end in (("01", "31"), ("02", "28"), ("03", "31")):
        world.target(world.rep_a, f"2025-{month}-01", f"2025-{month}-{end}", "150000")

    # when
    figures = _line(_owner(_report(world.root), world.rep_a))

    # then
    assert (figures.won_count, figures.won_amount) == (2, Decimal("300000"))
    assert figures.target == Decimal("450000.00")
    assert figures.attainment == Decimal("66.7")
    assert figures.gap == Decimal("100000.00")  # 450000 − 300000 − 50000


def test_won_by_month_uses_the_local_closing_date(world):
    # given: closed at 00:30 Shanghai time on 1 February (still 31 January in UTC)
    deal = world.opportunity(world.rep_a, "won", "5000", closed="2025-02-01")
    Opportunity.objects.filter(pk=deal.pk).update(closed_at=dt.datetime(2025, 2, 1, 0, 30, tzinfo=ZONE))

    # when
    report = _report(world.root)

    # then
    assert _month(report, "2025-01").lines == []
    assert _line(_month(report, "2025-02")).won_amount == Decimal("5000")


def test_a_target_partly_outside_the_period_is_prorated_by_days(world):
    # given: a quarterly target of 900,000 (90 days) and January as the period
    world.target(world.rep_a, "2025-01-01", "2025-03-31", "900000")
    january = periods.period_of(periods.MONTH, d("2025-01-10"))

    # when
    figures = _line(_owner(_report(world.root, period=january), world.rep_a))

    # then: 31 of 90 days
    assert figures.target == Decimal("310000.00")
    assert figures.attainment == Decimal("0.0")


def test_a_rep_sees_only_their_own_numbers_and_targets(world):
    # given
    world.opportunity(world.rep_a, "propose", "1000", close="2025-01-10")
    world.opportunity(world.rep_b, "propose", "2000", close="2025-01-10")
    world.target(world.rep_a, "2025-01-01", "2025-03-31", "300000")
    world.target(world.rep_b, "2025-01-01", "2025-03-31", "400000")

    # when
    report = _report(world.rep_a)

    # then
    assert [row.owner for row in report.owners] == [world.rep_a]
    assert report.totals[0].figures.open_amount == Decimal("1000")
    assert report.totals[0].figures.target == Decimal("300000.00")


def test_a_manager_sees_their_department_subtree_but_not_other_departments(world):
    # given
    world.opportunity(world.rep_a, "propose", "1000", close="2025-01-10")
    world.opportunity(world.rep_b, "propose", "2000", close="2025-01-10")
    world.opportunity(world.outsider, "propose", "4000", close="2025-01-10")

    # when
    east, whole = _report(world.east_manager), _report(world.boss)

    # then
    assert [row.owner for row in east.owners] == [world.rep_a]
    assert {row.owner for row in whole.owners} == {world.rep_a, world.rep_b}
    assert whole.totals[0].figures.open_amount == Decimal("3000")


def test_filters_narrow_to_a_department_a_salesperson_or_a_pipeline(world):
    # given
    world.opportunity(world.rep_a, "propose", "1000", close="2025-01-10")
    world.opportunity(world.rep_b, "propose", "2000", close="2025-01-10")
    south = world.rep_b.department

    # when
    by_department = _report(world.root, department=south)
    by_owner = _report(world.root, owner=world.rep_a)

    # then
    assert [row.owner for row in by_department.owners] == [world.rep_b]
    assert [row.owner for row in by_owner.owners] == [world.rep_a]


def test_without_permission_to_view_opportunities_nothing_counts(world):
    # given
    world.opportunity(world.rep_a, "propose", "1000", close="2025-01-10")

    # when
    report = _report(world.nobody)

    # then
    assert report.owners == []
    assert report.totals == []


@pytest.mark.parametrize(("kind", "start", "end", "field"), [
    ("weekly", None, None, "period"), ("custom", None, "2025-01-01", "start"),
    ("custom", "2025-02-01", "2025-01-01", "end"), ("custom", "2020-01-01", "2025-01-01", "end"),
])
def test_invalid_periods_are_refused_with_the_field_named(kind, start, end, field):
    # when
    with pytest.raises(ValidationFailed) as caught:
        periods.resolve(kind, start=d(start) if start else None, end=d(end) if end else None)

    # then
    assert field in caught.value.fields


def test_the_default_period_is_this_quarter():
    # when
    period = periods.resolve()

    # then
    today = periods.today()
    assert period.kind == "quarter"
    assert period.start <= today <= period.end
    assert period.start.month in (1, 4, 7, 10)
    assert period.days >= 90
