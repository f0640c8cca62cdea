"""Import declarations of users and departments (issue #5), read by the integration import engine.

The platform sits below integration in the layers, so, like ``bizloom/crm/imports.py``, this
module describes its imports as plain keyword arguments; the engine's registry reads it
(``integration.imports.declarations.EXTRA_MODULES``: the registry looks for ``<app>.imports``
modules, and the organisation lives in ``bizloom.platform.org``, not in an app of its own).

Users and departments are not business records: importing them needs the organisation
administrator's permission (``org.selectors.may_administer``), and every record is in scope.
A file never sets a password (imported users get an unusable one and sign in after a reset
by an administrator), nor the superuser or staff flags: those columns are simply unknown.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import ProtectedError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from bizloom.common.errors import DomainError
from bizloom.common.validation import full_clean
from bizloom.platform import access
from bizloom.platform.models import Department, User
from bizloom.platform.org import selectors, services

log = logging.getLogger("bizloom.security")

USER_FIELDS = ["username", "first_name", "last_name", "email", "department", "groups", "is_active", "language"]
USER_SYNONYMS = {
    "username": ("用户名", "登录名", "账号", "帐号", "工号", "login", "user name", "user id", "account"),
    "first_name": ("名", "first name", "given name"),
    "last_name": ("姓", "last name", "surname", "family name"),
    "full_name": ("姓名", "全名", "名字", "员工姓名", "name", "full name", "display name"),
    "email": ("邮箱", "电子邮件", "电子邮箱", "e-mail", "mail", "email address"),
    "department": ("部门", "所属部门", "部门名称", "dept", "department name"),
    "groups": ("角色", "权限角色", "岗位角色", "roles", "role", "user roles"),
    "is_active": ("启用", "是否启用", "状态", "在职", "active", "enabled", "status"),
    "language": ("语言", "界面语言", "locale"),
}
DEPARTMENT_FIELDS = ["name", "parent", "manager", "ordering"]
DEPARTMENT_SYNONYMS = {
    "name": ("部门", "部门名称", "名称", "department", "department name", "dept"),
    "parent": ("上级部门", "上级", "父部门", "所属部门", "parent", "parent department", "reports to"),
    "manager": ("负责人", "部门经理", "经理", "主管", "head", "department head", "manager"),
    "ordering": ("排序", "顺序", "序号", "order", "sort order", "position"),
}
_LIST_SEPARATORS = re.compile(r"[,，;；、|/\n]+")
_PATH_SEPARATORS = re.compile(r"\s*[/>＞／\\]\s*")


def may_import(user: Any, action: str) -> bool:
    """Only organisation administrators import (and undo imports of) users and departments."""
    return selectors.may_administer(user)


def _key(text: str) -> str:
    return " ".join(text.split()).casefold()


# --- departments -------------------------------------------------------------------------------


def find_department(text: str) -> Department:
    """The department named by ``text``: a path of names (``销售部/华东组``) or a unique name.

    Read from the database each time (an import may create the parent a few rows above).
    Raises ValueError with a readable message when there is none or several.
    """
    parts = [part for part in _PATH_SEPARATORS.split(text.strip()) if part]
    if not parts:
        raise ValueError(gettext("Name a department."))
    candidates = [d for d in Department.objects.filter(name__iexact=parts[-1]).order_by("path")
                  if _key(d.name) == _key(parts[-1])]
    if len(parts) > 1:
        names = {d.pk: d.name for d in Department.objects.only("pk", "name")}
        wanted = [_key(part) for part in parts]
        candidates = [d for d in candidates
                      if [_key(names.get(int(pk), "")) for pk in d.path.strip("/").split("/")][-len(wanted):] == wanted]
    if not candidates:
        raise ValueError(gettext("No department “%(value)s”.") % {"value": text})
    if len(candidates) > 1:
        raise ValueError(gettext("“%(value)s” names more than one department; write its path, e.g. "
                                 "“Sales/East”.") % {"value": text})
    return candidates[0]


def _find_user(text: str) -> User:
    key = text.strip()
    found = list(User.objects.filter(username__iexact=key)[:2]) or list(User.objects.filter(email__iexact=key)[:2])
    if len(found) != 1:
        raise ValueError(gettext("No user “%(value)s”.") % {"value": text} if not found else
                         gettext("“%(value)s” names more than one user; use the username.") % {"value": text})
    return found[0]


def build_department(values: Mapping[str, str], context: Any, errors: dict[str, str]) -> dict[str, Any]:
    """The data of one department row: the parent by name or path, the manager by username or email."""
    data: dict[str, Any] = {}
    for key, raw in values.items():
        text = raw.strip()
        if not text:
            continue
        try:
            if key == "parent":
                data[key] = find_department(text)
            elif key == "manager":
                data[key] = _find_user(text)
            elif key == "ordering":
                number = context.parse_decimal(text)
                if number != number.to_integral_value() or number < 0:
                    raise ValueError(gettext("“%(value)s” is not a whole number.") % {"value": text})
                data[key] = int(number)
            else:
                data[key] = text
        except ValueError as exc:
            errors[key] = str(exc)
    return data


@transaction.atomic
def create_department(data: Mapping[str, Any], actor: User) -> Department:
    """``services.create_department`` with the row's values."""
    return services.create_department(data.get("name", ""), parent=data.get("parent"), manager=data.get("manager"),
                                      ordering=data.get("ordering", 0), actor=actor)


