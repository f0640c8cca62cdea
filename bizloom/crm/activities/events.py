"""Events the CRM publishes about activities (issue #4). Subscribe in your app's handlers.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from bizloom.platform.events import DomainEvent


@dataclass(frozen=True)
class ActivityCreated(DomainEvent):
    """An activity was scheduled or logged (also the next occurrence of a recurring one)."""

    name: ClassVar[str] = "crm.activity.created"
    activity_id: int
    kind: str
    status: str
    owner_id: int | None
    account_id: int | None
    actor_id: int | None


@dataclass(frozen=True)
class ActivityUpdated(DomainEvent):
    """Fields of an activity changed (an edit, a check-in or a cancellation); ``changed`` names them."""

    name: ClassVar[str] = "crm.activity.updated"
    activity_id: int
    changed: tuple[str, ...]
    actor_id: int | None


@dataclass(frozen=True)
class ActivityCompleted(DomainEvent):
    """An activity was done; ``next_id`` is the next occurrence a recurring one scheduled (or None)."""

    name: ClassVar[str] = "crm.activity.completed"
    activity_id: int
    account_id: int | None
    owner_id: int | None
    next_id: int | None
    actor_id: int | None


@dataclass(frozen=True)
class ActivityDeleted(DomainEvent):
    """An activity was deleted; ``subject`` keeps its last subject for messages."""

    name: ClassVar[str] = "crm.activity.deleted"
    activity_id: int
    subject: str
    actor_id: int | None


@dataclass(frozen=True)
class ActivityOwnerChanged(DomainEvent):
    """An activity was given to another person (by editing it or by a transfer)."""

    name: ClassVar[str] = "crm.activity.owner_changed"
    activity_id: int
    old_owner_id: int | None
    new_owner_id: int | None
    actor_id: int | None
