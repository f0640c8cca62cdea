"""Activities for the access matrix: a planned call owned by the given user."""

from __future__ import annotations

import itertools
from typing import Any

from bizloom.crm.models import Activity

_SEQUENCE = itertools.count(1001)


def make_activity(owner: Any, **values: Any) -> Activity:
    """A planned call owned by ``owner`` with a unique subject (``Matrix call A1001``), not linked to a record."""
    data: dict[str, Any] = {"kind": Activity.Kind.CALL, "subject": f"Matrix call A{next(_SEQUENCE)}", "owner": owner}
    data.update(values)
    return Activity.objects.create(**data)


FACTORIES = {Activity: make_activity}
