"""Reporting periods of the forecast and the pipeline analysis: a month, a quarter, a year or a
custom range of dates (both ends inclusive), and the arithmetic the reports need (months in a
period, overlapping days, the period as aware datetimes)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bizloom.common.errors import ValidationFailed

MONTH, QUARTER, YEAR, CUSTOM = "month", "quarter", "year", "custom"
KINDS = (MONTH, QUARTER, YEAR, CUSTOM)
KIND_LABELS = {MONTH: gettext_lazy("Month"), QUARTER: gettext_lazy("Quarter"), YEAR: gettext_lazy("Year"),
               CUSTOM: gettext_lazy("Custom range")}
# A custom range may span at most this many days (the reports list every month of the period).
MAX_DAYS = 3 * 366
MIN_YEAR, MAX_YEAR = 2000, 2100


@dataclass(frozen=True)
class Period:
    """``start``..``end`` (dates, inclusive) and how it was chosen (``kind``)."""

    kind: str
    start: dt.date
    end: dt.date

    @property
    def days(self) -> int:
        """Number of calendar days in the period."""
        return (self.end - self.start).days + 1

    def months(self) -> list[dt.date]:
        """The first day of every month the period touches, in order."""
        result = []
        month = self.start.replace(day=1)
        while month <= self.end:
            result.append(month)
            month = next_month(month)
        return result

    def overlap_days(self, start: dt.date, end: dt.date) -> int:
        """How many days of ``start``..``end`` lie inside the period (0 when none)."""
        first, last = max(start, self.start), min(end, self.end)
        return max(0, (last - first).days + 1)

    def datetimes(self) -> tuple[dt.datetime, dt.datetime]:
        """The period as aware datetimes ``[start 00:00, day after end 00:00)`` in the current time zone."""
        zone = timezone.get_current_timezone()
        begin = dt.datetime.combine(self.start, dt.time.min, tzinfo=zone)
        after = dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
        return begin, after

    def previous(self) -> Period:
        """The period of the same kind just before this one (same length for custom ranges)."""
        return _shifted(self, -1)

    def following(self) -> Period:
        """The period of the same kind just after this one (same length for custom ranges)."""
        return _shifted(self, 1)


def next_month(month: dt.date) -> dt.date:
    """The first day of the month after ``month``."""
    return dt.date(month.year + (month.month == 12), month.month % 12 + 1, 1)


def month_end(month: dt.date) -> dt.date:
    """The last day of ``month``'s month."""
    return next_month(month.replace(day=1)) - dt.timedelta(days=1)


def quarter_start(day: dt.date) -> dt.date:
    """The first day of ``day``'s quarter."""
    return dt.date(day.year, (day.month - 1) // 3 * 3 + 1, 1)


def period_of(kind: str, day: dt.date) -> Period:
    """The month, quarter or year (``kind``) that contains ``day``."""
    if kind == MONTH:
        return Period(MONTH, day.replace(day=1), month_end(day))
    if kind == QUARTER:
        start = quarter_start(day)
        return Period(QUARTER, start, month_end(dt.date(start.year, start.month + 2, 1)))
    if kind == YEAR:
        return Period(YEAR, dt.date(day.year, 1, 1), dt.date(day.year, 12, 31))
    raise ValueError(kind)


def _shifted(period: Period, step: int) -> Period:
    if period.kind == CUSTOM:
        length = dt.timedelta(days=period.days)
        return Period(CUSTOM, period.start + length * step, period.end + length * step)
    if step < 0:
        return period_of(period.kind, period.start - dt.timedelta(days=1))
    return period_of(period.kind, period.end + dt.timedelta(days=1))


def today() -> dt.date:
    """Today in the current time zone."""
    return timezone.localdate()


def resolve(kind: str | None = None, *, on: dt.date | None = None, start: dt.date | None = None,
            end: dt.date | None = None) -> Period:
    """The period the user asked for; this quarter when nothing is given.

    ``kind`` month/quarter/year picks the one containing ``on`` (default today); ``custom``
    needs ``start`` and ``end``. A start and end without a kind mean a custom range.
    Raises ValidationFailed (fields ``period``, ``start``, ``end``) for an unknown kind, a
    missing or reversed range, a range longer than three years or a date outside 2000–2100.
    """
    kind = (kind or "").strip().lower() or (CUSTOM if start is not None or end is not None else QUARTER)
    if kind not in KINDS:
        message = _("Choose one of: month, quarter, year, custom.")
        raise ValidationFailed(message, code="invalid_period", fields={"period": [message]})
    for name, value in (("on", on), ("start", start), ("end", end)):
        if value is not None and not MIN_YEAR <= value.year <= MAX_YEAR:
            message = _("Enter a date between %(min)s and %(max)s.") % {"min": MIN_YEAR, "max": MAX_YEAR}
            raise ValidationFailed(message, code="invalid_period", fields={name: [message]})
    if kind != CUSTOM:
        return period_of(kind, on or today())
    errors: dict[str, list[str]] = {}
    if start is None:
        errors["start"] = [_("A custom range needs a start date.")]
    if end is None:
        errors["end"] = [_("A custom range needs an end date.")]
    if errors:
        raise ValidationFailed(_("A custom range needs a start and an end date."), code="invalid_period",
                               fields=errors)
    if start is None or end is None:  # pragma: no cover - refused above; narrows the types
        raise ValidationFailed(_("A custom range needs a start and an end date."), code="invalid_period")
    if end < start:
        message = _("The end date must not be before the start date.")
        raise ValidationFailed(message, code="invalid_period", fields={"end": [message]})
    if (end - start).days + 1 > MAX_DAYS:
        message = _("A custom range may span at most three years.")
        raise ValidationFailed(message, code="invalid_period", fields={"end": [message]})
    return Period(CUSTOM, start, end)
