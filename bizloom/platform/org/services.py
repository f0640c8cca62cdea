"""Writes of the organisation, roles and record sharing (issue #3).

Every change is one transaction and is logged on ``bizloom.security`` (administrative
changes are security events). Services trust their callers for the administrator check
(views do it), except sharing and ownership transfer, whose rule (owner, their manager,
or scope ``all`` on ``change``) is part of the business rule itself.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.utils.translation import gettext as _

from bizloom.common.errors import DomainError, PermissionDeniedError, ValidationFailed
from bizloom.platform import access
from bizloom.platform.models import PATH_STEP, Department, RecordShare, RoleFieldRule, RoleScope, Team, User
from bizloom.platform.org import selectors

log = logging.getLogger("bizloom.security")


# --- departments ----------------------------------------------------------------------------


def _path(parent: Department | None, pk: int) -> str:
    return (parent.path if parent is not None else "") + f"{pk:0{PATH_STEP - 1}d}/"


@transaction.atomic
def create_department(name: str, *, parent: Department | None = None, manager: User | None = None,
                      ordering: int = 0, actor: User) -> Department:
    """Create a department under ``parent`` (top level when None) and set its materialised path."""
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("A department needs a name."), fields={"name": [_("This field is required.")]})
    department = Department.objects.create(name=name, parent=parent, manager=manager, ordering=ordering)
    department.path = _path(parent, department.pk)
    department.save(update_fields=["path"])
    log.info("org department created id=%s name=%s by=%s", department.pk, name, actor.pk)
    return department


@transaction.atomic
def update_department(department: Department, data: Mapping[str, Any], *, actor: User) -> Department:
    """Change name, manager, ordering or parent; moving re-paths the whole subtree.

    Raises ValidationFailed when the new parent lies inside the department's own subtree.
    """
    department = Department.objects.select_for_update().get(pk=department.pk)
    old_path = department.path
    for name in ("name", "manager", "ordering"):
        if name in data:
            setattr(department, name, data[name])
    if "parent" in data and data["parent"] != department.parent:
        parent = data["parent"]
        if parent is not None and parent.path.startswith(old_path):
            message = _("A department cannot be moved below itself.")
            raise ValidationFailed(message, fields={"parent": [message]})
        department.parent = parent
        department.path = _path(parent, department.pk)
    department.save()
    if department.path != old_path:
        for child in Department.objects.filter(path__startswith=old_path).exclude(pk=department.pk):
            child.path = department.path + child.path[len(old_path):]
            child.save(update_fields=["path"])
    log.info("org department updated id=%s by=%s", department.pk, actor.pk)
    return department


@transaction.atomic
def delete_department(department: Department, *, actor: User) -> None:
    """Delete a department without sub-departments (its members keep no department)."""
    if department.children.exists():
        raise DomainError(_("%(department)s still has sub-departments.") % {"department": department},
                          code="department_not_empty")
    log.info("org department deleted id=%s name=%s by=%s", department.pk, department.name, actor.pk)
    department.delete()


# --- teams and users -------------------------------------------------------------------------


@transaction.atomic
def save_team(team: Team | None, data: Mapping[str, Any], *, actor: User) -> Team:
    """Create (``team`` None) or update a team: name, department, leader, members."""
    team = team or Team()
    for name in ("name", "department", "leader"):
        if name in data:
            setattr(team, name, data[name])
    team.full_clean(exclude=["members"])
    team.save()
    if "members" in data:
        team.members.set(data["members"])
    log.info("org team saved id=%s name=%s by=%s", team.pk, team.name, actor.pk)
    return team


@transaction.atomic
def set_user_organisation(user: User, *, department: Department | None, teams: Iterable[Team],
                          roles: Iterable[Group], actor: User) -> User:
    """Put ``user`` in ``department`` and ``teams`` and give them exactly ``roles``."""
    user.department = department
    user.save(update_fields=["department"])
    user.teams.set(list(teams))
    roles = list(roles)
    user.groups.set(roles)
    access.clear_cache(user)
    log.info("org user updated id=%s department=%s roles=%s by=%s", user.pk, getattr(department, "pk", None),
             ",".join(r.name for r in roles), actor.pk)
    return user


# --- roles -----------------------------------------------------------------------------------


@transaction.atomic
def create_role(name: str, *, actor: User) -> Group:
    """A new, empty role. Raises ValidationFailed when the name is empty or taken."""
    name = (name or "").strip()
    if not name or Group.objects.filter(name=name).exists():
        message = _("Choose a name no other role has.")
        raise ValidationFailed(message, fields={"name": [message]})
    role = Group.objects.create(name=name)
    log.info("role created id=%s name=%s by=%s", role.pk, name, actor.pk)
    return role


@transaction.atomic
def set_role_grant(role: Group, model: type[models.Model], action: str, scope: str | None, *,
                   actor: User) -> None:
    """Grant ``action`` on ``model`` to ``role`` with ``scope`` (own/team/department/all), or
    withdraw it (``scope`` None). Raises ValidationFailed for an unknown action or scope."""
    ct = ContentType.objects.get_for_model(model)
    try:
        permission = Permission.objects.get(content_type=ct, codename=f"{action}_{model._meta.model_name}")
    except Permission.DoesNotExist as error:
        raise ValidationFailed(_("%(model)s has no action %(action)s.") % {
            "model": model._meta.verbose_name, "action": action}, code="unknown_action") from error
    if scope is None:
        role.permissions.remove(permission)
        RoleScope.objects.filter(role=role, content_type=ct, action=action).delete()
        return
    if scope not in access.SCOPES:
        raise ValidationFailed(_("Unknown scope %(scope)s.") % {"scope": scope}, code="unknown_scope")
    role.permissions.add(permission)
    if scope == access.SCOPE_ALL:
        RoleScope.objects.filter(role=role, content_type=ct, action=action).delete()
    else:
        RoleScope.objects.update_or_create(role=role, content_type=ct, action=action, defaults={"scope": scope})


@transaction.atomic
def set_field_rule(role: Group, model: type[models.Model], field_name: str, mode: str | None, *,
                   actor: User) -> None:
    """Make ``field_name`` of ``model`` hidden or read-only for ``role``, or clear the rule (None)."""
    if field_name not in {f.name for f in selectors.rule_fields(model)}:
        raise ValidationFailed(_("%(model)s has no field %(field)s.") % {
            "model": model._meta.verbose_name, "field": field_name}, code="unknown_field")
    ct = ContentType.objects.get_for_model(model)
    if not mode:
        RoleFieldRule.objects.filter(role=role, content_type=ct, field_name=field_name).delete()
        return
    if mode not in RoleFieldRule.Mode.values:
        raise ValidationFailed(_("Unknown mode %(mode)s.") % {"mode": mode}, code="unknown_mode")
    RoleFieldRule.objects.update_or_create(role=role, content_type=ct, field_name=field_name,
                                           defaults={"mode": mode})


@transaction.atomic
def save_role_matrix(role: Group, values: Mapping[str, str], *, name: str | None = None, actor: User) -> Group:
    """Apply a submitted matrix: ``scope__<app.model>__<action>`` → scope or "" and
    ``field__<app.model>__<field>`` → hidden/readonly/"". Cells not in ``values`` are cleared."""
    if name is not None and name.strip() and name.strip() != role.name:
        if Group.objects.filter(name=name.strip()).exclude(pk=role.pk).exists():
            message = _("Choose a name no other role has.")
            raise ValidationFailed(message, fields={"name": [message]})
        role.name = name.strip()
        role.save(update_fields=["name"])
    for row in selectors.role_matrix(role):
        for cell in row.cells:
            wanted = values.get(cell["name"], "") or None
            if wanted != (cell["value"] or None):
                set_role_grant(role, row.model, cell["action"], wanted, actor=actor)
        for field in row.fields:
            wanted = values.get(field["name"], "") or None
            if wanted != (field["value"] or None):
                set_field_rule(role, row.model, field["field"], wanted, actor=actor)
    log.info("role matrix saved id=%s name=%s by=%s", role.pk, role.name, actor.pk)
    return role


# --- sharing and ownership ----------------------------------------------------------------------


def _require_manager(actor: User, obj: models.Model) -> None:
    allowed, rule = selectors.manage_rule(actor, obj)
    if allowed:
        return
    log.info("denied user=%s action=share model=%s id=%s rule=%s", actor.pk, type(obj)._meta.label, obj.pk, rule)
    raise PermissionDeniedError(_("You may not share %(record)s or give it away.") % {"record": obj}, rule=rule)


@transaction.atomic
def share_record(obj: models.Model, *, user: User | None = None, team: Team | None = None, level: str = "read",
                 actor: User) -> RecordShare:
    """Share ``obj`` with one user or one team to ``read`` or ``edit``; sharing again changes the level.

    Raises PermissionDeniedError unless ``actor`` is the owner, a manager above the owner
    or has scope ``all`` on ``change``; ValidationFailed for a missing or double recipient.
    """
    _require_manager(actor, obj)
    if (user is None) == (team is None):
        message = _("Share with one user or one team.")
        raise ValidationFailed(message, fields={"user": [message]})
    if level not in RecordShare.Level.values:
        raise ValidationFailed(_("Unknown level %(level)s.") % {"level": level}, fields={"level": [_("Invalid.")]})
    ct = ContentType.objects.get_for_model(type(obj))
    share, _created = RecordShare.objects.update_or_create(
        content_type=ct, object_id=obj.pk, user=user, team=team, defaults={"level": level, "shared_by": actor})
    log.info("record shared model=%s id=%s user=%s team=%s level=%s by=%s", ct.model, obj.pk,
             getattr(user, "pk", None), getattr(team, "pk", None), level, actor.pk)
    return share


@transaction.atomic
def unshare_record(share: RecordShare, *, actor: User) -> None:
    """Withdraw one share (same rule as :func:`share_record`)."""
    obj = share.content_type.get_object_for_this_type(pk=share.object_id)
    _require_manager(actor, obj)
    log.info("record unshared model=%s id=%s share=%s by=%s", share.content_type.model, share.object_id,
             share.pk, actor.pk)
    share.delete()


@transaction.atomic
def transfer_ownership(obj: models.Model, new_owner: User, *, actor: User) -> models.Model:
    """Give ``obj`` to ``new_owner`` (same rule as sharing); records an audit entry.

    Raises ValidationFailed when ``new_owner`` is inactive, PermissionDeniedError when the
    actor may not. For several accounts at once crm has ``transfer_accounts``.
    """
    from bizloom.platform.audit import services as audit
    from bizloom.platform.audit.models import AuditEntry

    _require_manager(actor, obj)
    if not new_owner.is_active:
        message = _("No active user with this id.")
        raise ValidationFailed(message, fields={"new_owner": [message]})
    owner_name = access.owner_field(type(obj))
    assert owner_name is not None  # _require_manager refuses models without an owner
    locked = type(obj)._default_manager.select_for_update().get(pk=obj.pk)
    before = audit.snapshot(locked)
    setattr(locked, owner_name, new_owner)
    locked.save(update_fields=[owner_name])
    audit.record_change(locked, actor=actor, action=AuditEntry.Action.OWNER_CHANGE, before=before,
                        after=audit.snapshot(locked))
    log.info("ownership transferred model=%s id=%s to=%s by=%s", type(obj)._meta.label, obj.pk, new_owner.pk,
             actor.pk)
    return locked
