"""Fixtures of the custom field tests: an administrator, definitions on accounts, a scoped role.

Import the fixtures a test module uses (``from ...fixtures import admin, define  # noqa: F401``).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType

from bizloom.crm.models import Account
from bizloom.platform.customfields import services
from bizloom.platform.customfields.models import CustomField
from bizloom.platform.models import RoleFieldRule, RoleScope, User

SOURCE_CHOICES = [
    {"value": "web", "label_en": "Website", "label_zh_hans": "官网", "label_zh_hant": "官網"},
    {"value": "fair", "label_en": "Trade fair", "label_zh_hans": "展会", "label_zh_hant": "展會"},
]


@pytest.fixture
def admin(db) -> User:
    """A superuser (defines custom fields)."""
    return User.objects.create_superuser(username="admin", password="pw-secret-123")


@pytest.fixture
def define(admin):
    """``define("source", "choice", choices=...)``: a custom field on accounts, created by ``admin``."""

    def make(key: str, type: str = "text", **extra: Any) -> CustomField:
        data = {"content_type": Account, "key": key, "type": type, "label_en": key.replace("_", " ").title(),
                **extra}
        return services.create_custom_field(data, actor=admin)

    return make


@pytest.fixture
def source(define) -> CustomField:
    """The single choice field "Customer source" / 客户来源 (web, fair)."""
    return define("source", "choice", label_en="Customer source", label_zh_hans="客户来源",
                  label_zh_hant="客戶來源", choices=SOURCE_CHOICES)


def role_user(username: str, *codenames: str, scope: str | None = None, field_rules: dict[str, str] | None = None,
              ) -> User:
    """A user whose one role grants ``crm.<codename>`` with record ``scope`` and field rules on accounts."""
    role = Group.objects.create(name=f"role-{username}")
    role.permissions.add(*Permission.objects.filter(content_type__app_label="crm", codename__in=codenames))
    content_type = ContentType.objects.get_for_model(Account)
    if scope is not None:
        for codename in codenames:
            RoleScope.objects.create(role=role, content_type=content_type, action=codename.split("_")[0],
                                     scope=scope)
    for field_name, mode in (field_rules or {}).items():
        RoleFieldRule.objects.create(role=role, content_type=content_type, field_name=field_name, mode=mode)
    user = User.objects.create_user(username=username, password="pw-secret-123")
    user.groups.add(role)
    return User.objects.get(pk=user.pk)
