"""Events the pipeline area publishes about opportunities. Subscribe in your app's handlers.py.

Amounts travel as decimal strings with their ISO currency.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from bizloom.platform.events import DomainEvent


@dataclass(frozen=True)
class OpportunityCreated(DomainEvent):
    """An opportunity was created (owner: its first owner)."""

    name: ClassVar[str] = "crm.opportunity.created"
    opportunity_id: int
    account_id: int
    pipeline_id: int
    stage_id: int
    owner_id: int | None
    amount: str
    currency: str
    actor_id: int | None


@dataclass(frozen=True)
class OpportunityUpdated(DomainEvent):
    """Fields of an opportunity changed; ``changed`` names them (``lines`` for the product lines,
    custom fields as ``cf_<key>``)."""

    name: ClassVar[str] = "crm.opportunity.updated"
    opportunity_id: int
    changed: tuple[str, ...]
    actor_id: int | None


@dataclass(frozen=True)
class OpportunityDeleted(DomainEvent):
    """An opportunity was deleted; ``opportunity_name`` keeps its last name for messages."""

    name: ClassVar[str] = "crm.opportunity.deleted"
    opportunity_id: int
    opportunity_name: str
    account_id: int
    actor_id: int | None


@dataclass(frozen=True)
class OpportunityOwnerChanged(DomainEvent):
    """An opportunity was given to another owner (by editing it or by a transfer)."""

    name: ClassVar[str] = "crm.opportunity.owner_changed"
    opportunity_id: int
    old_owner_id: int | None
    new_owner_id: int | None
    actor_id: int | None


@dataclass(frozen=True)
class OpportunityStageChanged(DomainEvent):
    """An opportunity moved from one stage to another (kinds: ``open``, ``won``, ``lost``).

    ``probability`` and ``amount`` are the values on entering the new stage.
    """

    name: ClassVar[str] = "crm.opportunity.stage_changed"
    opportunity_id: int
    pipeline_id: int
    old_stage_id: int | None
    new_stage_id: int
    old_kind: str
    new_kind: str
    probability: int
    amount: str
    currency: str
    actor_id: int | None


@dataclass(frozen=True)
class OpportunityWon(DomainEvent):
    """An opportunity entered a won stage (published after OpportunityStageChanged)."""

    name: ClassVar[str] = "crm.opportunity.won"
    opportunity_id: int
    account_id: int
    owner_id: int | None
    amount: str
    currency: str
    actor_id: int | None


@dataclass(frozen=True)
class OpportunityLost(DomainEvent):
    """An opportunity entered a lost stage (published after OpportunityStageChanged)."""

    name: ClassVar[str] = "crm.opportunity.lost"
    opportunity_id: int
    account_id: int
    owner_id: int | None
    loss_reason_id: int | None
    competitor_ids: tuple[int, ...]
    actor_id: int | None
