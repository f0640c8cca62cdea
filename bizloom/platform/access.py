"""The one place that decides what a user may see and do.

Every query of business records in views, the API, search, exports and reports goes
through :func:`restrict`; every action is checked with :func:`require`. Today the
decision is Django's object permissions (granted through groups, which are our roles);
record scopes and field rules (issue #3) extend these same two functions, so callers
do not change.
"""

from __future__ import annotations

import logging
from typing import Any, TypeVar

from django.db import models
from django.utils.translation import gettext as _

from bizloom.common.errors import PermissionDeniedError

log = logging.getLogger("bizloom.security")

M = TypeVar("M", bound=models.Model)

# Actions every business model has; workflow actions (confirm, approve, post, ...) are
# declared as extra permissions in the model's Meta and checked the same way.
STANDARD_ACTIONS = ("view", "add", "change", "delete", "export", "import")


def codename(model: type[models.Model], action: str) -> str:
    """``crm.view_account`` for (Account, "view")."""
    meta = model._meta
    return f"{meta.app_label}.{action}_{meta.model_name}"


def can(user: Any, model: type[models.Model], action: str) -> bool:
    """Whether ``user`` may perform ``action`` on some records of ``model``."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return bool(user.has_perm(codename(model, action)))


def require(user: Any, model: type[models.Model], action: str) -> None:
    """Raise PermissionDeniedError, naming the missing grant, unless ``can`` allows it."""
    if can(user, model, action):
        return
    rule = f"permission:{codename(model, action)}"
    log.info("denied user=%s action=%s model=%s rule=%s", getattr(user, "pk", None), action,
             model._meta.label, rule)
    raise PermissionDeniedError(
        _("You do not have permission to %(action)s %(model)s.")
        % {"action": action, "model": model._meta.verbose_name_plural},
        rule=rule,
    )


def restrict(queryset: models.QuerySet[M], user: Any, action: str = "view") -> models.QuerySet[M]:
    """The records of ``queryset`` that ``user`` may ``action``; filtered in the database."""
    if not can(user, queryset.model, action):
        return queryset.none()
    return queryset
