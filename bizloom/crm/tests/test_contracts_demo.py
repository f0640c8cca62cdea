"""The demo company's contracts: from won deals when there are any, and standalone ones in every state."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from bizloom.crm.models import Contract, Opportunity, Stage

pytestmark = pytest.mark.django_db


def test_demo_builds_contracts_in_every_state():
    # given
    from bizloom.platform import demo

    # when
    demo.build_demo(seed=11, size="small", overrides={"accounts": 10, "contracts": 30})
    # then
    statuses = set(Contract.objects.values_list("status", flat=True))
    assert {"active", "expired", "terminated"} <= statuses
    today = timezone.localdate()
    assert Contract.objects.filter(status="active", end_date__lte=today + dt.timedelta(days=60)).exists()
    assert not Contract.objects.filter(status="active", end_date__lt=today).exists()
    if Opportunity.objects.filter(stage__kind=Stage.Kind.WON).exists():
        assert Contract.objects.filter(opportunity__isnull=False).exists()
    chinese = Contract.objects.filter(account__name__regex=r"[\u4e00-\u9fff]").first()
    assert chinese is not None
    assert any("\u4e00" <= ch <= "\u9fff" for ch in chinese.title)
    assert all(c.number.startswith("HT-") for c in Contract.objects.all())
