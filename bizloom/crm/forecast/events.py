"""Events the forecast area publishes about sales targets. Subscribe in your app's handlers.py.

Amounts travel as decimal strings with their ISO currency; dates as ISO strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from bizloom.platform.events import DomainEvent


@dataclass(frozen=True)
class TargetSet(DomainEvent):
    """A salesperson's target for a period was created or changed (``created`` says which)."""

    name: ClassVar[str] = "crm.target.set"
    target_id: int
    user_id: int
    period_start: str
    period_end: str
    amount: str
    currency: str
    created: bool
    actor_id: int | None


@dataclass(frozen=True)
class TargetDeleted(DomainEvent):
    """A salesperson's target for a period was removed."""

    name: ClassVar[str] = "crm.target.deleted"
    target_id: int
    user_id: int
    period_start: str
    period_end: str
    actor_id: int | None
