"""Fixtures of the CRM tests: users with exactly the permissions a test needs, and accounts."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission

from bizloom.crm import services
from bizloom.crm.models import Account
from bizloom.platform.models import User

ALL_ACCOUNT_PERMS = ("view_account", "add_account", "change_account", "delete_account", "export_account")


@pytest.fixture
def make_user(db):
    """``make_user("mei", "view_account", ...)``: a user holding exactly those crm permissions."""

    def make(username: str, *codenames: str) -> User:
        user = User.objects.create_user(username=username, password="pw-secret-123")
        for codename in codenames:
            user.user_permissions.add(Permission.objects.get(content_type__app_label="crm", codename=codename))
        return User.objects.get(pk=user.pk)  # fresh instance: no stale permission cache

    return make


@pytest.fixture
def manager(make_user):
    return make_user("manager", *ALL_ACCOUNT_PERMS)


@pytest.fixture
def viewer(make_user):
    return make_user("viewer", "view_account")


@pytest.fixture
def nobody(make_user):
    return make_user("nobody")


@pytest.fixture
def accounts(manager):
    """Four accounts owned by ``manager``, with Chinese and Latin names."""
    rows = [
        {"name": "华为技术有限公司", "code": "914403001922038216", "industry": "manufacturing", "tier": "a",
         "city": "深圳", "annual_revenue": Decimal("704200000000"), "is_supplier": True},
        {"name": "阿里巴巴（中国）有限公司", "industry": "software", "tier": "a", "city": "杭州"},
        {"name": "Acme Trading Ltd", "industry": "wholesale", "tier": "b", "city": "Hong Kong",
         "annual_revenue": Decimal("1250000.5"), "currency": "HKD", "is_customer": False},
        {"name": "=1+1 Formula Co", "industry": "other", "tier": "c", "city": "Berlin",
         "email": "info@formula.example"},
    ]
    return [services.create_account(row, actor=manager) for row in rows]


@pytest.fixture
def huawei(accounts) -> Account:
    return accounts[0]


@pytest.fixture
def login(client):
    """``login(user)`` → the test client signed in as ``user``."""

    def sign_in(user: User):
        client.force_login(user)
        return client

    return sign_in
