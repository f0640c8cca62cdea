"""Fixtures shared by the notifications, timeline and numbering tests (loaded through each conftest).

Accounts are the business record the platform is proven on; they are reached through the
app registry so that platform code does not import a higher layer.
"""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib.auth.models import Permission

from bizloom.platform.models import User


@pytest.fixture
def make_user(db):
    """``make_user("mei", "view_account", email=...)``: a user holding exactly those crm permissions."""

    def make(username: str, *codenames: str, email: str = "", is_active: bool = True, is_staff: bool = False,
             language: str = "") -> User:
        user = User.objects.create_user(username=username, password="pw-secret-123", email=email,
                                        is_active=is_active, is_staff=is_staff, language=language)
        for codename in codenames:
            user.user_permissions.add(Permission.objects.get(content_type__app_label="crm", codename=codename))
        return User.objects.get(pk=user.pk)

    return make


@pytest.fixture
def account_model():
    return apps.get_model("crm", "Account")


@pytest.fixture
def account(db, account_model):
    return account_model.objects.create(name="华为技术有限公司", city="深圳")


@pytest.fixture
def author(make_user):
    return make_user("li.lei", "view_account", email="lilei@example.com")


@pytest.fixture
def viewer(make_user):
    return make_user("mei", "view_account", email="mei@example.com")


@pytest.fixture
def nobody(make_user):
    return make_user("nobody", email="nobody@example.com")


@pytest.fixture
def login(client):
    """``login(user)`` → the test client signed in as ``user``."""

    def sign_in(user: User):
        client.force_login(user)
        return client

    return sign_in
