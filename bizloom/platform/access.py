"""The one place that decides what a user may see and do (issue #3).

Every query of business records in views, the API, search, exports and reports goes
through :func:`restrict`; every action is checked with :func:`require`; every field shown
or written goes through :func:`field_policy`. Three layers, one allow-list policy:

* **Object permissions** — Django permissions ``<app>.<action>_<model>`` granted directly
  to a user or through roles (Django Groups). Actions are :data:`STANDARD_ACTIONS` plus
  the workflow actions a model declares in ``Meta.permissions`` (``confirm_salesorder``).
* **Record scope** — per role, model and action a :class:`~bizloom.platform.models.RoleScope`
  (``own``, ``team``, ``department``, ``all``; no row means ``all``). A user holding several
  roles gets the widest scope of the roles that grant the action. Direct user permissions
  and superusers always mean ``all``. Records shared with the user or one of their teams
  (:class:`~bizloom.platform.models.RecordShare`) are added: a ``read`` share satisfies
  ``view`` and ``export``, an ``edit`` share ``change`` too. A share never replaces the
  model permission.
* **Field rules** — per role and model a field may be ``hidden`` or ``readonly``
  (:class:`~bizloom.platform.models.RoleFieldRule`). A field is hidden (read-only) only when
  it is hidden (read-only or hidden) in *every* role of the user that grants the action;
  direct permissions and superusers have no field rules.

Ownership: a model names its owner field with the class attribute ``access_owner_field``
(default ``"owner"``; it must be a foreign key to the user model). A model without an
owner field has no "own", "team" or "department" records: those scopes then match only
records shared with the user (deliberately not "all": a narrow scope must never widen
silently).

Examples::

    access.can(user, Account, "change")                  # some accounts?
    access.require(user, Account, "delete")              # PermissionDeniedError naming the rule
    accounts = access.restrict(Account.objects.all(), user, "change")
    access.scope_for(user, Account, "view")              # "own" / "team" / ... / None
    access.field_policy(user, Account).hidden            # frozenset({"annual_revenue"})
    access.check_reference(user, order.account, field="account")   # ValidationFailed unless visible

Decisions are computed from a few queries per user object and cached on it (a request's
``request.user`` is a fresh object); :func:`clear_cache` drops the cache after changing
a user's roles in the same process.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.apps import apps
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bizloom.common.errors import PermissionDeniedError, ValidationFailed

log = logging.getLogger("bizloom.security")

M = TypeVar("M", bound=models.Model)

# Actions every business model has; workflow actions (confirm, approve, post, ...) are
# declared as extra permissions in the model's Meta and checked the same way.
STANDARD_ACTIONS = ("view", "add", "change", "delete", "export", "import")
# Actions allowed while an administrator views the application as another user.
READ_ACTIONS = frozenset({"view", "export"})

SCOPE_OWN, SCOPE_TEAM, SCOPE_DEPARTMENT, SCOPE_ALL = "own", "team", "department", "all"
SCOPES = (SCOPE_OWN, SCOPE_TEAM, SCOPE_DEPARTMENT, SCOPE_ALL)  # narrowest first
_SCOPE_RANK = {scope: rank for rank, scope in enumerate(SCOPES)}

# App labels whose models are business records (the roles matrix and the access-matrix
# test list them); later modules only need to be installed under one of these labels.
BUSINESS_APPS = ("crm", "catalog", "inventory", "finance", "sales", "purchasing", "manufacturing", "service",
                 "marketing", "projects")

_CACHE_ATTR = "_bizloom_access_cache"
VIEW_AS_ATTR = "_bizloom_viewing_as_by"


@dataclass(frozen=True)
class FieldPolicy:
    """Fields of one model that a user may not see (``hidden``) or not write (``readonly``)."""

    hidden: frozenset[str] = frozenset()
    readonly: frozenset[str] = frozenset()

    @property
    def unwritable(self) -> frozenset[str]:
        """Hidden and read-only fields together: what a write may not set."""
        return self.hidden | self.readonly

    def shows(self, path: str) -> bool:
        """Whether a field path (``annual_revenue``, ``owner__username``) may be shown."""
        return path.split("__", 1)[0] not in self.hidden and path not in self.hidden


NO_FIELD_RULES = FieldPolicy()


# --- names -------------------------------------------------------------------------------


def codename(model: type[models.Model], action: str) -> str:
    """``crm.view_account`` for (Account, "view")."""
    meta = model._meta
    return f"{meta.app_label}.{action}_{meta.model_name}"


def model_actions(model: type[models.Model]) -> list[str]:
    """The standard actions and the workflow actions (from ``Meta.permissions``) of ``model``."""
    suffix = f"_{model._meta.model_name}"
    actions = list(STANDARD_ACTIONS)
    for perm in model._meta.permissions:
        name = perm[0]
        if name.endswith(suffix):
            action = name[: -len(suffix)]
            if action and action not in actions:
                actions.append(action)
    return actions


def business_models() -> list[type[models.Model]]:
    """Every concrete model of an installed business app (:data:`BUSINESS_APPS`), by app then name."""
    found: list[type[models.Model]] = []
    for config in apps.get_app_configs():
        if config.label in BUSINESS_APPS:
            found.extend(m for m in config.get_models() if not m._meta.abstract and not m._meta.proxy)
    return sorted(found, key=lambda m: (m._meta.app_label, m._meta.model_name or ""))


def owner_field(model: type[models.Model]) -> str | None:
    """The name of ``model``'s owner field (``access_owner_field``, default ``owner``), or None."""
    name = getattr(model, "access_owner_field", "owner")
    if not name:
        return None
    try:
        field = model._meta.get_field(name)
    except Exception:  # FieldDoesNotExist
        return None
    if not field.is_relation or field.related_model is None:
        return None
    if field.related_model._meta.label != settings.AUTH_USER_MODEL:
        return None
    return str(name)


