"""Events of the merge tool. Subscribe in your app's handlers.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from bizloom.platform.events import DomainEvent


@dataclass(frozen=True)
class AccountMerged(DomainEvent):
    """Accounts ``merged_ids`` were merged into ``account_id`` (and deleted); every reference now
    points at ``account_id``."""

    name: ClassVar[str] = "crm.account.merged"
    account_id: int
    merged_ids: tuple[int, ...]
    actor_id: int | None


@dataclass(frozen=True)
class ContactMerged(DomainEvent):
    """Contacts ``merged_ids`` were merged into ``contact_id`` (and deleted)."""

    name: ClassVar[str] = "crm.contact.merged"
    contact_id: int
    merged_ids: tuple[int, ...]
    actor_id: int | None


@dataclass(frozen=True)
class LeadMerged(DomainEvent):
    """Leads ``merged_ids`` were merged into ``lead_id`` (and deleted)."""

    name: ClassVar[str] = "crm.lead.merged"
    lead_id: int
    merged_ids: tuple[int, ...]
    actor_id: int | None
