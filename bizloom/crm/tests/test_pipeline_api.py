"""Pipeline API (issue #4): opportunities with lines, moves with problem+json refusals,
pipelines with stages and the settings resources."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bizloom.crm import services as crm
from bizloom.crm.models import Competitor, LossReason, Opportunity, Pipeline
from bizloom.crm.pipeline import services
from bizloom.crm.pipeline.testing import *  # noqa: F403

API = "/api/v1/crm"
LINE = {"product_name": "工业机器人 IRB-120", "quantity": "2", "unit_price": "185000", "discount_percent": "5"}


@pytest.fixture
def account(boss):
    return crm.create_account({"name": "广州数控设备有限公司"}, actor=boss)


@pytest.fixture
def opportunity(boss, account):
    return services.create_opportunity({"name": "机器人项目", "account": account, "amount": Decimal("100000")},
                                       actor=boss)


def problem(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    return response.json()


def test_create_with_lines_answers_201_with_amount_and_weighted(client, boss, account, stages):
    # given
    client.force_login(boss)
    # when
    response = client.post(f"{API}/opportunities", {"name": "产线改造", "account": account.pk, "lines": [LINE],
                                                     "expected_close": "2025-10-31"}, content_type="application/json")
    # then
    assert response.status_code == 201
    body = response.json()
    assert (body["amount"], body["weighted_amount"], body["probability"]) == ("351500.0000", "35150.00", 10)
    assert (body["stage"], body["status"]) == (stages["Prospecting"].pk, "open")
    assert body["lines"][0]["total"] == "351500.00"
    assert body["owner"] == boss.pk


def test_create_refuses_an_account_outside_scope_as_unknown(client, rep, other_rep):
    # given
    theirs = crm.create_account({"name": "别人的客户"}, actor=other_rep)
    client.force_login(rep)
    # when
    response = client.post(f"{API}/opportunities", {"name": "x", "account": theirs.pk},
                           content_type="application/json")
    # then
    assert "account" in problem(response, 422)["errors"]
    assert not Opportunity.objects.exists()


def test_create_reports_line_errors_by_path(client, boss, account):
    # given
    client.force_login(boss)
    # when
    response = client.post(f"{API}/opportunities", {"name": "x", "account": account.pk,
                                                     "lines": [LINE, {**LINE, "quantity": "0"}]},
                           content_type="application/json")
    # then
    assert "lines.1.quantity" in problem(response, 422)["errors"]


def test_list_filters_and_orders(client, boss, account, opportunity, stages):
    # given
    other = services.create_opportunity({"name": "Another", "account": account, "amount": Decimal("5")}, actor=boss)
    services.move_stage(other, stages["Won"], actor=boss)
    client.force_login(boss)
    # when
    won = client.get(f"{API}/opportunities?status=won").json()
    ordered = client.get(f"{API}/opportunities?ordering=-amount").json()
    bad = client.get(f"{API}/opportunities?ordering=password")
    # then
    assert [row["name"] for row in won["results"]] == ["Another"]
    assert [row["name"] for row in ordered["results"]] == ["机器人项目", "Another"]
    assert problem(bad, 422)["code"] == "invalid_ordering"


def test_get_and_history(client, boss, opportunity, stages):
    # given
    services.move_stage(opportunity, stages["Qualification"], actor=boss)
    client.force_login(boss)
    # when
    detail = client.get(f"{API}/opportunities/{opportunity.pk}").json()
    history = client.get(f"{API}/opportunities/{opportunity.pk}/history").json()
    # then
    assert detail["stage"] == stages["Qualification"].pk
    assert [(row["stage"], row["entered_by"], row["left_at"] is None) for row in history] == [
        (stages["Prospecting"].pk, boss.pk, False), (stages["Qualification"].pk, boss.pk, True)]


def test_patch_changes_fields_and_refuses_amount_against_lines(client, boss, opportunity):
    # given
    client.force_login(boss)
    # when
    ok = client.patch(f"{API}/opportunities/{opportunity.pk}", {"next_step": "报价", "probability": 30},
                      content_type="application/json")
    client.put(f"{API}/opportunities/{opportunity.pk}/lines", {"lines": [LINE]}, content_type="application/json")
    refused = client.patch(f"{API}/opportunities/{opportunity.pk}", {"amount": "1"}, content_type="application/json")
    # then
    assert (ok.json()["next_step"], ok.json()["probability"]) == ("报价", 30)
    assert "amount" in problem(refused, 422)["errors"]


def test_put_lines_replaces_them_and_the_amount_follows(client, boss, opportunity):
    # given
    client.force_login(boss)
    # when
    response = client.put(f"{API}/opportunities/{opportunity.pk}/lines",
                          {"lines": [LINE, {"product_name": "ERP 实施服务", "unit_price": "80000"}]},
                          content_type="application/json")
    # then
    assert response.status_code == 200
    assert response.json()["amount"] == "431500.0000"
    assert [line["product_name"] for line in response.json()["lines"]] == ["工业机器人 IRB-120", "ERP 实施服务"]


def test_move_succeeds_and_refusals_are_problems(client, boss, opportunity, stages):
    # given
    client.force_login(boss)
    services.update_stage(stages["Negotiation"], {"required_fields": ["expected_close"]}, actor=boss)
    renewals = services.create_pipeline({"name": "Renewals"}, actor=boss)
    url = f"{API}/opportunities/{opportunity.pk}/move"
    # when
    missing = client.post(url, {"stage": stages["Negotiation"].pk}, content_type="application/json")
    no_reason = client.post(url, {"stage": stages["Lost"].pk}, content_type="application/json")
    foreign = client.post(url, {"stage": renewals.stages.first().pk}, content_type="application/json")
    moved = client.post(url, {"stage": stages["Lost"].pk, "loss_reason": LossReason.objects.first().pk,
                              "loss_note": "too expensive"}, content_type="application/json")
    # then
    body = problem(missing, 422)
    assert body["code"] == "stage_requirements_missing"
    assert "expected_close" in body["errors"]
    assert problem(no_reason, 422)["code"] == "loss_reason_required"
    assert problem(foreign, 422)["code"] == "stage_not_in_pipeline"
    assert moved.status_code == 200
    assert (moved.json()["status"], moved.json()["probability"], moved.json()["loss_note"]) == (
        "lost", 0, "too expensive")


def test_rep_gets_404_for_another_reps_opportunity(client, rep, other_rep, stages):
    # given
    account = crm.create_account({"name": "别人的客户"}, actor=other_rep)
    theirs = services.create_opportunity({"name": "别人的单", "account": account}, actor=other_rep)
    client.force_login(rep)
    # when
    moved = client.post(f"{API}/opportunities/{theirs.pk}/move", {"stage": stages["Won"].pk},
                        content_type="application/json")
    listed = client.get(f"{API}/opportunities").json()
    # then
    assert problem(moved, 404)["status"] == 404
    assert listed["count"] == 0


def test_delete_answers_204(client, boss, opportunity):
    # given
    client.force_login(boss)
    # when
    response = client.delete(f"{API}/opportunities/{opportunity.pk}")
    # then
    assert response.status_code == 204
    assert not Opportunity.objects.filter(pk=opportunity.pk).exists()


def test_pipelines_list_with_stages_for_anyone_working_opportunities(client, user_with, new_business):
    # given
    client.force_login(user_with("seller", "view_opportunity"))
    # when
    body = client.get(f"{API}/pipelines", HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    # then
    [pipeline] = body
    assert pipeline["id"] == new_business.pk
    assert pipeline["is_default"]
    assert [s["kind"] for s in pipeline["stages"]] == ["open", "open", "open", "open", "won", "lost"]


def test_settings_crud_and_stage_rules(client, boss, user_with, stages):
    # given
    seller = user_with("seller", "view_opportunity", "change_opportunity")
    client.force_login(seller)
    denied = client.post(f"{API}/pipelines", {"name": "X"}, content_type="application/json")
    client.force_login(boss)
    # when
    created = client.post(f"{API}/pipelines", {"name": "Service renewals", "name_zh_hans": "服务续约", "stages": [
        {"name": "Due", "kind": "open", "probability": 60, "required_fields": ["expected_close"]},
        {"name": "Renewed", "kind": "won"}, {"name": "Churned", "kind": "lost"}]}, content_type="application/json")
    incomplete = client.post(f"{API}/pipelines", {"name": "Broken", "stages": [{"name": "A", "kind": "open"}]},
                             content_type="application/json")
    stage_id = created.json()["stages"][2]["id"]
    last_lost = client.patch(f"{API}/stages/{stage_id}", {"is_active": False}, content_type="application/json")
    added = client.post(f"{API}/pipelines/{created.json()['id']}/stages", {"name": "Lost to rival", "kind": "lost"},
                        content_type="application/json")
    reason = client.post(f"{API}/loss-reasons", {"name_zh_hans": "交期太长"}, content_type="application/json")
    rival = client.post(f"{API}/competitors", {"name": "ABB"}, content_type="application/json")
    twin = client.post(f"{API}/competitors", {"name": "abb"}, content_type="application/json")
    # then
    assert denied.status_code == 403
    assert created.status_code == 201
    assert [s["required_fields"] for s in created.json()["stages"]] == [["expected_close"], [], []]
    assert problem(incomplete, 422)["code"] == "pipeline_incomplete"
    assert problem(last_lost, 422)["code"] == "pipeline_incomplete"
    assert added.status_code == 201
    assert reason.json()["label"] == "交期太长"
    assert rival.status_code == 201
    assert problem(twin, 422)["errors"]["name"]
    assert Competitor.objects.count() == 1
    assert Pipeline.objects.filter(name="Broken").count() == 0


def test_a_used_stage_cannot_be_deleted_through_the_api(client, boss, opportunity, stages):
    # given
    client.force_login(boss)
    # when
    response = client.delete(f"{API}/stages/{stages['Prospecting'].pk}")
    # then
    assert problem(response, 409)["code"] == "stage_in_use"


def test_line_prices_are_null_for_a_role_that_hides_the_amount(client, root, rep, rep_role, stages):
    # given a role that hides the opportunity amount, and a rep's opportunity with a line
    from bizloom.platform.org import services as org

    org.set_field_rule(rep_role, Opportunity, "amount", "hidden", actor=root)
    account = crm.create_account({"name": "深圳精密机械有限公司"}, actor=rep)
    opportunity = services.create_opportunity({"name": "数控项目", "account": account, "lines": [LINE]}, actor=rep)
    client.force_login(rep)
    # when
    body = client.get(f"{API}/opportunities/{opportunity.pk}").json()
    # then the line still names the product but tells no price
    line = body["lines"][0]
    assert line["product_name"] == "工业机器人 IRB-120"
    assert (line["unit_price"], line["discount_percent"], line["total"]) == (None, None, None)
    assert "amount" not in body or body["amount"] is None
