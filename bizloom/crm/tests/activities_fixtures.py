"""Fixtures of the activities tests (issue #4); test modules star-import them.

Two sales reps hold the role "Rep" (activities, accounts, contacts, opportunities, leads in
their own scope); ``boss`` holds the same permissions directly (everything in scope).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, Permission
from django.utils import timezone

from bizloom.crm.models import Account, Activity, Contact, Lead, Opportunity, Pipeline, Stage
from bizloom.platform import access
from bizloom.platform.models import User
from bizloom.platform.org import services as org

REP_MODELS = (Activity, Account, Contact, Opportunity, Lead)
REP_ACTIONS = ("view", "add", "change", "delete", "export")


def _user(username: str, **extra: object) -> User:
    return User.objects.create_user(username=username, password="pw-secret-123", email=f"{username}@example.com",
                                    **extra)


@pytest.fixture
def root(db) -> User:
    return User.objects.create_superuser("act-root", "root@example.com", "pw-secret-123")


@pytest.fixture
def rep_role(root) -> Group:
    role = Group.objects.create(name="Rep")
    for model in REP_MODELS:
        for action in REP_ACTIONS:
            org.set_role_grant(role, model, action, "own", actor=root)
    return role


@pytest.fixture
def rep(rep_role) -> User:
    user = _user("li.lei", first_name="雷", last_name="李")
    user.groups.add(rep_role)
    return User.objects.get(pk=user.pk)


@pytest.fixture
def other_rep(rep_role) -> User:
    user = _user("han.meimei", first_name="梅梅", last_name="韩")
    user.groups.add(rep_role)
    return User.objects.get(pk=user.pk)


@pytest.fixture
def boss(db) -> User:
    """Every permission on the rep's models, granted directly (scope "all")."""
    user = _user("wang.min", first_name="敏", last_name="王")
    for model in REP_MODELS:
        for action in REP_ACTIONS:
            user.user_permissions.add(Permission.objects.get(codename=f"{action}_{model._meta.model_name}",
                                                             content_type__app_label="crm"))
    access.clear_cache(user)
    return User.objects.get(pk=user.pk)


@pytest.fixture
def outsider(db) -> User:
    return _user("nobody")


@pytest.fixture
def rep_account(rep) -> Account:
    return Account.objects.create(name="杭州恒瑞机械制造有限公司", city="杭州", owner=rep)


@pytest.fixture
def other_account(other_rep) -> Account:
    return Account.objects.create(name="深圳云启科技有限公司", city="深圳", owner=other_rep)


@pytest.fixture
def rep_contact(rep, rep_account) -> Contact:
    return Contact.objects.create(name="张伟", position="采购经理", account=rep_account, owner=rep)


@pytest.fixture
def open_stage(db) -> Stage:
    pipeline = Pipeline.objects.create(name="Activities test pipeline", is_default=False)
    return Stage.objects.create(pipeline=pipeline, name="Qualify", kind="open", probability=20, position=1)


@pytest.fixture
def rep_opportunity(rep, rep_account, rep_contact, open_stage) -> Opportunity:
    return Opportunity.objects.create(name="数控机床采购项目", account=rep_account, contact=rep_contact, owner=rep,
                                      pipeline=open_stage.pipeline, stage=open_stage, probability=20,
                                      amount=Decimal("480000"))


@pytest.fixture
def login(client):
    """``login(user)`` → the test client signed in as ``user``."""

    def sign_in(user: User):
        client.force_login(user)
        return client

    return sign_in


def hours_from_now(hours: float) -> dt.datetime:
    """An aware time ``hours`` from now (negative: in the past), on the minute."""
    return (timezone.now() + dt.timedelta(hours=hours)).replace(second=0, microsecond=0)


class EventLog:
    """The activity events published while a test runs, in order."""

    def __init__(self) -> None:
        self.seen: list = []

    def names(self) -> list[str]:
        return [event.name for event in self.seen]

    def last(self, name: str):
        return [event for event in self.seen if event.name == name][-1]


@pytest.fixture
def events():
    """Collects every ``crm.activity.*`` event (sync subscribers, removed afterwards)."""
    from bizloom.crm.activities import events as activity_events
    from bizloom.platform.events import base

    log = EventLog()
    classes = [activity_events.ActivityCreated, activity_events.ActivityUpdated, activity_events.ActivityCompleted,
               activity_events.ActivityDeleted, activity_events.ActivityOwnerChanged]
    names = []
    for event_cls in classes:
        subscription = base.subscribe(event_cls, log.seen.append, name=f"test.activities.{event_cls.name}")
        names.append(subscription.name)
    yield log
    for name in names:
        base.unsubscribe(name)
