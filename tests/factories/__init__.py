"""Record factories for generic tests (the access matrix): how to build a record of a model
whose required fields the matrix cannot fill by itself (required references).

Each area owns one module here defining ``FACTORIES = {Model: make}`` where
``make(owner, **values) -> saved record`` creates a record owned by ``owner`` with the given
field values (the matrix passes text values for hidden/read-only field checks) and whatever
related records it needs, owned by ``owner`` too so the owner may refer to them.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from functools import cache
from typing import Any

from django.db import models

Factory = Callable[..., models.Model]


@cache
def _registry() -> dict[type[models.Model], Factory]:
    found: dict[type[models.Model], Factory] = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        found.update(getattr(module, "FACTORIES", {}))
    return found


def factory_for(model: type[models.Model]) -> Factory | None:
    """The registered factory of ``model``, or None."""
    return _registry().get(model)


def make(model: type[models.Model], owner: Any, **values: Any) -> models.Model:
    """A saved ``model`` record owned by ``owner`` (KeyError when no factory is registered)."""
    return _registry()[model](owner, **values)
