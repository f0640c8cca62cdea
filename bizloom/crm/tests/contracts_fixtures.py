"""Fixtures of the contracts and account 360 tests (imported by test_contracts_* and test_account360_*)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, Permission
from django.utils import timezone

from bizloom.crm import services as crm_services
from bizloom.crm.contracts import services
from bizloom.crm.contracts.events import (
    ContractActivated,
    ContractCreated,
    ContractDeleted,
    ContractExpired,
    ContractOwnerChanged,
    ContractTerminated,
    ContractUpdated,
)
from bizloom.crm.models import Account, Activity, Contact, Contract, Opportunity, Pipeline, Stage
from bizloom.platform import access
from bizloom.platform.events import base
from bizloom.platform.models import User
from bizloom.platform.org import services as org

CRM_MODELS = (Account, Contact, Contract, Opportunity, Activity)


def today() -> dt.date:
    return timezone.localdate()


def days(n: int) -> dt.date:
    """The date ``n`` days from today (negative: in the past)."""
    return today() + dt.timedelta(days=n)


def grant_all(user: User, *models: type) -> User:
    """Give ``user`` every action of ``models`` directly (scope "all"); returns a fresh instance."""
    for model in models:
        for action in access.model_actions(model):
            permission = Permission.objects.filter(content_type__app_label="crm",
                                                   codename=f"{action}_{model._meta.model_name}").first()
            if permission is not None:
                user.user_permissions.add(permission)
    return User.objects.get(pk=user.pk)


@pytest.fixture
def boss(db) -> User:
    """Every action on accounts, contacts, contracts, opportunities and activities, all records."""
    user = User.objects.create_user("boss", password="pw-secret-123", email="boss@example.com")
    return grant_all(user, *CRM_MODELS)


@pytest.fixture
def root(db) -> User:
    return User.objects.create_superuser("root", "root@example.com", "pw-secret-123")


@pytest.fixture
def sales_role(root) -> Group:
    """A role granting every action on the CRM records with scope "own"."""
    role = Group.objects.create(name="Sales rep (test)")
    for model in CRM_MODELS:
        for action in access.model_actions(model):
            org.set_role_grant(role, model, action, "own", actor=root)
    return role


@pytest.fixture
def make_rep(sales_role):
    """``make_rep("wang")``: a user in the own-scope sales role."""

    def make(username: str, email: str = "") -> User:
        user = User.objects.create_user(username, password="pw-secret-123", email=email)
        user.groups.add(sales_role)
        return User.objects.get(pk=user.pk)

    return make


@pytest.fixture
def rep(make_rep) -> User:
    return make_rep("wang.wei", "wangwei@example.com")


@pytest.fixture
def other_rep(make_rep) -> User:
    return make_rep("li.na", "lina@example.com")


@pytest.fixture
def customer(rep) -> Account:
    return crm_services.create_account({"name": "杭州云启科技有限公司", "tier": "a", "city": "杭州"}, actor=rep)


@pytest.fixture
def signer(rep, customer) -> Contact:
    return crm_services.create_contact({"name": "韩梅梅", "account": customer, "position": "采购经理",
                                        "email": "hanmeimei@yunqi.example"}, actor=rep)


@pytest.fixture
def pipeline(db) -> Pipeline:
    pipeline = Pipeline.objects.create(name="Sales", name_zh_hans="销售", is_default=True)
    Stage.objects.create(pipeline=pipeline, name="Qualified", position=1, kind=Stage.Kind.OPEN, probability=20)
    Stage.objects.create(pipeline=pipeline, name="Won", position=8, kind=Stage.Kind.WON, probability=100)
    Stage.objects.create(pipeline=pipeline, name="Lost", position=9, kind=Stage.Kind.LOST, probability=0)
    return pipeline


def stage(pipeline: Pipeline, kind: str) -> Stage:
    return pipeline.stages.get(kind=kind)


@pytest.fixture
def make_opportunity(pipeline):
    """``make_opportunity(account, owner, amount, kind="open", currency="CNY", closed_at=None)`` through the ORM."""

    def make(account: Account, owner: User, amount: str, kind: str = Stage.Kind.OPEN, currency: str = "CNY",
             closed_at: dt.datetime | None = None, contact: Contact | None = None, name: str = "") -> Opportunity:
        return Opportunity.objects.create(
            name=name or f"{account.name} 项目 {amount}", account=account, owner=owner, pipeline=pipeline,
            stage=stage(pipeline, kind), amount=Decimal(amount), currency=currency, closed_at=closed_at,
            contact=contact)

    return make


def contract_data(account: Account, **values) -> dict:
    data = {"title": "年度技术服务合同", "account": account, "amount": Decimal("360000"), "currency": "CNY",
            "start_date": days(-30), "end_date": days(334)}
    data.update(values)
    return data


@pytest.fixture
def draft(rep, customer) -> Contract:
    return services.create_contract(contract_data(customer), actor=rep)


class EventLog:
    """The events a test saw, in order."""

    def __init__(self) -> None:
        self.seen: list = []

    def names(self) -> list[str]:
        return [event.name for event in self.seen]


@pytest.fixture
def contract_events():
    """Collects every ``crm.contract.*`` event (sync subscribers, removed afterwards)."""
    log = EventLog()
    names = []
    for event_cls in (ContractCreated, ContractUpdated, ContractOwnerChanged, ContractActivated,
                      ContractTerminated, ContractExpired, ContractDeleted):
        names.append(base.subscribe(event_cls, log.seen.append, name=f"test.contracts.{event_cls.name}").name)
    yield log
    for name in names:
        base.unsubscribe(name)


# What ``from contracts_fixtures import *`` brings into a test module: the fixtures only.
__all__ = ["boss", "contract_events", "customer", "draft", "make_opportunity", "make_rep", "other_rep", "pipeline",
           "rep", "root", "sales_role", "signer"]