# --- view as -----------------------------------------------------------------------------


def viewing_as_by(user: Any) -> Any:
    """The administrator viewing the application as ``user``, or None."""
    return getattr(user, VIEW_AS_ATTR, None)


def mark_viewing_as(target: Any, administrator: Any) -> Any:
    """Make ``target`` the effective user of a request made by ``administrator`` (read-only)."""
    setattr(target, VIEW_AS_ATTR, administrator)
    return target


# --- the per-user cache --------------------------------------------------------------------


@dataclass
class _Grants:
    direct: frozenset[str]
    role_perms: dict[int, frozenset[str]]
    role_names: dict[int, str]
    scopes: dict[tuple[int, str, str], str] | None = None  # (role, "app.model", action) → scope
    field_rules: dict[tuple[int, str], dict[str, str]] | None = None  # (role, "app.model") → {field: mode}
    department_paths: tuple[str, ...] | None = None


def _grants(user: Any) -> _Grants:
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    from django.contrib.auth.models import Permission

    direct = frozenset(f"{app}.{code}" for app, code in
                       Permission.objects.filter(user=user).values_list("content_type__app_label", "codename"))
    role_perms: dict[int, set[str]] = {}
    role_names: dict[int, str] = {}
    rows = Permission.objects.filter(group__user=user).values_list(
        "group__id", "group__name", "content_type__app_label", "codename")
    for group_id, group_name, app, code in rows:
        role_perms.setdefault(group_id, set()).add(f"{app}.{code}")
        role_names[group_id] = group_name
    grants = _Grants(direct=direct, role_perms={k: frozenset(v) for k, v in role_perms.items()},
                     role_names=role_names)
    setattr(user, _CACHE_ATTR, grants)
    # Django's ModelBackend caches the same sets under these names; filling them spares
    # ``user.has_perm`` (menus, templates) two more queries per request.
    group_codes = set().union(*grants.role_perms.values()) if grants.role_perms else set()
    if not hasattr(user, "_user_perm_cache"):
        user._user_perm_cache = set(direct)
    if not hasattr(user, "_group_perm_cache"):
        user._group_perm_cache = group_codes
    if not hasattr(user, "_perm_cache"):
        user._perm_cache = set(direct) | group_codes
    return grants


