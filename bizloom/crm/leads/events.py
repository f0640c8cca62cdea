"""Events the leads area publishes. Subscribe in your app's handlers.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from bizloom.platform.events import DomainEvent


@dataclass(frozen=True)
class LeadCreated(DomainEvent):
    """A lead was created (owner: its first owner)."""

    name: ClassVar[str] = "crm.lead.created"
    lead_id: int
    owner_id: int | None
    source: str
    actor_id: int | None


@dataclass(frozen=True)
class LeadUpdated(DomainEvent):
    """Fields of a lead changed (status too); ``changed`` names them (custom fields as ``cf_<key>``)."""

    name: ClassVar[str] = "crm.lead.updated"
    lead_id: int
    changed: tuple[str, ...]
    actor_id: int | None


@dataclass(frozen=True)
class LeadDeleted(DomainEvent):
    """A lead was deleted; ``lead_name`` keeps its last name for messages."""

    name: ClassVar[str] = "crm.lead.deleted"
    lead_id: int
    lead_name: str
    actor_id: int | None


@dataclass(frozen=True)
class LeadOwnerChanged(DomainEvent):
    """A lead was given to another owner (by editing it or by a transfer)."""

    name: ClassVar[str] = "crm.lead.owner_changed"
    lead_id: int
    old_owner_id: int | None
    new_owner_id: int | None
    actor_id: int | None


@dataclass(frozen=True)
class LeadConverted(DomainEvent):
    """A lead became an account, a contact and (optionally) an opportunity.

    ``account_created`` / ``contact_created`` say whether those records are new or existing
    ones the user chose; ``opportunity_id`` is None when no opportunity was created.
    """

    name: ClassVar[str] = "crm.lead.converted"
    lead_id: int
    account_id: int
    contact_id: int
    opportunity_id: int | None
    account_created: bool
    contact_created: bool
    actor_id: int | None
