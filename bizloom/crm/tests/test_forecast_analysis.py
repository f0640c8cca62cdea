"""The pipeline analysis from hand-made stage histories: entries, conversion, days in stage,
win rate and sales cycle, over the opportunities the user may view."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bizloom.crm.forecast import periods, selectors
from bizloom.crm.forecast.periods import Period
from bizloom.crm.tests.forecast_fixtures import *  # noqa: F403 - the world fixture
from bizloom.crm.tests.forecast_fixtures import d

Q1 = Period(periods.QUARTER, d("2025-01-01"), d("2025-03-31"))


@pytest.fixture
def histories(world):
    """A: qualify 1 Jan → propose 11 Jan → negotiate 21 Jan → won 1 Feb (created 27 Dec).
    B: qualify 5 Jan → propose 9 Jan → lost 20 Jan.  C (rep B): qualify 10 Jan, still there.
    D: qualify 1 Dec (before the period) → propose 3 Jan, still there."""
    a = world.opportunity(world.rep_a, "won", "100", closed="2025-02-01", created="2024-12-27", name="A")
    world.history(a, ("qualify", "2025-01-01"), ("propose", "2025-01-11"), ("negotiate", "2025-01-21"),
                  ("won", "2025-02-01"))
    b = world.opportunity(world.rep_a, "lost", "100", closed="2025-01-20", created="2025-01-05", name="B")
    world.history(b, ("qualify", "2025-01-05"), ("propose", "2025-01-09"), ("lost", "2025-01-20"))
    c = world.opportunity(world.rep_b, "qualify", "100", created="2025-01-10", name="C")
    world.history(c, ("qualify", "2025-01-10"))
    d_ = world.opportunity(world.rep_a, "propose", "100", created="2024-12-01", name="D")
    world.history(d_, ("qualify", "2024-12-01"), ("propose", "2025-01-03"))
    return world


def _analysis(user, world, period=Q1):
    return selectors.pipeline_analysis(user, selectors.Filters(period=period, pipeline=world.pipeline))


def _stage(analysis, key, world):
    return next(row for row in analysis.stages if row.stage == world.stages[key])


def test_entries_conversion_and_days_in_stage(histories):
    # when
    analysis = _analysis(histories.root, histories)

    # then
    qualify = _stage(analysis, "qualify", histories)
    assert (qualify.entered, qualify.moved_on, qualify.won) == (3, 2, 1)
    assert (qualify.next_rate, qualify.won_rate) == (Decimal("66.7"), Decimal("33.3"))
    assert (qualify.average_days, qualify.median_days) == (Decimal("7.0"), Decimal("7.0"))  # A 10, B 4
    assert qualify.current == 1
    propose = _stage(analysis, "propose", histories)
    assert (propose.entered, propose.moved_on, propose.won) == (3, 1, 1)  # B went to lost, D is still there
    assert (propose.average_days, propose.median_days) == (Decimal("10.5"), Decimal("10.5"))  # A 10, B 11
    negotiate = _stage(analysis, "negotiate", histories)
    assert (negotiate.entered, negotiate.next_rate, negotiate.won_rate) == (1, Decimal("100.0"), Decimal("100.0"))
    assert negotiate.average_days == Decimal("11.0")
    assert [row.stage.position for row in analysis.stages] == [1, 2, 3, 4, 5]


def test_win_rate_and_sales_cycle_of_the_deals_closed_in_the_period(histories):
    # when
    analysis = _analysis(histories.root, histories)

    # then
    assert (analysis.won, analysis.lost, analysis.win_rate) == (1, 1, Decimal("50.0"))
    assert analysis.average_cycle_days == analysis.median_cycle_days == Decimal("36.0")  # 27 Dec → 1 Feb


def test_only_opportunities_the_user_may_view_count(histories):
    # when: rep A does not see C (rep B's)
    analysis = _analysis(histories.rep_a, histories)

    # then
    qualify = _stage(analysis, "qualify", histories)
    assert (qualify.entered, qualify.current) == (2, 0)
    assert _stage(_analysis(histories.rep_b, histories), "qualify", histories).entered == 1
    assert _stage(_analysis(histories.nobody, histories), "qualify", histories).entered == 0


def test_a_period_without_history_has_no_rates(histories):
    # when
    analysis = _analysis(histories.root, histories, period=periods.period_of(periods.YEAR, d("2030-06-01")))

    # then
    qualify = _stage(analysis, "qualify", histories)
    assert (qualify.entered, qualify.next_rate, qualify.average_days) == (0, None, None)
    assert analysis.win_rate is None
    assert analysis.average_cycle_days is None


def test_a_second_stay_in_the_same_stage_counts_its_days_but_not_a_second_entry(world):
    # given: qualify 2 days, propose 3 days, back to qualify 4 days, then propose
    deal = world.opportunity(world.rep_a, "propose", "100", name="Back and forth")
    world.history(deal, ("qualify", "2025-01-01"), ("propose", "2025-01-03"), ("qualify", "2025-01-06"),
                  ("propose", "2025-01-10"))

    # when
    qualify = _stage(_analysis(world.root, world), "qualify", world)

    # then
    assert (qualify.entered, qualify.moved_on) == (1, 1)
    assert (qualify.average_days, qualify.median_days) == (Decimal("3.0"), Decimal("3.0"))