def clear_cache(user: Any) -> None:
    """Forget ``user``'s cached grants (after changing their roles in the same process)."""
    for attr in (_CACHE_ATTR, "_perm_cache", "_user_perm_cache", "_group_perm_cache"):
        if hasattr(user, attr):
            delattr(user, attr)


def _role_scopes(grants: _Grants) -> dict[tuple[int, str, str], str]:
    if grants.scopes is None:
        from bizloom.platform.models import RoleScope

        grants.scopes = {}
        if grants.role_perms:
            for role_id, app, model_name, action, scope in RoleScope.objects.filter(
                    role_id__in=list(grants.role_perms)).values_list(
                    "role_id", "content_type__app_label", "content_type__model", "action", "scope"):
                grants.scopes[(role_id, f"{app}.{model_name}", action)] = scope
    return grants.scopes


def _role_field_rules(grants: _Grants) -> dict[tuple[int, str], dict[str, str]]:
    if grants.field_rules is None:
        from bizloom.platform.models import RoleFieldRule

        grants.field_rules = {}
        if grants.role_perms:
            for role_id, app, model_name, field_name, mode in RoleFieldRule.objects.filter(
                    role_id__in=list(grants.role_perms)).values_list(
                    "role_id", "content_type__app_label", "content_type__model", "field_name", "mode"):
                grants.field_rules.setdefault((role_id, f"{app}.{model_name}"), {})[field_name] = mode
    return grants.field_rules


def _active(user: Any) -> bool:
    return user is not None and bool(user.is_authenticated) and bool(user.is_active)


# --- object permissions and scope ------------------------------------------------------------


def _decide(user: Any, model: type[models.Model], action: str) -> tuple[str | None, str]:
    """(widest scope or None, the rule that decided it)."""
    code = codename(model, action)
    if not _active(user):
        return None, "authentication:not signed in"
    if viewing_as_by(user) is not None and action not in READ_ACTIONS:
        return None, "view-as:read-only while viewing as another user"
    if user.is_superuser:
        return SCOPE_ALL, "superuser"
    grants = _grants(user)
    if code in grants.direct:
        return SCOPE_ALL, f"permission:{code} granted to the user"
    granting = [role for role, perms in grants.role_perms.items() if code in perms]
    if not granting:
        return None, f"permission:{code}"  # missing; the wording existing clients match on
    scopes = _role_scopes(grants)
    label = model._meta.label_lower
    best_role, best = granting[0], ""
    for role in granting:
        scope = scopes.get((role, label, action), SCOPE_ALL)
        if not best or _SCOPE_RANK[scope] > _SCOPE_RANK[best]:
            best_role, best = role, scope
    return best, f"role:{grants.role_names[best_role]} grants {code} with scope {best}"


def can(user: Any, model: type[models.Model], action: str) -> bool:
    """Whether ``user`` may perform ``action`` on some records of ``model``."""
    return _decide(user, model, action)[0] is not None


def scope_for(user: Any, model: type[models.Model], action: str) -> str | None:
    """The widest record scope (``own``/``team``/``department``/``all``) of ``user`` for
    ``action`` on ``model``, or None when no grant allows the action at all."""
    return _decide(user, model, action)[0]


def explain(user: Any, model: type[models.Model], action: str) -> str:
    """The rule that decides ``action`` on ``model`` for ``user`` (for messages and logs)."""
    return _decide(user, model, action)[1]


def _deny(user: Any, model: type[models.Model], action: str, rule: str, message: str) -> PermissionDeniedError:
    real = viewing_as_by(user)
    log.info("denied user=%s%s action=%s model=%s rule=%s", getattr(user, "pk", None),
             f" (viewed as by {real.pk})" if real is not None else "", action, model._meta.label, rule)
    return PermissionDeniedError(message, rule=rule)


# How each standard action reads inside a sentence ("You do not have permission to edit accounts").
ACTION_VERBS = {
    "view": gettext_lazy("view"),
    "add": gettext_lazy("create"),
    "change": gettext_lazy("edit"),
    "delete": gettext_lazy("delete"),
    "export": gettext_lazy("export"),
    "import": gettext_lazy("import"),
}


