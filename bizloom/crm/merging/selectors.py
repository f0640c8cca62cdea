"""Permission-scoped reads of the records a merge is about."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import models
from django.http import Http404

from bizloom.crm.merging.services import MERGEABLE
from bizloom.platform import access


def model_for(kind: str) -> type[models.Model]:
    """The model named ``kind`` ("account", "contact", "lead"); Http404 for anything else."""
    model = MERGEABLE.get(kind)
    if model is None:
        raise Http404(kind)
    return model


def records_for_merge(user: Any, model: type[models.Model], survivor: int,
                      others: Sequence[int]) -> tuple[models.Model, list[models.Model]]:
    """The survivor and the other records, among those ``user`` may view; Http404 when one
    does not exist or lies outside their scope. (Whether they may merge them — change the
    survivor, delete the others — the merge service decides, naming the rule.)"""
    wanted = [survivor, *others]
    found = access.restrict(model._default_manager.all(), user, "view").in_bulk(wanted)
    if len(found) != len(set(wanted)):
        raise Http404("record")
    return found[survivor], [found[pk] for pk in dict.fromkeys(others)]
