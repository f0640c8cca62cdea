"""Events the contracts area publishes (issue #4). Subscribe in your app's handlers.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from bizloom.platform.events import DomainEvent


@dataclass(frozen=True)
class ContractCreated(DomainEvent):
    """A contract was created (in draft)."""

    name: ClassVar[str] = "crm.contract.created"
    contract_id: int
    account_id: int
    owner_id: int | None
    actor_id: int | None


@dataclass(frozen=True)
class ContractUpdated(DomainEvent):
    """Fields of a contract changed; ``changed`` names them (custom fields as ``cf_<key>``)."""

    name: ClassVar[str] = "crm.contract.updated"
    contract_id: int
    changed: tuple[str, ...]
    actor_id: int | None


@dataclass(frozen=True)
class ContractOwnerChanged(DomainEvent):
    """A contract was given to another owner (by editing it or by a transfer)."""

    name: ClassVar[str] = "crm.contract.owner_changed"
    contract_id: int
    old_owner_id: int | None
    new_owner_id: int | None
    actor_id: int | None


@dataclass(frozen=True)
class ContractActivated(DomainEvent):
    """A draft contract was activated (it has been signed)."""

    name: ClassVar[str] = "crm.contract.activated"
    contract_id: int
    account_id: int
    amount: str
    currency: str
    actor_id: int | None


@dataclass(frozen=True)
class ContractTerminated(DomainEvent):
    """A draft or active contract was terminated by a user, with a reason."""

    name: ClassVar[str] = "crm.contract.terminated"
    contract_id: int
    account_id: int
    reason: str
    actor_id: int | None


@dataclass(frozen=True)
class ContractExpired(DomainEvent):
    """An active contract passed its end date (set by the daily job; no actor)."""

    name: ClassVar[str] = "crm.contract.expired"
    contract_id: int
    account_id: int


@dataclass(frozen=True)
class ContractDeleted(DomainEvent):
    """A contract was deleted; ``number`` keeps its number for messages."""

    name: ClassVar[str] = "crm.contract.deleted"
    contract_id: int
    number: str
    actor_id: int | None
