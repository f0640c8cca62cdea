"""The forecast area's API: /api/v1/crm/forecast, /pipeline-analysis and /targets."""

from __future__ import annotations

import pytest

from bizloom.crm.models import SalesTarget
from bizloom.crm.tests.forecast_fixtures import *  # noqa: F403 - the world fixture

Q1 = "period=quarter&on=2025-02-10"


def _body(user=None, **values):
    body = {"user": user.pk if user else None, "period_start": "2025-01-01", "period_end": "2025-01-31",
            "amount": "500000.00"}
    body.update(values)
    return body


def test_forecast_answers_figures_as_strings_per_currency(client, world):
    # given
    world.opportunity(world.rep_a, "propose", "1000.05", close="2025-01-15")
    world.opportunity(world.rep_a, "propose", "300", close="2025-02-15", currency="USD")
    world.opportunity(world.rep_a, "won", "2000", closed="2025-03-01")
    world.target(world.rep_a, "2025-01-01", "2025-03-31", "4000")
    client.force_login(world.rep_a)

    # when
    data = client.get(f"/api/v1/crm/forecast?{Q1}").json()

    # then
    assert data["period"] == {"kind": "quarter", "start": "2025-01-01", "end": "2025-03-31"}
    assert data["currencies"] == ["CNY", "USD"]
    assert [m["month"] for m in data["months"]] == ["2025-01", "2025-02", "2025-03"]
    owner = data["owners"][0]
    assert owner["owner"] == world.rep_a.pk
    assert owner["owner_name"] == "张伟"
    cny = owner["lines"][0]
    assert cny == {"currency": "CNY", "open_count": 1, "open_amount": "1000.0500", "weighted_amount": "500.0300",
                   "won_count": 1, "won_amount": "2000.0000", "target": "4000.0000", "attainment": "50.0",
                   "gap": "1499.9700"}
    assert owner["lines"][1]["target"] is None
    assert owner["lines"][1]["gap"] is None
    assert [line["currency"] for line in data["totals"]] == ["CNY", "USD"]


def test_forecast_of_a_rep_leaves_out_other_reps(client, world):
    # given
    world.opportunity(world.rep_b, "propose", "1000", close="2025-01-15")
    client.force_login(world.rep_a)

    # when
    data = client.get(f"/api/v1/crm/forecast?{Q1}").json()

    # then
    assert data["owners"] == []
    assert data["totals"] == []


@pytest.mark.parametrize(("query", "field"), [
    ("period=custom&end=2025-01-01", "start"), ("period=weekly", "period"), ("pipeline=999999", "pipeline"),
    ("period=custom&start=2025-02-01&end=2025-01-01", "end"), ("owner=999999", "owner"),
])
def test_bad_forecast_parameters_are_422_naming_the_parameter(client, world, query, field):
    # given
    client.force_login(world.root)

    # when
    response = client.get(f"/api/v1/crm/forecast?{query}")

    # then
    assert response.status_code == 422
    assert response["Content-Type"].startswith("application/problem+json")
    assert field in response.json()["errors"]


def test_forecast_and_analysis_need_permission_to_view_opportunities(client, world):
    # when / then
    assert client.get("/api/v1/crm/forecast").status_code == 401
    client.force_login(world.nobody)
    assert client.get("/api/v1/crm/forecast").status_code == 403
    assert client.get("/api/v1/crm/pipeline-analysis").status_code == 403


def test_pipeline_analysis_defaults_to_the_default_pipeline(client, world):
    # given
    deal = world.opportunity(world.rep_a, "won", "100", closed="2025-02-01", created="2025-01-01")
    world.history(deal, ("qualify", "2025-01-01"), ("propose", "2025-01-11"), ("won", "2025-02-01"))
    client.force_login(world.root)

    # when
    data = client.get(f"/api/v1/crm/pipeline-analysis?{Q1}").json()

    # then
    assert data["pipeline"] == world.pipeline.pk
    qualify = data["stages"][0]
    assert (qualify["name"], qualify["entered"], qualify["next_rate"], qualify["average_days"]) == (
        "Qualify", 1, "100.0", "10.0")
    assert (data["won"], data["win_rate"], data["average_cycle_days"]) == (1, "100.0", "31.0")


