"""Factories of the pipeline area: an opportunity (with its own account) owned by ``owner``."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from django.db import models
from django.utils import timezone

from bizloom.crm.models import Account, Opportunity, Pipeline, StageHistory

_SEQUENCE = itertools.count(1)


def make_opportunity(owner: Any, **values: Any) -> Opportunity:
    """An open opportunity in the default pipeline's first open stage, on a new account owned by
    ``owner``, with a stage history row; ``values`` override its fields."""
    number = next(_SEQUENCE)
    account = values.pop("account", None) or Account.objects.create(name=f"Factory account {number}", owner=owner)
    pipeline = values.pop("pipeline", None) or Pipeline.objects.filter(is_active=True).order_by(
        "-is_default", "position", "pk").first()
    assert pipeline is not None, "the default pipeline comes from migration 0006"
    stage = values.pop("stage", None) or pipeline.stages.filter(kind="open", is_active=True).order_by(
        "position", "pk").first()
    assert stage is not None
    now = timezone.now()
    opportunity = Opportunity.objects.create(**{
        "name": f"Factory opportunity {number}", "account": account, "owner": owner, "pipeline": pipeline,
        "stage": stage, "probability": stage.probability, "amount": Decimal("1000"), "stage_changed_at": now,
        **values})
    StageHistory.objects.create(opportunity=opportunity, stage=stage, entered_at=now, entered_by=owner,
                                amount=opportunity.amount, probability=opportunity.probability)
    return opportunity


FACTORIES: dict[type[models.Model], Any] = {Opportunity: make_opportunity}
