"""Factories of the leads area for generic tests (the access matrix)."""

from __future__ import annotations

import itertools
from typing import Any

from bizloom.crm.models import Lead

_NUMBERS = itertools.count(1)


def make_lead(owner: Any, **values: Any) -> Lead:
    """A new lead owned by ``owner`` (saved directly: the matrix checks access, not entry rules)."""
    number = next(_NUMBERS)
    data: dict[str, Any] = {"name": f"Lead {number}", "email": f"lead{number}@example.com", "owner": owner}
    data.update(values)
    return Lead.objects.create(**data)


FACTORIES = {Lead: make_lead}
