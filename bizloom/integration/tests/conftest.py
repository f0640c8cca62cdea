"""Fixtures of the integration and API-shell tests."""

from __future__ import annotations

import pytest

from bizloom.integration import services
from bizloom.platform.models import User


@pytest.fixture
def user(db):
    return User.objects.create_user(username="mei", password="pw-secret-123", email="mei@example.com")


@pytest.fixture
def other_user(db):
    return User.objects.create_user(username="li", password="pw-secret-123")


@pytest.fixture
def issued(user):
    """A fresh token of ``user`` (with its plaintext)."""
    return services.create_api_token(user, name="scanner", actor=user)


@pytest.fixture
def bearer(issued):
    """Headers authenticating as ``user`` through ``issued``."""
    return {"Authorization": f"Bearer {issued.plaintext}"}
