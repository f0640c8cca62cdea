"""Use cases of the forecast area: setting and removing sales targets.

Rules (enforced here, whatever the entry point):

* Only users who may manage targets set or remove them, and only for the salespeople they
  reach: administrators (superusers, ``crm.change_salestarget`` with scope ``all``) everyone,
  others (a sales manager) the people of their department subtree — see
  ``bizloom.crm.forecast.selectors``. Anything else is a PermissionDeniedError naming the rule.
* A target is a Decimal amount ≥ 0 (at most 15 digits before and 4 after the point) in a
  three-letter currency, for a period ``period_start``..``period_end`` (inclusive).
* A salesperson has at most one target for any day: a target whose period overlaps another of
  theirs (other than the very same period, which is updated in place) is refused
  (``target_overlap``), so targets are never counted twice.
* Every change is audited (``bizloom.platform.audit``) and publishes ``crm.target.set`` or
  ``crm.target.deleted`` in the same transaction; setting the value a target already has
  writes and publishes nothing.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from bizloom.common.errors import DomainError, PermissionDeniedError, ValidationFailed
from bizloom.common.validation import full_clean
from bizloom.crm.forecast import selectors
from bizloom.crm.forecast.events import TargetDeleted, TargetSet
from bizloom.crm.forecast.periods import MAX_YEAR, MIN_YEAR
from bizloom.crm.models import SalesTarget
from bizloom.platform import records
from bizloom.platform.audit import services as audit
from bizloom.platform.models import User

MAX_AMOUNT = Decimal(10) ** 15
AMOUNT_PLACES = 4
CURRENCY_RE = re.compile(r"[A-Z]{3}")


def check_may_set_target(actor: User, person: User) -> None:
    """Raise PermissionDeniedError unless ``actor`` may set or remove targets of ``person``."""
    if not selectors.may_manage_targets(actor):
        raise PermissionDeniedError(_("You do not have permission to set sales targets."),
                                    rule=f"permission:{selectors.MANAGE_PERMISSION}")
    if not selectors.manageable_people(actor).filter(pk=person.pk).exists():
        raise PermissionDeniedError(
            _("You may set targets only for people in your department and the departments below it."),
            rule="targets:salesperson outside the actor's department subtree")


def clean_amount(amount: Any) -> Decimal:
    """``amount`` as a Decimal target amount, or ValidationFailed on ``amount``."""
    def refuse(message: str) -> ValidationFailed:
        return ValidationFailed(message, code="invalid_amount", fields={"amount": [message]})

    if isinstance(amount, bool) or amount is None or isinstance(amount, float):
        raise refuse(_("Enter the target as a decimal number, e.g. 500000.00."))
    try:
        value = amount if isinstance(amount, Decimal) else Decimal(str(amount).strip())
    except (InvalidOperation, ValueError) as error:
        raise refuse(_("Enter the target as a decimal number, e.g. 500000.00.")) from error
    if not value.is_finite():
        raise refuse(_("Enter the target as a decimal number, e.g. 500000.00."))
    if value < 0:
        raise refuse(_("A target may not be negative."))
    if value >= MAX_AMOUNT:
        raise refuse(_("A target must be less than 1,000,000,000,000,000."))
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -AMOUNT_PLACES and value != value.quantize(Decimal("0.0001")):
        raise refuse(_("Use at most four decimal places."))
    return value.quantize(Decimal("0.0001"))


def _clean_currency(currency: Any) -> str:
    code = str(currency or "").strip().upper()
    if not CURRENCY_RE.fullmatch(code):
        message = _("Enter a three-letter currency code such as CNY.")
        raise ValidationFailed(message, code="invalid_currency", fields={"currency": [message]})
    return code


def _clean_period(period_start: Any, period_end: Any) -> None:
    errors: dict[str, list[str]] = {}
    for name, value in (("period_start", period_start), ("period_end", period_end)):
        if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
            errors[name] = [_("Enter a valid date.")]
        elif not MIN_YEAR <= value.year <= MAX_YEAR:
            errors[name] = [_("Enter a date between %(min)s and %(max)s.") % {"min": MIN_YEAR, "max": MAX_YEAR}]
    if not errors and period_end < period_start:
        errors["period_end"] = [_("The end date must not be before the start date.")]
    if errors:
        raise ValidationFailed(_("Please correct the period."), code="invalid_period", fields=errors)


def _event(target: SalesTarget, *, created: bool, actor: User) -> TargetSet:
    return TargetSet(target_id=target.pk, user_id=target.user_id, period_start=target.period_start.isoformat(),
                     period_end=target.period_end.isoformat(), amount=str(target.amount), currency=target.currency,
                     created=created, actor_id=actor.pk)


@transaction.atomic
def set_target(user: User, period_start: dt.date, period_end: dt.date, amount: Any, currency: str, *,
               actor: User) -> SalesTarget:
    """Set what ``user`` should win in ``period_start``..``period_end``: create the target or
    update the one with exactly that period (upsert on the unique period).

    Refused (PermissionDeniedError) unless ``actor`` may set targets for ``user``; ValidationFailed
    on ``amount`` (negative, not a decimal, too large, more than four decimal places),
    ``currency``, the period fields, ``user`` (inactive) or ``period_start`` (``target_overlap``:
    another target of ``user`` overlaps the period). Returns the saved target.
    """
    check_may_set_target(actor, user)
    value = clean_amount(amount)
    code = _clean_currency(currency)
    _clean_period(period_start, period_end)
    if not user.is_active:
        message = _("No active user with this id.")
        raise ValidationFailed(message, code="inactive_user", fields={"user": [message]})
    # One writer per salesperson at a time, so two overlapping periods cannot slip in side by side.
    User.objects.select_for_update().filter(pk=user.pk).first()
    clashing = (SalesTarget.objects.filter(user=user, period_start__lte=period_end, period_end__gte=period_start)
                .exclude(period_start=period_start, period_end=period_end).order_by("period_start").first())
    if clashing is not None:
        message = _("%(person)s already has a target for %(start)s – %(end)s, which overlaps this period. "
                    "Remove it first.") % {"person": user, "start": clashing.period_start.isoformat(),
                                           "end": clashing.period_end.isoformat()}
        raise ValidationFailed(message, code="target_overlap", fields={"period_start": [message]})
    target = SalesTarget.objects.select_for_update().filter(user=user, period_start=period_start,
                                                            period_end=period_end).first()
    if target is None:
        target = SalesTarget(user=user, period_start=period_start, period_end=period_end, amount=value,
                             currency=code, updated_by=actor)
        full_clean(target)
        target.save()
        records.created(target, actor=actor, event=_event(target, created=True, actor=actor))
        return target
    if target.amount == value and target.currency == code:
        return target
    before = audit.snapshot(target)
    target.amount, target.currency, target.updated_by = value, code, actor
    full_clean(target)
    target.save(update_fields=["amount", "currency", "updated_by", "updated_at"])
    records.updated(target, before, actor=actor, event=lambda changed: _event(target, created=False, actor=actor))
    return target


@transaction.atomic
def delete_target(target: SalesTarget, *, actor: User) -> None:
    """Remove ``target``; refused (PermissionDeniedError) unless ``actor`` may set targets for its
    salesperson. Audited, publishes TargetDeleted."""
    check_may_set_target(actor, target.user)
    records.delete(target, actor=actor, event=TargetDeleted(
        target_id=target.pk, user_id=target.user_id, period_start=target.period_start.isoformat(),
        period_end=target.period_end.isoformat(), actor_id=actor.pk))


@dataclass(frozen=True)
class TargetChange:
    """One cell of the targets grid: ``amount`` None removes the target of that exact period."""

    key: str
    user: User
    period_start: dt.date
    period_end: dt.date
    amount: Decimal | str | None
    currency: str


@transaction.atomic
def save_targets(changes: Iterable[TargetChange], *, actor: User) -> int:
    """Apply the cells of the targets grid all together or not at all; returns how many cells
    were set or removed (cells that already hold their value count too).

    Every cell goes through :func:`set_target` / :func:`delete_target`. When any cell is refused,
    nothing is saved and ValidationFailed (``targets_invalid``) maps each refused cell's ``key``
    to its messages.
    """
    errors: dict[str, list[str]] = {}
    applied = 0
    for change in changes:
        try:
            with transaction.atomic():
                if change.amount is None:
                    check_may_set_target(actor, change.user)
                    existing = SalesTarget.objects.filter(user=change.user, period_start=change.period_start,
                                                          period_end=change.period_end).first()
                    if existing is not None:
                        delete_target(existing, actor=actor)
                else:
                    set_target(change.user, change.period_start, change.period_end, change.amount, change.currency,
                               actor=actor)
            applied += 1
        except DomainError as error:
            errors[change.key] = [m for messages in error.fields.values() for m in messages] or [error.message]
    if errors:
        raise ValidationFailed(_("Some targets could not be saved, so none were saved."), code="targets_invalid",
                               fields=errors)
    return applied
