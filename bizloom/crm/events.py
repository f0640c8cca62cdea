"""Events the CRM publishes about accounts (issue #3) and contacts (issue #4). Subscribe in your app's handlers.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from bizloom.platform.events import DomainEvent


@dataclass(frozen=True)
class AccountCreated(DomainEvent):
    """An account was created (owner: its first owner)."""

    name: ClassVar[str] = "crm.account.created"
    account_id: int
    owner_id: int | None
    actor_id: int | None


@dataclass(frozen=True)
class AccountUpdated(DomainEvent):
    """Fields of an account changed; ``changed`` names them (custom fields as ``cf_<key>``)."""

    name: ClassVar[str] = "crm.account.updated"
    account_id: int
    changed: tuple[str, ...]
    actor_id: int | None


@dataclass(frozen=True)
class AccountDeleted(DomainEvent):
    """An account was deleted; ``account_name`` keeps its last name for messages."""

    name: ClassVar[str] = "crm.account.deleted"
    account_id: int
    account_name: str
    actor_id: int | None


@dataclass(frozen=True)
class AccountOwnerChanged(DomainEvent):
    """An account was given to another owner (by editing it or by a transfer)."""

    name: ClassVar[str] = "crm.account.owner_changed"
    account_id: int
    old_owner_id: int | None
    new_owner_id: int | None
    actor_id: int | None


@dataclass(frozen=True)
class ContactCreated(DomainEvent):
    """A contact was created (owner: its first owner; account_id: its primary account)."""

    name: ClassVar[str] = "crm.contact.created"
    contact_id: int
    account_id: int | None
    owner_id: int | None
    actor_id: int | None


@dataclass(frozen=True)
class ContactUpdated(DomainEvent):
    """Fields of a contact changed; ``changed`` names them (custom fields as ``cf_<key>``)."""

    name: ClassVar[str] = "crm.contact.updated"
    contact_id: int
    changed: tuple[str, ...]
    actor_id: int | None


@dataclass(frozen=True)
class ContactDeleted(DomainEvent):
    """A contact was deleted; ``contact_name`` keeps its last name for messages."""

    name: ClassVar[str] = "crm.contact.deleted"
    contact_id: int
    contact_name: str
    actor_id: int | None


@dataclass(frozen=True)
class ContactOwnerChanged(DomainEvent):
    """A contact was given to another owner (by editing it or by a transfer)."""

    name: ClassVar[str] = "crm.contact.owner_changed"
    contact_id: int
    old_owner_id: int | None
    new_owner_id: int | None
    actor_id: int | None