def action_verb(model: type[models.Model], action: str) -> str:
    """``action`` as a translated verb; workflow actions use their permission's name."""
    if action in ACTION_VERBS:
        return str(ACTION_VERBS[action])
    for codename_, name in getattr(model._meta, "permissions", ()):
        if codename_ == f"{action}_{model._meta.model_name}":
            return str(name)
    return action


def require(user: Any, model: type[models.Model], action: str) -> None:
    """Raise PermissionDeniedError, naming the deciding rule in ``context["rule"]``, unless ``can``."""
    scope, rule = _decide(user, model, action)
    if scope is not None:
        return
    if rule.startswith("view-as:"):
        message = _("You are viewing as another user: changes are not allowed.")
    else:
        message = _("You do not have permission to %(action)s %(model)s.") % {
            "action": action_verb(model, action), "model": model._meta.verbose_name_plural}
    raise _deny(user, model, action, rule, message)


def _team_ids(user: Any) -> models.QuerySet[Any]:
    from bizloom.platform.models import Team

    return Team.objects.filter(Q(members=user.pk) | Q(leader=user.pk)).values("pk")


def _department_paths(user: Any) -> tuple[str, ...]:
    grants = _grants(user)
    if grants.department_paths is None:
        from bizloom.platform.models import Department

        paths = set(Department.objects.filter(Q(members=user.pk) | Q(manager=user.pk))
                    .values_list("path", flat=True))
        # a path inside another one adds nothing
        grants.department_paths = tuple(sorted(p for p in paths if p and not any(
            o != p and p.startswith(o) for o in paths)))
    return grants.department_paths


def _subtree_q(paths: Iterable[str]) -> Q:
    condition = Q(pk__in=[])
    for path in paths:
        condition |= Q(path__startswith=path)
    return condition


def _scope_q(user: Any, model: type[models.Model], scope: str) -> Q:
    """Records of ``model`` inside ``scope`` for ``user`` (not counting shares); in the database."""
    from bizloom.platform.models import Department, User

    if scope == SCOPE_ALL:
        return Q()
    owner = owner_field(model)
    if owner is None:
        return Q(pk__in=[])
    condition = Q(**{owner: user.pk})
    if scope == SCOPE_TEAM:
        condition |= Q(**{f"{owner}__in": User.objects.filter(teams__in=_team_ids(user)).values("pk")})
    elif scope == SCOPE_DEPARTMENT:
        paths = _department_paths(user)
        if paths:
            departments = Department.objects.filter(_subtree_q(paths)).values("pk")
            condition |= Q(**{f"{owner}__in": User.objects.filter(department__in=departments).values("pk")})
    return condition


def _share_levels(action: str) -> tuple[str, ...]:
    if action in READ_ACTIONS:
        return ("read", "edit")
    if action == "change":
        return ("edit",)
    return ()


def _shared_q(user: Any, model: type[models.Model], action: str) -> Q | None:
    from django.contrib.contenttypes.models import ContentType

    from bizloom.platform.models import RecordShare

    levels = _share_levels(action)
    if not levels:
        return None
    shares = RecordShare.objects.filter(
        content_type=ContentType.objects.get_for_model(model), level__in=levels,
    ).filter(Q(user=user.pk) | Q(team__in=_team_ids(user))).values("object_id")
    return Q(pk__in=shares)


def restrict(queryset: models.QuerySet[M], user: Any, action: str = "view") -> models.QuerySet[M]:
    """The records of ``queryset`` that ``user`` may ``action``; filtered in the database.

    No grant → nothing; scope ``all`` → everything; otherwise records owned inside the
    scope plus records shared with the user or their teams at a sufficient level.
    """
    model = queryset.model
    scope = scope_for(user, model, action)
    if scope is None:
        return queryset.none()
    if scope == SCOPE_ALL:
        return queryset
    condition = _scope_q(user, model, scope)
    shared = _shared_q(user, model, action)
    if shared is not None:
        condition |= shared
    return queryset.filter(condition)


def allows(user: Any, obj: models.Model, action: str) -> bool:
    """Whether ``user`` may ``action`` this record (permission, scope and shares)."""
    model = type(obj)
    return restrict(model._default_manager.filter(pk=obj.pk), user, action).exists()


