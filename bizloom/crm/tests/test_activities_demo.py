"""The demo company's activities: past calls and visits with results, upcoming and overdue work,
weekly follow-ups; Chinese for Chinese accounts; the same seed gives the same activities."""

from __future__ import annotations

import random

import pytest
from django.db.models import Q
from django.utils import timezone

from bizloom.crm.activities import demo as activities_demo
from bizloom.crm.models import Account, Activity
from bizloom.platform import demo

pytestmark = pytest.mark.django_db

BUILDERS = ("platform.users", "crm.accounts", "crm.contacts", "crm.activities")


def _build(seed: int, accounts: int) -> None:
    shared = demo.make_context(seed, "small", {"accounts": accounts})
    for item in demo.registered_builders():
        if item.name in BUILDERS:
            ctx = demo.make_context(seed, "small", {"accounts": accounts}, name=item.name)
            ctx.users, ctx.sales_reps, ctx.counts, ctx.shared = (shared.users, shared.sales_reps, shared.counts,
                                                                 shared.shared)
            item.func(ctx)


def test_demo_builds_realistic_activities_for_the_accounts():
    # when
    _build(7, 40)
    # then
    now = timezone.now()
    assert Account.objects.filter(activities__isnull=True).count() == 0
    done = Activity.objects.filter(status=Activity.Status.DONE, kind__in=["call", "visit"])
    assert done.exists()
    assert not done.filter(Q(result="") | Q(due_at__gt=now)).exists()
    chinese = done.filter(account__name__regex=r"[\u4e00-\u9fff]").first()
    assert chinese is not None
    assert any("\u4e00" <= ch <= "\u9fff" for ch in chinese.result)
    planned = Activity.objects.filter(status=Activity.Status.PLANNED)
    assert planned.filter(due_at__gt=now, kind__in=["task", "meeting"]).exists()
    assert planned.filter(due_at__lt=now).exists(), "a few are overdue"
    assert planned.filter(recurrence="weekly", recurrence_until__isnull=False).exists()
    assert not planned.filter(remind_at__lte=now).exists(), "no reminder fires the moment the demo is loaded"
    assert set(Activity.objects.values_list("owner", flat=True)) <= set(
        Account.objects.values_list("owner", flat=True))
    assert Activity.objects.filter(account__isnull=True).count() == 0


def test_the_same_seed_gives_the_same_activities():
    # given
    _build(7, 3)
    account = Account.objects.order_by("pk").first()
    now = timezone.now()
    # when
    first = activities_demo.account_activities(random.Random(5), account, None, now)
    second = activities_demo.account_activities(random.Random(5), account, None, now)
    # then
    assert first == second
