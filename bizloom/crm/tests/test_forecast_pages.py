"""The forecast and pipeline-analysis pages: access, filters, the chart data, and English and
Chinese rendering with the right number formatting."""

from __future__ import annotations

import json
import re

import pytest
from django.conf import settings

from bizloom.crm.tests.forecast_fixtures import *  # noqa: F403 - the world fixture

Q1 = "period=quarter&on=2025-02-10"


@pytest.fixture
def figures(world):
    world.opportunity(world.rep_a, "propose", "1234567.5", close="2025-01-15")
    world.opportunity(world.rep_a, "won", "300000", closed="2025-02-01")
    world.target(world.rep_a, "2025-01-01", "2025-03-31", "900000")
    return world


def _chart(body):
    return json.loads(re.search(r'<script id="forecast-chart-data" type="application/json">(.*?)</script>',
                                body, re.S).group(1))


def test_forecast_page_in_english(client, figures):
    # given
    client.force_login(figures.rep_a)

    # when
    response = client.get(f"/crm/forecast/?{Q1}", HTTP_ACCEPT_LANGUAGE="en")

    # then
    body = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="en">' in body
    assert "CN¥1,234,567.50" in body      # open, unweighted
    assert "CN¥617,283.75" in body        # weighted at 50 %
    assert "CN¥900,000.00" in body        # target
    assert "33.3%" in body                # attainment
    assert "January 2025" in body
    assert "2025-01-01 – 2025-03-31" in body
    assert "vendor/echarts/echarts.min.js" in body
    chart = _chart(body)
    assert chart[0]["currency"] == "CNY"
    assert chart[0]["months"] == ["2025-01", "2025-02", "2025-03"]
    assert chart[0]["weighted"][0] == "617283.75"
    assert chart[0]["won"][1] == "300000.0000"


@pytest.mark.parametrize("how", ["header", "cookie"])
def test_forecast_page_in_chinese(client, figures, how):
    # given
    client.force_login(figures.rep_a)
    headers = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
    if how == "cookie":
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
        headers = {}

    # when
    response = client.get(f"/crm/forecast/?{Q1}", **headers)

    # then
    body = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="zh-hans">' in body
    assert "¥1,234,567.50" in body
    assert "CN¥" not in body
    assert "2025年1月" in body
    assert "张伟" in body


def test_forecast_page_needs_permission_to_view_opportunities(client, world):
    # when
    anonymous = client.get("/crm/forecast/")
    client.force_login(world.nobody)
    refused = client.get("/crm/forecast/")

    # then
    assert anonymous.status_code == 302
    assert "/login/" in anonymous["Location"]
    assert refused.status_code == 403


def test_forecast_page_shows_only_what_the_user_may_view(client, figures):
    # given
    figures.opportunity(figures.rep_b, "propose", "7654321", close="2025-01-15")
    client.force_login(figures.rep_a)

    # when
    body = client.get(f"/crm/forecast/?{Q1}").content.decode()

    # then
    assert "7,654,321" not in body
    assert "李芳" not in body


def test_a_bad_period_shows_the_error_and_falls_back_to_this_quarter(client, world):
    # given
    client.force_login(world.root)

    # when
    response = client.get("/crm/forecast/?period=custom&start=2025-02-01&end=2025-01-01")

    # then
    body = response.content.decode()
    assert response.status_code == 200
    assert "The end date must not be before the start date." in body
    assert "Showing this quarter instead." in body


def test_previous_and_next_links_move_by_one_period(client, world):
    # given
    client.force_login(world.root)

    # when
    body = client.get("/crm/forecast/?period=month&on=2025-01-15").content.decode()

    # then
    assert "on=2024-12-01" in body
    assert "on=2025-02-01" in body


def test_pipeline_analysis_page_in_both_languages(client, world):
    # given
    deal = world.opportunity(world.rep_a, "won", "100", closed="2025-02-01", created="2025-01-01")
    world.history(deal, ("qualify", "2025-01-01"), ("propose", "2025-01-11"), ("won", "2025-02-01"))
    client.force_login(world.rep_a)

    # when
    english = client.get(f"/crm/pipeline-analysis/?{Q1}&pipeline={world.pipeline.pk}",
                         HTTP_ACCEPT_LANGUAGE="en").content.decode()
    chinese = client.get(f"/crm/pipeline-analysis/?{Q1}&pipeline={world.pipeline.pk}",
                         HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    # then
    assert "Qualify" in english
    assert "100.0%" in english
    assert "31.0" in english
    assert "新业务" in chinese
    assert '<html lang="zh-hans">' in chinese


def test_pipeline_analysis_page_needs_permission(client, world):
    # given
    client.force_login(world.nobody)

    # when / then
    assert client.get("/crm/pipeline-analysis/").status_code == 403


def test_navigation_offers_forecast_to_users_who_may_view_opportunities(client, world):
    # given
    client.force_login(world.rep_a)

    # when
    body = client.get("/crm/forecast/").content.decode()

    # then
    assert 'href="/crm/forecast/"' in body
    assert 'href="/crm/targets/"' in body
