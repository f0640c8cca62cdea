"""Numbering use cases: hand out the next document number, define and edit sequences.

``next_number`` must run inside the business transaction that uses the number: the counter
row stays locked until that transaction ends, so concurrent callers queue up (PostgreSQL
row lock; SQLite's single writer) and a rolled-back transaction gives its number back.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from bizloom.common.errors import DomainError, PermissionDeniedError, ValidationFailed
from bizloom.platform.numbering import patterns
from bizloom.platform.numbering.models import NumberCounter, NumberSequence

CREATE_ATTEMPTS = 5


class SequenceNotFound(DomainError):
    """No number sequence is defined for a document type."""

    code = "sequence_not_found"
    status = 409


def _get_or_create_sequence(doc_type: str, default_pattern: str | None) -> NumberSequence:
    found = NumberSequence.objects.filter(doc_type=doc_type).first()
    if found is not None:
        return found
    if default_pattern is None:
        raise SequenceNotFound(_("No number sequence is defined for “%(doc_type)s”.") % {"doc_type": doc_type},
                               doc_type=doc_type)
    return define_sequence(doc_type, default_pattern)


def _lock_counter(sequence: NumberSequence, key: str) -> NumberCounter:
    """The counter row of (sequence, period), locked; created race-safely on first use of a period."""
    for _attempt in range(CREATE_ATTEMPTS):
        counter = NumberCounter.objects.select_for_update().filter(sequence=sequence, period_key=key).first()
        if counter is not None:
            return counter
        try:
            with transaction.atomic():  # savepoint: a lost race leaves the outer transaction usable
                return NumberCounter.objects.create(sequence=sequence, period_key=key, next_value=1)
        except IntegrityError:
            continue  # another transaction created it first; its insert has committed or will: lock it
    raise RuntimeError(f"could not obtain the counter of {sequence.doc_type} for period {key!r}")


@transaction.atomic
def next_number(doc_type: str, *, on_date: dt.date | None = None, default_pattern: str | None = None) -> str:
    """The next number of ``doc_type`` for ``on_date`` (default: today, local time), e.g. ``SO-2025-00042``.

    Unique and gap-free per period as long as it is called inside the caller's transaction:
    the counter stays locked until that commits, and a rollback returns the number. When no
    sequence exists, ``default_pattern`` (if given) defines one.

    Raises SequenceNotFound when the document type has no sequence and no default pattern.
    """
    sequence = _get_or_create_sequence(doc_type, default_pattern)
    day = on_date or timezone.localdate()
    parsed = patterns.parse(sequence.pattern)
    key = patterns.period_key(patterns.effective_reset(parsed, sequence.reset_period), day)
    counter = _lock_counter(sequence, key)
    value = counter.next_value
    counter.next_value = value + 1
    counter.save(update_fields=["next_value"])
    return parsed.render(day, value)


def preview(pattern: str, reset_period: str = "auto", *, on_date: dt.date | None = None, value: int = 1) -> str:
    """What ``pattern`` produces for ``value`` on ``on_date``; ValidationFailed for an invalid pattern or reset."""
    parsed = patterns.parse(pattern)
    patterns.effective_reset(parsed, reset_period)
    return parsed.render(on_date or timezone.localdate(), value)


def define_sequence(doc_type: str, pattern: str, *, name: str = "", reset_period: str = "auto") -> NumberSequence:
    """Create the sequence of ``doc_type`` if missing (idempotent, race-safe); the existing one is kept as is.

    Raises ValidationFailed for an invalid pattern.
    """
    patterns.effective_reset(patterns.parse(pattern), reset_period)
    for _attempt in range(CREATE_ATTEMPTS):
        found = NumberSequence.objects.filter(doc_type=doc_type).first()
        if found is not None:
            return found
        try:
            with transaction.atomic():
                return NumberSequence.objects.create(doc_type=doc_type, pattern=pattern, name=name,
                                                     reset_period=reset_period)
        except IntegrityError:
            continue
    raise RuntimeError(f"could not define the sequence {doc_type}")


@transaction.atomic
def update_sequence(sequence: NumberSequence, data: dict[str, Any], *, actor: Any) -> NumberSequence:
    """Change the name, pattern or reset period of ``sequence`` (staff only). Counters are kept.

    Raises ValidationFailed for an invalid pattern or reset period, PermissionDeniedError for non-staff.
    """
    _require_staff(actor)
    locked = NumberSequence.objects.select_for_update().get(pk=sequence.pk)
    pattern = data.get("pattern", locked.pattern)
    reset_period = data.get("reset_period", locked.reset_period)
    patterns.effective_reset(patterns.parse(pattern), reset_period)
    locked.pattern = pattern
    locked.reset_period = reset_period
    locked.name = data.get("name", locked.name)
    locked.save(update_fields=["pattern", "reset_period", "name", "updated_at"])
    return locked


@transaction.atomic
def create_sequence(data: dict[str, Any], *, actor: Any) -> NumberSequence:
    """Define a new sequence from the admin page (staff only).

    Raises ValidationFailed for an invalid pattern or a document type already defined.
    """
    _require_staff(actor)
    doc_type = str(data.get("doc_type", "")).strip()
    if NumberSequence.objects.filter(doc_type=doc_type).exists():
        message = _("A sequence for “%(doc_type)s” already exists.") % {"doc_type": doc_type}
        raise ValidationFailed(message, code="sequence_exists", fields={"doc_type": [message]})
    pattern = data.get("pattern", "")
    reset_period = data.get("reset_period", "auto")
    patterns.effective_reset(patterns.parse(pattern), reset_period)
    return NumberSequence.objects.create(doc_type=doc_type, pattern=pattern, name=data.get("name", ""),
                                         reset_period=reset_period)


def _require_staff(actor: Any) -> None:
    if not (actor is not None and actor.is_authenticated and actor.is_active and actor.is_staff):
        raise PermissionDeniedError(_("Only administrators may change number sequences."), rule="staff")
