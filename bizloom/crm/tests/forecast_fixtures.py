"""A small sales organisation for the forecast tests, built with the ORM (not the pipeline services).

销售部 (managed by ``boss``) → 华东 (``east_manager`` manages it; ``rep_a`` works there) and
华南 (``rep_b``); ``outsider`` sits in 财务部. Roles: "rep" (own opportunities and targets),
"manager" (department scope, may set targets), "admin" (scope all, may set targets). One
pipeline with three open stages (20/50/80 %), a won and a lost stage.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission
from django.utils import timezone

from bizloom.crm.models import Account, Opportunity, Pipeline, SalesTarget, Stage, StageHistory
from bizloom.platform.models import User
from bizloom.platform.org import services as org

__all__ = ["target_events", "world"]  # the fixtures; import helpers by name

ZONE = dt.timezone(dt.timedelta(hours=8))  # Asia/Shanghai, the test settings' time zone


def at(day: str, hour: int = 12) -> dt.datetime:
    """An aware datetime at ``hour`` o'clock of ``day`` (ISO date) in Shanghai time."""
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), tzinfo=ZONE)


def d(day: str) -> dt.date:
    return dt.date.fromisoformat(day)


@dataclass
class World:
    root: User
    admin: User
    boss: User
    east_manager: User
    rep_a: User
    rep_b: User
    outsider: User
    nobody: User
    pipeline: Pipeline
    stages: dict[str, Stage]
    account: Account

    def opportunity(self, owner: User | None, stage: str, amount: str, *, probability: int | None = None,
                    close: str | None = None, currency: str = "CNY", closed: str | None = None,
                    created: str | None = None, name: str = "Deal") -> Opportunity:
        """An opportunity in ``stage`` (its default probability unless given)."""
        stage_obj = self.stages[stage]
        opportunity = Opportunity.objects.create(
            name=name, account=self.account, owner=owner, pipeline=stage_obj.pipeline, stage=stage_obj,
            probability=stage_obj.probability if probability is None else probability, amount=Decimal(amount),
            currency=currency, expected_close=d(close) if close else None,
            closed_at=at(closed) if closed else None)
        if created:
            Opportunity.objects.filter(pk=opportunity.pk).update(created_at=at(created))
            opportunity.refresh_from_db()
        return opportunity

    def history(self, opportunity: Opportunity, *moves: tuple[str, str]) -> None:
        """Stays of ``opportunity``: (stage key, entered on) in order; each stay ends when the next begins."""
        for index, (stage, day) in enumerate(moves):
            left = at(moves[index + 1][1]) if index + 1 < len(moves) else None
            StageHistory.objects.create(opportunity=opportunity, stage=self.stages[stage], entered_at=at(day),
                                        left_at=left, amount=opportunity.amount,
                                        probability=self.stages[stage].probability)

    def target(self, user: User, start: str, end: str, amount: str, currency: str = "CNY") -> SalesTarget:
        return SalesTarget.objects.create(user=user, period_start=d(start), period_end=d(end),
                                          amount=Decimal(amount), currency=currency)


def _role(name: str, grants: dict[Any, list[tuple[str, str]]], root: User, *extra: str) -> Group:
    role = Group.objects.create(name=name)
    for model, actions in grants.items():
        for action, scope in actions:
            org.set_role_grant(role, model, action, scope, actor=root)
    for codename in extra:
        role.permissions.add(Permission.objects.get(content_type__app_label="crm", codename=codename))
    return role


def _user(username: str, *, role: Group | None = None, department: Any = None, first: str = "",
          last: str = "") -> User:
    user = User.objects.create_user(username=username, password="pw-secret-123", first_name=first, last_name=last)
    if role is not None:
        user.groups.add(role)
    if department is not None:
        user.department = department
        user.save(update_fields=["department"])
    return User.objects.get(pk=user.pk)


@pytest.fixture
def world(db) -> World:
    root = User.objects.create_superuser("forecast-root", "root@example.com", "pw-secret-123")
    rep_role = _role("forecast rep", {Opportunity: [("view", "own")], SalesTarget: [("view", "own")]}, root)
    manager_role = _role("forecast manager", {
        Opportunity: [("view", "department")],
        SalesTarget: [("view", "department"), ("change", "department")]}, root, "manage_targets")
    admin_role = _role("forecast admin", {Opportunity: [("view", "all")],
                                          SalesTarget: [("view", "all"), ("change", "all")]}, root, "manage_targets")
    sales = org.create_department("销售部", actor=root)
    east = org.create_department("华东销售组", parent=sales, actor=root)
    south = org.create_department("华南销售组", parent=sales, actor=root)
    finance = org.create_department("财务部", actor=root)
    boss = _user("boss", role=manager_role, department=sales, first="敏", last="王")
    east_manager = _user("east-manager", role=manager_role, department=east, first="强", last="刘")
    org.update_department(sales, {"manager": boss}, actor=root)
    org.update_department(east, {"manager": east_manager}, actor=root)
    rep_a = _user("rep-a", role=rep_role, department=east, first="伟", last="张")
    rep_b = _user("rep-b", role=rep_role, department=south, first="芳", last="李")
    outsider = _user("outsider", role=rep_role, department=finance, first="Olivia", last="Smith")
    admin = _user("admin-user", role=admin_role, department=finance)
    nobody = _user("nobody")
    Pipeline.objects.update(is_default=False)  # the one a data migration may have made
    pipeline = Pipeline.objects.create(name="New business", name_zh_hans="新业务", is_default=True)
    stages = {}
    for position, (key, name, kind, probability) in enumerate((
            ("qualify", "Qualify", Stage.Kind.OPEN, 20), ("propose", "Propose", Stage.Kind.OPEN, 50),
            ("negotiate", "Negotiate", Stage.Kind.OPEN, 80), ("won", "Won", Stage.Kind.WON, 100),
            ("lost", "Lost", Stage.Kind.LOST, 0)), start=1):
        stages[key] = Stage.objects.create(pipeline=pipeline, name=name, position=position, kind=kind,
                                           probability=probability)
    account = Account.objects.create(name="杭州云启科技有限公司", owner=root)
    return World(root=root, admin=admin, boss=boss, east_manager=east_manager, rep_a=rep_a, rep_b=rep_b,
                 outsider=outsider, nobody=nobody, pipeline=pipeline, stages=stages, account=account)


@pytest.fixture
def target_events() -> Iterator[list[Any]]:
    """The TargetSet and TargetDeleted events published during the test, in order."""
    from bizloom.crm.forecast.events import TargetDeleted, TargetSet
    from bizloom.platform.events import base

    seen: list[Any] = []
    names = [base.subscribe(cls, seen.append, mode="sync", name=f"test.forecast.{cls.name}").name
             for cls in (TargetSet, TargetDeleted)]
    yield seen
    for name in names:
        base.unsubscribe(name)


def fresh(user: User) -> User:
    """A new instance of ``user`` (no cached permissions)."""
    return User.objects.get(pk=user.pk)


def now() -> dt.datetime:
    return timezone.now()
