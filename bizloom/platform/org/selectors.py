"""Reads of the organisation and of roles, for the settings pages and the sharing panel."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import QuerySet
from django.http import Http404

from bizloom.platform import access
from bizloom.platform.models import Department, RecordShare, RoleFieldRule, RoleScope, Team, User


def may_administer(user: Any) -> bool:
    """Whether ``user`` may manage departments, teams, roles and use "view as"."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if access.viewing_as_by(user) is not None:
        return False
    return bool(user.is_superuser or user.is_staff or user.has_perm("platform.manage_roles"))


def content_type_id(obj: models.Model) -> int:
    """The content type id of ``obj``'s model (cached by Django)."""
    return int(ContentType.objects.get_for_model(type(obj)).pk)


def list_departments() -> QuerySet[Department]:
    """Every department in tree order (parents before children), with its manager."""
    return Department.objects.select_related("manager", "parent").order_by("path")


def department_subtree(department: Department) -> QuerySet[Department]:
    """``department`` and all departments below it (one indexed prefix query)."""
    return Department.objects.filter(path__startswith=department.path)


def list_teams() -> QuerySet[Team]:
    """Every team with leader and department, members prefetched."""
    return Team.objects.select_related("leader", "department").prefetch_related("members").order_by("name")


def list_roles() -> QuerySet[Group]:
    """Every role (Django group) by name."""
    return Group.objects.order_by("name")


def list_users() -> QuerySet[User]:
    """Every user with department, teams and roles prefetched."""
    return User.objects.select_related("department").prefetch_related("teams", "groups").order_by("username")


def may_manage_record(user: Any, obj: models.Model) -> bool:
    """Whether ``user`` may share ``obj`` or transfer its ownership: its owner, a manager of a
    department at or above the owner's, or a user whose ``change`` scope is ``all``."""
    return manage_rule(user, obj)[0]


def manage_rule(user: Any, obj: models.Model) -> tuple[bool, str]:
    """(allowed, the rule that decided) for sharing or transferring ``obj``."""
    model = type(obj)
    if user is None or not user.is_authenticated or not user.is_active:
        return False, "authentication:not signed in"
    if access.viewing_as_by(user) is not None:
        return False, "view-as:read-only while viewing as another user"
    owner_name = access.owner_field(model)
    if owner_name is None:
        return False, f"sharing:{model._meta.label} has no owner field"
    scope, rule = access._decide(user, model, "change")
    if scope == access.SCOPE_ALL:
        return True, rule
    owner_id = getattr(obj, f"{owner_name}_id", None)
    if owner_id is not None and owner_id == user.pk:
        return True, "owner"
    if owner_id is not None:
        owner_path = (User.objects.filter(pk=owner_id).values_list("department__path", flat=True).first() or "")
        if owner_path and any(owner_path.startswith(p) for p in
                              Department.objects.filter(manager=user.pk).values_list("path", flat=True)):
            return True, "department manager above the owner"
    return False, (f"sharing:only the owner, their department manager or a user with scope all on "
                   f"{access.codename(model, 'change')} may share; {rule}")


def list_shares(obj: models.Model) -> QuerySet[RecordShare]:
    """The shares of ``obj``, with user and team."""
    return RecordShare.objects.filter(content_type_id=content_type_id(obj), object_id=obj.pk).select_related(
        "user", "team").order_by("pk")


def get_record(user: Any, content_type_id: int, object_id: int, action: str = "view") -> models.Model:
    """A business record by content type and id, if ``user`` may ``action`` it; else Http404."""
    try:
        ct = ContentType.objects.get_for_id(content_type_id)
    except ContentType.DoesNotExist as error:
        raise Http404 from error
    model = ct.model_class()
    if model is None or model not in access.business_models():
        raise Http404
    obj = access.restrict(model._default_manager.all(), user, action).filter(pk=object_id).first()
    if obj is None:
        raise Http404
    return obj


@dataclass(frozen=True)
class MatrixRow:
    """One model in a role's matrix: the scope per action ("" not granted) and field rules."""

    model: type[models.Model]
    label: str
    cells: list[dict[str, Any]]
    fields: list[dict[str, Any]]

    @property
    def model_label(self) -> str:
        """``app_label.ModelName`` (templates must not touch ``model``: they would call the class)."""
        return self.model._meta.label


def grantable_actions(model: type[models.Model]) -> list[str]:
    """The actions of ``model`` that have a permission row (so a role can hold them)."""
    existing = set(Permission.objects.filter(content_type=ContentType.objects.get_for_model(model))
                   .values_list("codename", flat=True))
    return [a for a in access.model_actions(model) if f"{a}_{model._meta.model_name}" in existing]


def rule_fields(model: type[models.Model]) -> list[models.Field[Any, Any]]:
    """Fields of ``model`` a field rule may name (concrete, editable, not the primary key)."""
    return [f for f in model._meta.concrete_fields if f.editable and not f.primary_key]


def role_matrix(role: Group | None) -> list[MatrixRow]:
    """The matrix of every business model for ``role`` (None: an empty matrix)."""
    granted: set[tuple[int, str]] = set()
    scopes: dict[tuple[int, str], str] = {}
    rules: dict[tuple[int, str], str] = {}
    if role is not None:
        granted = set(role.permissions.values_list("content_type_id", "codename"))
        scopes = {(ct, a): s for ct, a, s in RoleScope.objects.filter(role=role).values_list(
            "content_type_id", "action", "scope")}
        rules = {(ct, f): m for ct, f, m in RoleFieldRule.objects.filter(role=role).values_list(
            "content_type_id", "field_name", "mode")}
    rows = []
    for model in access.business_models():
        ct = ContentType.objects.get_for_model(model)
        label = model._meta.label_lower
        cells = []
        for action in grantable_actions(model):
            value = ""
            if (ct.pk, f"{action}_{model._meta.model_name}") in granted:
                value = scopes.get((ct.pk, action), access.SCOPE_ALL)
            cells.append({"action": action, "name": f"scope__{label}__{action}", "value": value})
        fields = [{"name": f"field__{label}__{f.name}", "field": f.name, "label": f.verbose_name,
                   "value": rules.get((ct.pk, f.name), "")} for f in rule_fields(model)]
        rows.append(MatrixRow(model=model, label=str(model._meta.verbose_name_plural), cells=cells, fields=fields))
    return rows
