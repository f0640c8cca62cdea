"""Pytest fixtures of the pipeline tests (import the ones a test module uses:
``from bizloom.crm.pipeline.testing import *``)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission

from bizloom.crm.models import Account, Contact, Opportunity, Pipeline, Stage
from bizloom.platform.models import User
from bizloom.platform.org import services as org

OPPORTUNITY_PERMS = ("view_opportunity", "add_opportunity", "change_opportunity", "delete_opportunity",
                     "export_opportunity")
SETTINGS_PERMS = tuple(f"{action}_{model}" for model in ("pipeline", "stage", "lossreason", "competitor")
                       for action in ("view", "add", "change", "delete"))

__all__ = ["boss", "new_business", "other_rep", "rep", "rep_role", "root", "stages", "user_with"]


def _user(username: str, *codenames: str) -> User:
    user = User.objects.create_user(username=username, password="pw-secret-123")
    for codename in codenames:
        user.user_permissions.add(Permission.objects.get(content_type__app_label="crm", codename=codename))
    return User.objects.get(pk=user.pk)


@pytest.fixture
def user_with(db: Any) -> Any:
    """``user_with("mei", "view_opportunity", ...)``: a user holding exactly those crm permissions (scope all)."""
    return _user


@pytest.fixture
def root(db: Any) -> User:
    return User.objects.create_superuser("root", "root@x.cn", "pw-secret-123")


@pytest.fixture
def boss(db: Any) -> User:
    """Every opportunity, account, contact and pipeline-settings permission, scope all."""
    return _user("boss", *OPPORTUNITY_PERMS, *SETTINGS_PERMS, "view_account", "add_account", "change_account",
                 "view_contact", "add_contact")


@pytest.fixture
def rep_role(root: Any) -> Group:
    """A sales rep role: accounts, contacts and opportunities, own records only."""
    role = Group.objects.create(name="Pipeline rep")
    for model in (Account, Contact, Opportunity):
        for action in ("view", "add", "change"):
            org.set_role_grant(role, model, action, "own", actor=root)
    return role


def _rep(name: str, role: Group) -> User:
    user = User.objects.create_user(name, password="pw-secret-123")
    user.groups.add(role)
    return User.objects.get(pk=user.pk)


@pytest.fixture
def rep(rep_role: Any) -> User:
    return _rep("rep", rep_role)


@pytest.fixture
def other_rep(rep_role: Any) -> User:
    return _rep("other-rep", rep_role)


@pytest.fixture
def new_business(db: Any) -> Pipeline:
    """The default pipeline the migration creates."""
    return Pipeline.objects.get(is_default=True)


@pytest.fixture
def stages(new_business: Any) -> dict[str, Stage]:
    """Its stages by English name: Prospecting, Qualification, Proposal, Negotiation, Won, Lost."""
    return {stage.name: stage for stage in new_business.stages.all()}


