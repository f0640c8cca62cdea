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


def record_for_merge(user: Any, model: type[models.Model], pk: int) -> models.Model:
    """Record ``pk`` of ``model`` when ``user`` may view it; Http404 otherwise."""
    record = access.restrict(model._default_manager.all(), user, "view").filter(pk=pk).first()
    if record is None:
        raise Http404("record")
    return record


def search_for_merge(user: Any, model: type[models.Model], query: str, *, exclude: int,
                     limit: int) -> list[models.Model]:
    """Up to ``limit`` records of ``model`` that ``user`` may view whose name contains ``query``
    (other than ``exclude``), by name."""
    records = access.restrict(model._default_manager.filter(name__icontains=query), user, "view")
    return list(records.exclude(pk=exclude).order_by("name", "pk")[:limit])
