"""Workflow transitions declared on models as ``TRANSITIONS`` and checked in services."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

from bizloom.common.errors import InvalidTransition


def check_transition(record: Any, target: str, *, field: str = "status") -> None:
    """Raise InvalidTransition unless ``record`` may move from its status to ``target``."""
    transitions: Mapping[str, frozenset[str]] = getattr(type(record), "TRANSITIONS", {})
    current = getattr(record, field)
    if target not in transitions.get(current, frozenset()):
        labels = dict(record._meta.get_field(field).flatchoices)
        raise InvalidTransition(
            _("Cannot change status from %(current)s to %(target)s.")
            % {"current": labels.get(current, current), "target": labels.get(target, target)},
            current=current,
            target=target,
        )
