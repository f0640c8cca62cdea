"""The "Imports" menu entry shows for anyone who may import something, and only for them."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from bizloom.platform.models import User

pytestmark = pytest.mark.django_db


def user_with(username: str, *codenames: str) -> User:
    user = User.objects.create_user(username, password="pw-secret-123")
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return User.objects.get(pk=user.pk)


@pytest.mark.parametrize(("codenames", "shown"), [
    (("view_contact", "add_contact", "import_contact"), True),   # contacts only, no account import
    (("view_account", "add_account", "import_account"), True),
    (("view_account", "add_account", "view_contact"), False),     # may add but not import
])
def test_imports_entry_follows_any_import_permission(client, codenames, shown):
    # given
    client.force_login(user_with("mei", *codenames))
    # when
    page = client.get("/").content.decode()
    # then
    assert (f'href="{reverse("imports:list")}"' in page) is shown
