"""Demo sales targets: every demo sales rep gets a monthly target for the last three and the
next three months (300,000–800,000 CNY, in steps of 10,000), set by the administrator through
the service (so they are audited like any other)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from bizloom.crm.forecast import periods
from bizloom.crm.forecast.services import set_target
from bizloom.platform import demo

demo.grant("sales", "crm.view_salestarget")
demo.grant("manager", "crm.view_salestarget", "crm.manage_targets")
demo.grant("administrator", "crm.manage_targets")

MONTHS_BACK, MONTHS_AHEAD = 3, 3
LOW, HIGH, STEP = 300_000, 800_000, 10_000


def demo_months(today: dt.date) -> list[dt.date]:
    """First days of the months from ``MONTHS_BACK`` before ``today``'s month to ``MONTHS_AHEAD`` after it."""
    month = today.replace(day=1)
    for _step in range(MONTHS_BACK):
        month = (month - dt.timedelta(days=1)).replace(day=1)
    months = []
    for _step in range(MONTHS_BACK + 1 + MONTHS_AHEAD):
        months.append(month)
        month = periods.next_month(month)
    return months


@demo.builder("crm.targets", order=60)
def build_targets(ctx: demo.DemoContext) -> None:
    """Monthly targets for each demo sales rep around this month."""
    actor = ctx.users.get("admin")
    if actor is None or not ctx.sales_reps:
        return
    count = 0
    for rep in ctx.sales_reps:
        base = ctx.rng.randrange(LOW + 100_000, HIGH - 100_000 + 1, STEP)
        for month in demo_months(periods.today()):
            # a rep's months stay within 100k of their own level (inside the 300k–800k band)
            amount = min(HIGH, max(LOW, base + ctx.rng.randrange(-100_000, 100_001, STEP)))
            set_target(rep, month, periods.month_end(month), Decimal(amount), "CNY", actor=actor)
            count += 1
    ctx.created("sales targets", count)
