"""The audit trail on every detail page's timeline: who, when, channel and field: old → new."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from bizloom.platform.audit.models import AuditEntry
from bizloom.platform.audit.selectors import entries_for
from bizloom.platform.audit.services import CUSTOM_PREFIX
from bizloom.platform.detail import TimelineEntry

TIMELINE_LIMIT = 100


def field_label(model: type[models.Model], name: str) -> str:
    """The verbose name of field ``name`` of ``model``; custom fields show their key."""
    if name.startswith(CUSTOM_PREFIX):
        return name[len(CUSTOM_PREFIX):]
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return name
    if field.auto_created and not field.concrete and field.related_model is not None:
        return str(field.related_model._meta.verbose_name_plural)  # a reverse relation, e.g. "product lines"
    return str(getattr(field, "verbose_name", name))


def display_value(value: Any, field: Any = None) -> str:
    """One audited value as a reader sees it: choices by label, references by name, booleans as yes/no.

    ``field`` (the model field, when known) turns stored choice codes such as ``"software"``
    into the label the user picked, in the reader's language.
    """
    if value is None or value == "" or value == []:
        return "—"
    if (shown := _formatted(value, field)) is not None:
        return shown
    choices = dict(getattr(field, "flatchoices", None) or ())
    if choices and not isinstance(value, list | dict):
        return str(choices.get(value, value))
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, dict) and "repr" in value:
        return str(value["repr"])
    if isinstance(value, list):
        return ", ".join(display_value(v) for v in value)
    return str(value)


def _formatted(value: Any, field: Any) -> str | None:
    """Stored dates, times and decimals (ISO strings, "120000.0000") in the reader's format:
    local time, short date format, grouped digits; None for other values or unreadable ones."""
    try:
        if isinstance(field, models.DateTimeField) and isinstance(value, str):
            moment = dt.datetime.fromisoformat(value)
            moment = timezone.localtime(moment) if timezone.is_aware(moment) else moment
            return formats.date_format(moment, "SHORT_DATETIME_FORMAT")
        if isinstance(field, models.DateField) and isinstance(value, str):
            return formats.date_format(dt.date.fromisoformat(value), "SHORT_DATE_FORMAT")
        if isinstance(field, models.DecimalField) and isinstance(value, str | int | float):
            number = Decimal(str(value))
            places = 2 if number == number.quantize(Decimal("0.01")) else None
            return formats.number_format(number, decimal_pos=places, use_l10n=True, force_grouping=True)
    except (ValueError, InvalidOperation):
        return None
    return None


def _model_field(model: type[models.Model], name: str) -> Any:
    try:
        return model._meta.get_field(name)
    except FieldDoesNotExist:
        return None


def describe(entry: AuditEntry, model: type[models.Model]) -> str:
    """``field: old → new`` lines for ``entry``, in recorded order."""
    lines = []
    for name, pair in (entry.changes or {}).items():
        old, new = (pair + [None, None])[:2] if isinstance(pair, list) else (None, pair)
        field = _model_field(model, name)
        lines.append(_("%(field)s: %(old)s → %(new)s")
                     % {"field": field_label(model, name), "old": display_value(old, field),
                        "new": display_value(new, field)})
    return "\n".join(lines)


def audit_timeline(obj: models.Model, user: Any) -> list[TimelineEntry]:
    """Timeline provider (registered for every model in AuditConfig.ready)."""
    model = type(obj)
    entries = []
    for entry in entries_for(obj, user)[:TIMELINE_LIMIT]:
        title = _("%(action)s via %(channel)s") % {"action": entry.action_label,
                                                  "channel": entry.get_channel_display()}
        entries.append(TimelineEntry(at=entry.at, title=title, body=describe(entry, model),
                                     actor=entry.actor, kind="audit"))
    return entries
