"""The pipeline demo (issue #4): realistic, reproducible opportunities with histories."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.utils import timezone

from bizloom.crm.models import Opportunity, StageHistory
from bizloom.platform import demo
from bizloom.platform.models import User

pytestmark = pytest.mark.django_db

BUILDERS = ("platform.users", "crm.accounts", "crm.contacts", "crm.pipeline")


def build(seed: int = 42, **overrides: int) -> demo.DemoContext:
    """Run the builders the pipeline demo needs, as ``demo.build_demo`` does."""
    registered = {b.name: b for b in demo.registered_builders()}
    shared = demo.make_context(seed, "small", overrides)
    with transaction.atomic():
        for name in BUILDERS:
            ctx = demo.make_context(seed, "small", overrides, name=name)
            ctx.users, ctx.sales_reps, ctx.counts, ctx.shared = (
                shared.users, shared.sales_reps, shared.counts, shared.shared)
            registered[name].func(ctx)
    return shared


def snapshot() -> list[tuple]:
    return list(Opportunity.objects.order_by("pk").values_list("name", "account__name", "stage__name", "amount"))


def test_demo_builds_opportunities_with_outcomes_lines_and_history():
    # when
    ctx = build(accounts=20, opportunities=60)
    # then
    opportunities = list(Opportunity.objects.select_related("stage", "account", "owner"))
    assert len(opportunities) == 60 == ctx.counts["opportunities"]
    kinds = [o.stage.kind for o in opportunities]
    assert 5 <= kinds.count("won") <= 25
    assert 4 <= kinds.count("lost") <= 22
    assert kinds.count("open") >= 20
    now = timezone.now()
    for opportunity in opportunities:
        history = list(StageHistory.objects.filter(opportunity=opportunity).order_by("entered_at", "pk"))
        assert history[-1].stage_id == opportunity.stage_id
        assert history[-1].left_at is None
        assert all(h.entered_at < now and h.entered_by_id == opportunity.owner_id for h in history)
        assert all(a.left_at == b.entered_at for a, b in zip(history, history[1:], strict=False))
        assert (opportunity.closed_at is not None) == (opportunity.stage.kind != "open")
        if opportunity.stage.kind == "lost":
            assert opportunity.loss_reason_id is not None
        assert opportunity.owner == opportunity.account.owner
    chinese_lines = [line.product_name for o in opportunities if o.currency == "CNY" for line in o.lines.all()]
    assert any("机器人" in name or "机床" in name or "服务" in name for name in chinese_lines)
    assert User.objects.filter(username="sales").get().has_perm("crm.change_opportunity")


def test_demo_is_reproducible_from_its_seed():
    # given
    with transaction.atomic():
        build(seed=7, accounts=10, opportunities=20)
        first = snapshot()
        transaction.set_rollback(True)
    # when
    with transaction.atomic():
        build(seed=7, accounts=10, opportunities=20)
        second = snapshot()
        transaction.set_rollback(True)
    # then
    assert first == second
    assert len(first) == 20