def record_rule(user: Any, obj: models.Model, action: str) -> str:
    """Why ``user`` may not ``action`` ``obj``, as a rule text (or why they may)."""
    model = type(obj)
    scope, rule = _decide(user, model, action)
    if scope is None or scope == SCOPE_ALL:
        return rule
    owner = owner_field(model)
    if owner is None:
        return f"{rule}; {model._meta.label} has no owner field, only shared records qualify"
    reason = {SCOPE_OWN: "record owned by someone else",
              SCOPE_TEAM: "record owner is not in your teams",
              SCOPE_DEPARTMENT: "record owner is outside your departments"}[scope]
    return f"{rule}; {reason}"


def require_record(user: Any, obj: models.Model, action: str) -> None:
    """Raise PermissionDeniedError (rule named) unless ``user`` may ``action`` this very record."""
    require(user, type(obj), action)
    if allows(user, obj, action):
        return
    raise _deny(user, type(obj), action, record_rule(user, obj, action),
                _("You may not %(action)s %(record)s.") % {"action": action_verb(type(obj), action), "record": obj})


# --- fields --------------------------------------------------------------------------------


def field_policy(user: Any, model: type[models.Model], action: str = "view") -> FieldPolicy:
    """Hidden and read-only fields of ``model`` for ``user`` doing ``action``.

    A field is hidden only when every role of the user that grants the action hides it,
    and read-only when every such role hides it or makes it read-only (and it is not
    hidden). Superusers, direct user permissions and users without the action get none.
    """
    if not _active(user) or user.is_superuser:
        return NO_FIELD_RULES
    code = codename(model, action)
    grants = _grants(user)
    if code in grants.direct:
        return NO_FIELD_RULES
    granting = [role for role, perms in grants.role_perms.items() if code in perms]
    if not granting:
        return NO_FIELD_RULES
    rules = _role_field_rules(grants)
    if not rules:
        return NO_FIELD_RULES
    label = model._meta.label_lower
    per_role = [rules.get((role, label), {}) for role in granting]
    hidden = set.intersection(*({f for f, mode in r.items() if mode == "hidden"} for r in per_role))
    covered = set.intersection(*(set(r) for r in per_role))
    return FieldPolicy(hidden=frozenset(hidden), readonly=frozenset(covered - hidden))


def check_fields_writable(user: Any, model: type[models.Model], fields: Iterable[str], action: str) -> None:
    """Raise ValidationFailed with a field error for every hidden or read-only field in ``fields``."""
    policy = field_policy(user, model, action)
    refused = sorted(set(fields) & policy.unwritable)
    if not refused:
        return
    message = _("You may not change this field.")
    rule = f"field rules of {model._meta.label} for {codename(model, action)}"
    log.info("refused write user=%s model=%s fields=%s rule=%s", getattr(user, "pk", None), model._meta.label,
             ",".join(refused), rule)
    raise ValidationFailed(_("You may not change these fields: %(fields)s.") % {"fields": ", ".join(refused)},
                           code="field_not_writable", fields={name: [message] for name in refused}, rule=rule)


def check_reference(user: Any, obj: models.Model | None, *, field: str = "") -> None:
    """Refuse a link ``user`` writes to ``obj`` (an account on an order) unless they may view ``obj``.

    Raises ValidationFailed with the message on ``field`` (and the rule in its context).
    Users themselves (owners, assignees) are not business records: any active one may be
    referred to.
    """
    if obj is None:
        return
    model = type(obj)
    if model._meta.label == settings.AUTH_USER_MODEL:
        if getattr(obj, "is_active", True):
            return
        message = _("No active user with this id.")
        raise ValidationFailed(message, fields={field or "__all__": [message]}, rule="reference:inactive user")
    if allows(user, obj, "view"):
        return
    rule = f"reference:{record_rule(user, obj, 'view')}"
    log.info("refused reference user=%s model=%s id=%s rule=%s", getattr(user, "pk", None), model._meta.label,
             obj.pk, rule)
    message = _("You may not refer to this %(model)s.") % {"model": model._meta.verbose_name}
    raise ValidationFailed(message, code="reference_not_visible", fields={field or "__all__": [message]}, rule=rule)
