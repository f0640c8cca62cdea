"""Global search: apps register which models and fields the top-bar search looks in.

Results go through ``access.restrict`` so search never shows what the list page would hide,
and fields hidden from the user by their roles (``access.field_policy``) are not searched:
a hit on a hidden field would reveal its value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import models
from django.db.models import Q

from bizloom.platform import access


@dataclass(frozen=True)
class SearchTarget:
    """A model the global search looks in: which fields, and the detail page of a hit."""

    model: type[models.Model]
    fields: tuple[str, ...]
    detail_url_name: str


_targets: list[SearchTarget] = []


def register(model: type[models.Model], fields: tuple[str, ...], detail_url_name: str) -> None:
    """Search ``fields`` of ``model``; hits link to ``detail_url_name`` (reversed with the pk)."""
    target = SearchTarget(model, fields, detail_url_name)
    if target not in _targets:
        _targets.append(target)


def search(user: Any, text: str, *, limit: int = 8) -> list[dict[str, Any]]:
    """Up to ``limit`` hits per model for ``text``, only among records ``user`` may view."""
    text = text.strip()
    if not text:
        return []
    groups = []
    for target in _targets:
        if not access.can(user, target.model, "view"):
            continue
        policy = access.field_policy(user, target.model, "view")
        fields = [field for field in target.fields if policy.shows(field)]
        if not fields:
            continue
        condition = Q()
        for field in fields:
            condition |= Q(**{f"{field}__icontains": text})
        queryset = access.restrict(target.model._default_manager.all(), user, "view").filter(condition)
        hits = list(queryset[:limit])
        if hits:
            groups.append({"label": target.model._meta.verbose_name_plural, "hits": hits,
                           "url_name": target.detail_url_name})
    return groups
