"""Opportunity services (issue #4): defaults, product lines and amount, stage moves with their
rules, history, audit, events and access."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.utils import translation

from bizloom.common.errors import DomainError, PermissionDeniedError, ValidationFailed
from bizloom.crm import services as crm
from bizloom.crm.models import Competitor, LossReason, Opportunity, OpportunityLine, Pipeline, StageHistory
from bizloom.crm.pipeline import services
from bizloom.crm.pipeline.events import (
    OpportunityCreated,
    OpportunityDeleted,
    OpportunityLost,
    OpportunityOwnerChanged,
    OpportunityStageChanged,
    OpportunityUpdated,
    OpportunityWon,
)
from bizloom.crm.pipeline.testing import *  # noqa: F403
from bizloom.platform.audit.models import AuditEntry
from bizloom.platform.customfields import services as custom_services
from bizloom.platform.events.tests.fixtures import subscribe  # noqa: F401

LINES = [
    {"product_name": "工业机器人 IRB-120", "quantity": "2", "unit_price": "185000", "discount_percent": "5"},
    {"product_name": "ERP 实施服务", "quantity": "1", "unit_price": "80000"},
]


@pytest.fixture
def account(boss):
    return crm.create_account({"name": "上海汽车集团股份有限公司", "city": "上海"}, actor=boss)


@pytest.fixture
def opportunity(boss, account):
    return services.create_opportunity({"name": "焊装线自动化", "account": account, "amount": Decimal("500000")},
                                       actor=boss)


@pytest.fixture
def price(db):
    return LossReason.objects.get(name="Price too high")


def entries(opportunity):
    return list(AuditEntry.objects.filter(content_type=ContentType.objects.get_for_model(Opportunity),
                                          object_id=str(opportunity.pk)).order_by("pk"))


def collect(subscribe, *event_classes):  # noqa: F811
    seen = []
    for cls in event_classes:
        subscribe(cls, seen.append, name=f"test.pipeline.{cls.__name__}")
    return seen


# --- creation --------------------------------------------------------------------------------


def test_create_uses_the_default_pipeline_its_first_open_stage_and_its_probability(boss, account, stages):
    # when
    opportunity = services.create_opportunity({"name": "焊装线", "account": account}, actor=boss)
    # then
    opportunity.refresh_from_db()
    assert opportunity.pipeline.is_default
    assert opportunity.stage == stages["Prospecting"]
    assert opportunity.probability == 10
    assert opportunity.owner == boss
    assert opportunity.closed_at is None
    history = list(opportunity.stage_history.all())
    assert [(h.stage, h.entered_by, h.left_at, h.probability) for h in history] == [
        (stages["Prospecting"], boss, None, 10)]


def test_default_pipeline_comes_with_chinese_stage_names_and_loss_reasons(new_business):
    # then
    names = list(new_business.stages.values_list("name_zh_hans", "probability", "kind"))
    assert names == [("初步接触", 10, "open"), ("需求确认", 20, "open"), ("方案报价", 50, "open"),
                     ("商务谈判", 75, "open"), ("赢单", 100, "won"), ("输单", 0, "lost")]
    assert new_business.name_zh_hant == "新業務"
    with translation.override("zh-hant"):
        assert str(new_business.stages.get(name="Negotiation")) == "商務談判"
    assert LossReason.objects.filter(name_zh_hans="价格过高").exists()


def test_create_with_lines_makes_the_amount_their_total(boss, account):
    # when
    opportunity = services.create_opportunity({"name": "机器人", "account": account, "lines": LINES,
                                               "amount": Decimal("1")}, actor=boss)
    # then 2 × 185000 × 95 % + 80000
    opportunity.refresh_from_db()
    assert opportunity.amount == Decimal("431500")
    assert [line.product_name for line in opportunity.lines.all()] == ["工业机器人 IRB-120", "ERP 实施服务"]


def test_create_refuses_an_account_outside_the_reps_scope(rep, other_rep):
    # given
    theirs = crm.create_account({"name": "别人的客户"}, actor=other_rep)
    # when / then
    with pytest.raises(ValidationFailed) as refused:
        services.create_opportunity({"name": "偷单", "account": theirs}, actor=rep)
    assert "account" in refused.value.fields
    assert not Opportunity.objects.exists()


def test_create_refuses_a_contact_of_another_account(boss, account):
    # given
    other = crm.create_account({"name": "Other Co"}, actor=boss)
    contact = crm.create_contact({"name": "王芳", "account": other}, actor=boss)
    # when / then
    with pytest.raises(ValidationFailed) as refused:
        services.create_opportunity({"name": "x", "account": account, "contact": contact}, actor=boss)
    assert "contact" in refused.value.fields


def test_create_refuses_a_stage_of_another_pipeline(boss, account, stages):
    # given
    renewals = services.create_pipeline({"name": "Renewals"}, actor=boss)
    # when / then
    with pytest.raises(ValidationFailed) as refused:
        services.create_opportunity({"name": "x", "account": account, "pipeline": renewals,
                                     "stage": stages["Proposal"]}, actor=boss)
    assert refused.value.code == "stage_not_in_pipeline"
    assert not Opportunity.objects.exists()


def test_create_records_audit_with_lines_and_publishes_created(boss, account, subscribe):  # noqa: F811
    # given
    seen = collect(subscribe, OpportunityCreated)
    # when
    opportunity = services.create_opportunity({"name": "机器人", "account": account, "lines": LINES[:1]}, actor=boss)
    # then
    [entry] = entries(opportunity)
    assert entry.action == "create"
    assert entry.changes["lines"][1][0]["product_name"] == "工业机器人 IRB-120"
    assert entry.changes["amount"] == [None, "351500.0000"]
    assert seen == [OpportunityCreated(opportunity_id=opportunity.pk, account_id=account.pk,
                                       pipeline_id=opportunity.pipeline_id, stage_id=opportunity.stage_id,
                                       owner_id=boss.pk, amount="351500.0000", currency="CNY", actor_id=boss.pk)]


@pytest.mark.parametrize(("line", "field"), [
    ({"product_name": "", "quantity": "1"}, "product_name"),
    ({"product_name": "A", "quantity": "0"}, "quantity"),
    ({"product_name": "A", "quantity": "-1"}, "quantity"),
    ({"product_name": "A", "unit_price": "-5"}, "unit_price"),
    ({"product_name": "A", "discount_percent": "101"}, "discount_percent"),
    ({"product_name": "A", "delivery_date": "2025-02-30"}, "delivery_date"),
    ({"product_name": "A", "quantity": "abc"}, "quantity"),
    ({"product_name": "A", "colour": "red"}, "colour"),
    ({"product_name": "A", "quantity": "99999999999", "unit_price": "99999999999"}, "unit_price"),
], ids=["no_name", "zero_qty", "negative_qty", "negative_price", "discount_over_100", "bad_date", "text_qty",
        "unknown_key", "too_large"])
def test_bad_lines_are_refused_per_line_and_nothing_is_written(boss, account, line, field):
    # when / then
    with pytest.raises(ValidationFailed) as refused:
        services.create_opportunity({"name": "x", "account": account, "lines": [LINES[0], line]}, actor=boss)
    assert f"lines.1.{field}" in refused.value.fields
    assert not Opportunity.objects.exists()
    assert not OpportunityLine.objects.exists()


# --- lines and amount ----------------------------------------------------------------------------


def test_set_lines_replaces_them_and_the_amount_follows(boss, opportunity, subscribe):  # noqa: F811
    # given
    seen = collect(subscribe, OpportunityUpdated)
    # when
    services.set_lines(opportunity, LINES, actor=boss)
    services.set_lines(opportunity, [{"product_name": "数控机床 VMC-850", "quantity": 3, "unit_price": "260000",
                                      "discount_percent": "10", "delivery_date": "2025-06-30"}], actor=boss)
    # then
    opportunity.refresh_from_db()
    assert opportunity.amount == Decimal("702000")
    assert [(line.product_name, line.total) for line in opportunity.lines.all()] == [
        ("数控机床 VMC-850", Decimal("702000.00"))]
    assert [event.changed for event in seen] == [("amount", "lines"), ("amount", "lines")]
    assert [e.action for e in entries(opportunity)] == ["create", "update", "update"]


def test_update_refuses_an_amount_that_contradicts_the_lines(boss, opportunity):
    # given
    services.set_lines(opportunity, LINES, actor=boss)
    # when / then
    with pytest.raises(ValidationFailed) as refused:
        services.update_opportunity(opportunity, {"amount": Decimal("1")}, actor=boss)
    assert "amount" in refused.value.fields
    opportunity.refresh_from_db()
    assert opportunity.amount == Decimal("431500")


def test_update_without_lines_may_set_the_amount(boss, opportunity):
    # when
    services.update_opportunity(opportunity, {"amount": Decimal("12345.67"), "next_step": "报价"}, actor=boss)
    # then
    opportunity.refresh_from_db()
    assert (opportunity.amount, opportunity.next_step) == (Decimal("12345.67"), "报价")


def test_update_that_changes_nothing_records_nothing(boss, opportunity):
    # when
    services.update_opportunity(opportunity, {"name": opportunity.name}, actor=boss)
    # then
    assert [e.action for e in entries(opportunity)] == ["create"]


# --- stage moves -------------------------------------------------------------------------------------


def test_move_writes_history_audit_and_event(boss, opportunity, stages, subscribe):  # noqa: F811
    # given
    seen = collect(subscribe, OpportunityStageChanged, OpportunityWon, OpportunityLost)
    # when
    services.move_stage(opportunity, stages["Proposal"], actor=boss)
    # then
    opportunity.refresh_from_db()
    assert opportunity.stage == stages["Proposal"]
    assert opportunity.probability == 50
    assert opportunity.stage_changed_at is not None
    first, second = opportunity.stage_history.order_by("pk")
    assert (first.stage, first.left_by, first.left_at is not None) == (stages["Prospecting"], boss, True)
    assert (second.stage, second.entered_by, second.left_at, second.amount, second.probability) == (
        stages["Proposal"], boss, None, Decimal("500000"), 50)
    entry = entries(opportunity)[-1]
    assert entry.action == "state_change"
    assert entry.changes["stage"][1]["id"] == stages["Proposal"].pk
    assert seen == [OpportunityStageChanged(
        opportunity_id=opportunity.pk, pipeline_id=opportunity.pipeline_id, old_stage_id=stages["Prospecting"].pk,
        new_stage_id=stages["Proposal"].pk, old_kind="open", new_kind="open", probability=50,
        amount="500000.0000", currency="CNY", actor_id=boss.pk)]


def test_won_sets_closed_at_and_probability_100_and_publishes_won(boss, opportunity, stages, subscribe):  # noqa: F811
    # given
    seen = collect(subscribe, OpportunityWon)
    # when
    services.move_stage(opportunity, stages["Won"], actor=boss)
    # then
    opportunity.refresh_from_db()
    assert (opportunity.probability, opportunity.closed_at is not None) == (100, True)
    assert [(e.opportunity_id, e.amount) for e in seen] == [(opportunity.pk, "500000.0000")]


def test_lost_needs_a_loss_reason(boss, opportunity, stages):
    # when / then
    with pytest.raises(ValidationFailed) as refused:
        services.move_stage(opportunity, stages["Lost"], actor=boss)
    assert refused.value.code == "loss_reason_required"
    assert "loss_reason" in refused.value.fields
    opportunity.refresh_from_db()
    assert opportunity.stage == stages["Prospecting"]
    assert opportunity.stage_history.count() == 1
    assert len(entries(opportunity)) == 1


def test_lost_with_reason_sets_probability_0_and_publishes_lost(boss, opportunity, stages, price,
                                                               subscribe):  # noqa: F811
    # given
    rival = services.create_competitor({"name": "发那科 FANUC"}, actor=boss)
    services.update_opportunity(opportunity, {"competitors": [rival]}, actor=boss)
    seen = collect(subscribe, OpportunityLost)
    # when
    services.move_stage(opportunity, stages["Lost"], actor=boss, loss_reason=price, loss_note="对手低 15%")
    # then
    opportunity.refresh_from_db()
    assert (opportunity.probability, opportunity.loss_reason, opportunity.loss_note) == (0, price, "对手低 15%")
    assert opportunity.closed_at is not None
    assert seen == [OpportunityLost(opportunity_id=opportunity.pk, account_id=opportunity.account_id,
                                    owner_id=opportunity.owner_id, loss_reason_id=price.pk,
                                    competitor_ids=(rival.pk,), actor_id=boss.pk)]


def test_reopening_clears_closed_at_and_the_loss_reason(boss, opportunity, stages, price):
    # given
    services.move_stage(opportunity, stages["Lost"], actor=boss, loss_reason=price)
    # when
    services.move_stage(opportunity, stages["Negotiation"], actor=boss)
    # then
    opportunity.refresh_from_db()
    assert (opportunity.closed_at, opportunity.loss_reason, opportunity.probability) == (None, None, 75)
    assert opportunity.stage_history.filter(left_at__isnull=True).count() == 1


def test_required_fields_refusal_names_them_in_the_users_language(boss, opportunity, stages):
    # given
    services.update_stage(stages["Proposal"], {"required_fields": ["expected_close", "lines", "contact"]},
                          actor=boss)
    # when / then
    with translation.override("zh-hans"), pytest.raises(DomainError) as refused:
        services.move_stage(opportunity, stages["Proposal"], actor=boss)
    assert refused.value.code == "stage_requirements_missing"
    assert set(refused.value.fields) == {"expected_close", "lines", "contact"}
    assert "方案报价" in refused.value.message
    assert "产品" in refused.value.message or "Product lines" in refused.value.message
    opportunity.refresh_from_db()
    assert opportunity.stage == stages["Prospecting"]


def test_required_fields_filled_lets_the_move_through(boss, opportunity, stages):
    # given
    services.update_stage(stages["Proposal"], {"required_fields": ["expected_close", "lines"]}, actor=boss)
    services.update_opportunity(opportunity, {"expected_close": "2025-09-30", "lines": LINES[:1]}, actor=boss)
    # when
    services.move_stage(opportunity, stages["Proposal"], actor=boss)
    # then
    opportunity.refresh_from_db()
    assert opportunity.stage == stages["Proposal"]


def test_required_custom_field_is_checked(boss, root, opportunity, stages):
    # given
    from django.contrib.contenttypes.models import ContentType as CT
    custom_services.create_custom_field({"content_type": CT.objects.get_for_model(Opportunity), "key": "budget_ok",
                                         "type": "boolean", "label_en": "Budget confirmed"}, actor=root)
    services.update_stage(stages["Negotiation"], {"required_fields": ["cf_budget_ok"]}, actor=boss)
    # when / then
    with pytest.raises(DomainError) as refused:
        services.move_stage(opportunity, stages["Negotiation"], actor=boss)
    assert "Budget confirmed" in refused.value.message
    services.update_opportunity(opportunity, {"custom_fields": {"budget_ok": True}}, actor=boss)
    services.move_stage(opportunity, stages["Negotiation"], actor=boss)


def test_moving_to_another_pipelines_stage_is_refused(boss, opportunity):
    # given
    renewals = services.create_pipeline({"name": "Renewals"}, actor=boss)
    foreign = renewals.stages.first()
    # when / then
    with pytest.raises(ValidationFailed) as refused:
        services.move_stage(opportunity, foreign, actor=boss)
    assert refused.value.code == "stage_not_in_pipeline"


def test_a_rep_cannot_move_another_reps_opportunity(rep, other_rep, stages):
    # given
    account = crm.create_account({"name": "对方客户"}, actor=other_rep)
    theirs = services.create_opportunity({"name": "对方的单", "account": account}, actor=other_rep)
    # when / then
    with pytest.raises(PermissionDeniedError):
        services.move_stage(theirs, stages["Won"], actor=rep)
    theirs.refresh_from_db()
    assert theirs.stage == stages["Prospecting"]


def test_update_with_a_new_pipeline_moves_to_its_first_open_stage(boss, opportunity):
    # given
    renewals = services.create_pipeline({"name": "Renewals"}, actor=boss)
    # when
    services.update_opportunity(opportunity, {"pipeline": renewals}, actor=boss)
    # then
    opportunity.refresh_from_db()
    assert opportunity.pipeline == renewals
    assert opportunity.stage == services.first_open_stage(renewals)
    assert [e.action for e in entries(opportunity)] == ["create", "state_change"]


def test_closed_probability_cannot_be_edited(boss, opportunity, stages):
    # given
    services.move_stage(opportunity, stages["Won"], actor=boss)
    # when / then
    with pytest.raises(ValidationFailed):
        services.update_opportunity(opportunity, {"probability": 40}, actor=boss)


# --- delete and transfer -------------------------------------------------------------------------------


def test_delete_removes_lines_and_history_and_publishes(boss, opportunity, subscribe):  # noqa: F811
    # given
    services.set_lines(opportunity, LINES, actor=boss)
    seen = collect(subscribe, OpportunityDeleted)
    pk = opportunity.pk
    # when
    services.delete_opportunity(opportunity, actor=boss)
    # then
    assert not Opportunity.objects.filter(pk=pk).exists()
    assert not OpportunityLine.objects.exists()
    assert not StageHistory.objects.exists()
    assert [e.opportunity_name for e in seen] == ["焊装线自动化"]


def test_transfer_changes_owner_with_entries_and_events(boss, rep, opportunity, subscribe):  # noqa: F811
    # given
    seen = collect(subscribe, OpportunityOwnerChanged)
    # when
    changed = services.transfer_opportunities([opportunity], rep, actor=boss)
    # then
    assert changed == 1
    opportunity.refresh_from_db()
    assert opportunity.owner == rep
    assert entries(opportunity)[-1].action == "owner_change"
    assert [(e.old_owner_id, e.new_owner_id) for e in seen] == [(boss.pk, rep.pk)]


# --- settings -------------------------------------------------------------------------------------------


def test_new_pipeline_gets_the_standard_stages_and_can_become_default(boss):
    # when
    renewals = services.create_pipeline({"name": "Renewals", "name_zh_hans": "续约", "is_default": True},
                                        actor=boss)
    # then
    assert renewals.stages.count() == 6
    assert list(Pipeline.objects.filter(is_default=True)) == [renewals]


def test_pipeline_needs_open_won_and_lost_stages(boss):
    # when / then
    with pytest.raises(DomainError) as refused:
        services.create_pipeline({"name": "Broken", "stages": [{"name": "Only", "kind": "open"},
                                                              {"name": "Yay", "kind": "won"}]}, actor=boss)
    assert refused.value.code == "pipeline_incomplete"
    assert not Pipeline.objects.filter(name="Broken").exists()


def test_deactivating_the_only_won_stage_is_refused(boss, stages):
    # when / then
    with pytest.raises(DomainError) as refused:
        services.update_stage(stages["Won"], {"is_active": False}, actor=boss)
    assert refused.value.code == "pipeline_incomplete"
    stages["Won"].refresh_from_db()
    assert stages["Won"].is_active


def test_a_stage_in_use_cannot_be_deleted_but_can_be_deactivated(boss, opportunity, stages):
    # when / then
    with pytest.raises(DomainError) as refused:
        services.delete_stage(stages["Prospecting"], actor=boss)
    assert refused.value.code == "stage_in_use"
    services.update_stage(stages["Prospecting"], {"is_active": False}, actor=boss)
    stages["Prospecting"].refresh_from_db()
    assert not stages["Prospecting"].is_active


def test_unused_stage_can_be_deleted(boss, new_business):
    # given
    extra = services.create_stage(new_business, {"name": "Demo", "name_zh_hans": "演示", "probability": 40},
                                  actor=boss)
    # when
    services.delete_stage(extra, actor=boss)
    # then
    assert not new_business.stages.filter(name="Demo").exists()


def test_stage_required_fields_must_be_known(boss, stages):
    # when / then
    with pytest.raises(ValidationFailed) as refused:
        services.update_stage(stages["Proposal"], {"required_fields": ["password", "lines"]}, actor=boss)
    assert "required_fields" in refused.value.fields


def test_the_default_pipeline_cannot_be_deleted_or_deactivated(boss, new_business):
    # when / then
    with pytest.raises(DomainError):
        services.delete_pipeline(new_business, actor=boss)
    with pytest.raises(ValidationFailed):
        services.update_pipeline(new_business, {"is_active": False}, actor=boss)


def test_loss_reason_and_competitor_in_use_cannot_be_deleted(boss, opportunity, stages, price):
    # given
    rival = services.create_competitor({"name": "KUKA"}, actor=boss)
    services.update_opportunity(opportunity, {"competitors": [rival]}, actor=boss)
    services.move_stage(opportunity, stages["Lost"], actor=boss, loss_reason=price)
    # when / then
    with pytest.raises(DomainError) as reason_refused:
        services.delete_loss_reason(price, actor=boss)
    with pytest.raises(DomainError) as rival_refused:
        services.delete_competitor(rival, actor=boss)
    assert (reason_refused.value.code, rival_refused.value.code) == ("loss_reason_in_use", "competitor_in_use")
    assert Competitor.objects.filter(pk=rival.pk).exists()


def test_competitor_names_are_unique_ignoring_case(boss):
    # given
    services.create_competitor({"name": "ABB"}, actor=boss)
    # when / then
    with pytest.raises(ValidationFailed):
        services.create_competitor({"name": "abb"}, actor=boss)