@transaction.atomic
def delete_department(department: Department, actor: User) -> None:
    """``services.delete_department``, refused while sub-departments or members refer to it (undo)."""
    if department.members.exists():
        raise DomainError(gettext("%(department)s still has members.") % {"department": department},
                          code="department_in_use")
    services.delete_department(department, actor=actor)


# --- users -------------------------------------------------------------------------------------


def _split_name(full: str) -> tuple[str, str]:
    """(first name, last name) of a full name: 张伟 → (伟, 张), "Wei Zhang" → (Wei, Zhang)."""
    full = " ".join(full.split())
    if " " in full:
        first, last = full.rsplit(" ", 1)
        return first, last
    if any("\u3400" <= char <= "\u9fff" for char in full) and len(full) > 1:
        return full[1:], full[0]
    return full, ""


def _roles(text: str, context: Any) -> list[Group]:
    lookup = context.cache.get("org:roles")
    if lookup is None:
        lookup = context.cache["org:roles"] = {_key(group.name): group for group in Group.objects.all()}
    roles, unknown = [], []
    for name in (part.strip() for part in _LIST_SEPARATORS.split(text)):
        if not name:
            continue
        group = lookup.get(_key(name))
        if group is None:
            unknown.append(name)
        elif group not in roles:
            roles.append(group)
    if unknown:
        raise ValueError(gettext("No role “%(value)s”.") % {"value": "”, “".join(unknown)})
    return roles


def build_user(values: Mapping[str, str], context: Any, errors: dict[str, str]) -> dict[str, Any]:
    """The data of one user row: department by name or path, roles by name (several separated by
    commas or 、), a full name split into first and last name (张伟: family name first)."""
    data: dict[str, Any] = {}
    for key, raw in values.items():
        text = raw.strip()
        if not text and key != "groups":
            continue
        try:
            if key == "department":
                data[key] = find_department(text)
            elif key == "groups":
                if text:
                    data[key] = _roles(text, context)
            elif key == "is_active":
                data[key] = context.parse_bool(text)
            elif key == "language":
                from django.conf import settings

                data[key] = context.parse_choice(text, settings.LANGUAGES)
            elif key == "email":
                data[key] = text.lower()
            elif key == "full_name":
                first, last = _split_name(text)
                data.setdefault("first_name", first)
                data.setdefault("last_name", last)
            else:
                data[key] = text
        except ValueError as exc:
            errors[key] = str(exc)
    return data


_USER_WRITABLE = frozenset({"username", "first_name", "last_name", "email", "department", "groups", "is_active",
                            "language"})


def _assign_user(user: User, data: Mapping[str, Any]) -> list[Group] | None:
    unknown = set(data) - _USER_WRITABLE
    if unknown:
        raise DomainError(gettext("Unknown fields: %(fields)s") % {"fields": ", ".join(sorted(unknown))},
                          code="unknown_fields")
    for name, value in data.items():
        if name != "groups":
            setattr(user, name, value)
    return list(data["groups"]) if "groups" in data else None


@transaction.atomic
def create_user(data: Mapping[str, Any], actor: User) -> User:
    """Create a user from an import row: no usable password, never superuser or staff.

    Raises ValidationFailed (taken or invalid username, invalid email). Logged on
    ``bizloom.security`` as an administrative change.
    """
    user = User()
    roles = _assign_user(user, data)
    user.set_unusable_password()
    full_clean(user)
    user.save()
    if roles:
        user.groups.set(roles)
    log.info("org user imported id=%s username=%s roles=%s by=%s", user.pk, user.username,
             ",".join(r.name for r in roles or ()), actor.pk)
    return user


@transaction.atomic
def update_user(user: User, data: Mapping[str, Any], actor: User) -> User:
    """Change the given fields of ``user`` (roles replaced when given); never the password or flags."""
    user = User.objects.select_for_update().get(pk=user.pk)
    roles = _assign_user(user, data)
    full_clean(user)
    user.save()
    if roles is not None:
        user.groups.set(roles)
    access.clear_cache(user)
    log.info("org user updated by import id=%s fields=%s by=%s", user.pk, ",".join(sorted(data)), actor.pk)
    return user


@transaction.atomic
def delete_user(user: User, actor: User) -> None:
    """Delete an imported user (undo); refused while records refer to them."""
    log.info("org user deleted by import undo id=%s username=%s by=%s", user.pk, user.username, actor.pk)
    try:
        with transaction.atomic():
            user.delete()
    except ProtectedError as error:
        raise DomainError(gettext("%(record)s is still referred to by other records and cannot be deleted.")
                          % {"record": user}, code="user_in_use") from error


IMPORT_DECLARATIONS: list[dict[str, Any]] = [{
    "key": "platform.user",
    "model": User,
    "label": _("Users"),
    "field_names": USER_FIELDS,
    "extra_labels": {"full_name": _("full name")},
    "required": ("username",),
    "synonyms": USER_SYNONYMS,
    "build": build_user,
    "create": create_user,
    "update": update_user,
    "delete": delete_user,
    "natural_keys": ("username",),
    "authorize": may_import,
    "row_by_row": True,
}, {
    "key": "platform.department",
    "model": Department,
    "label": _("Departments"),
    "field_names": DEPARTMENT_FIELDS,
    "required": ("name",),
    "synonyms": DEPARTMENT_SYNONYMS,
    "build": build_department,
    "create": create_department,
    "update": lambda department, data, actor: services.update_department(department, data, actor=actor),
    "delete": delete_department,
    # A department is known by its name under its parent: importing the same file again updates it.
    "natural_keys": (("parent", "name"),),
    "authorize": may_import,
    "row_by_row": True,
}]