def test_put_target_creates_then_replaces_the_same_period(client, world):
    # given
    client.force_login(world.east_manager)

    # when
    created = client.put("/api/v1/crm/targets", _body(world.rep_a), content_type="application/json")
    replaced = client.put("/api/v1/crm/targets", _body(world.rep_a, amount="650000"),
                          content_type="application/json")

    # then
    assert created.status_code == 201
    assert replaced.status_code == 200
    assert replaced.json()["amount"] == "650000.0000"
    assert replaced.json()["currency"] == "CNY"
    assert replaced.json()["user"] == world.rep_a.pk
    assert SalesTarget.objects.count() == 1


@pytest.mark.parametrize(("values", "field"), [
    ({"amount": "-1"}, "amount"), ({"amount": "abc"}, "amount"), ({"amount": "1.123456"}, "amount"),
    ({"currency": "yuan"}, "currency"), ({"period_end": "2024-12-31"}, "period_end"),
])
def test_put_target_refuses_bad_values_with_422(client, world, values, field):
    # given
    client.force_login(world.root)

    # when
    response = client.put("/api/v1/crm/targets", _body(world.rep_a, **values), content_type="application/json")

    # then
    assert response.status_code == 422
    assert field in response.json()["errors"]
    assert not SalesTarget.objects.exists()


def test_put_target_is_refused_for_reps_and_outside_the_managers_department(client, world):
    # when
    client.force_login(world.rep_a)
    by_rep = client.put("/api/v1/crm/targets", _body(world.rep_a), content_type="application/json")
    client.force_login(world.east_manager)
    outside = client.put("/api/v1/crm/targets", _body(world.rep_b), content_type="application/json")
    unknown = client.put("/api/v1/crm/targets", {**_body(world.rep_a), "user": 999999}, content_type="application/json")

    # then
    assert by_rep.status_code == 403
    assert outside.status_code == 403
    assert "department" in outside.json()["detail"]
    assert unknown.status_code == 422
    assert "user" in unknown.json()["errors"]
    assert not SalesTarget.objects.exists()


def test_list_and_get_targets_show_only_visible_ones(client, world):
    # given
    mine = world.target(world.rep_a, "2025-01-01", "2025-01-31", "100")
    theirs = world.target(world.rep_b, "2025-01-01", "2025-01-31", "200")
    client.force_login(world.rep_a)

    # when
    listing = client.get("/api/v1/crm/targets?start=2025-01-01&end=2025-12-31").json()

    # then
    assert [t["id"] for t in listing["results"]] == [mine.pk]
    assert client.get(f"/api/v1/crm/targets/{mine.pk}").json()["amount"] == "100.0000"
    assert client.get(f"/api/v1/crm/targets/{theirs.pk}").status_code == 404


def test_delete_target(client, world):
    # given
    mine = world.target(world.rep_a, "2025-01-01", "2025-01-31", "100")
    theirs = world.target(world.rep_b, "2025-01-01", "2025-01-31", "200")

    # when
    client.force_login(world.rep_a)
    by_rep = client.delete(f"/api/v1/crm/targets/{mine.pk}")
    client.force_login(world.east_manager)
    invisible = client.delete(f"/api/v1/crm/targets/{theirs.pk}")
    deleted = client.delete(f"/api/v1/crm/targets/{mine.pk}")

    # then
    assert (by_rep.status_code, invisible.status_code, deleted.status_code) == (403, 404, 204)
    assert list(SalesTarget.objects.all()) == [theirs]


def test_target_operations_need_permission(client, world):
    # when / then
    assert client.get("/api/v1/crm/targets").status_code == 401
    client.force_login(world.nobody)
    assert client.get("/api/v1/crm/targets").status_code == 403
    assert client.put("/api/v1/crm/targets", _body(world.rep_a), content_type="application/json").status_code == 403
