"""Leads over the REST API and the web pages (issue #4): CRUD, filters, status, conversion, duplicates."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from bizloom.crm import services as crm_services
from bizloom.crm.leads import services
from bizloom.crm.models import Account, Contact, Lead, Opportunity

LEADS = "/api/v1/crm/leads"
PERMS = ("view_lead", "add_lead", "change_lead", "delete_lead", "convert_lead", "view_account", "add_account",
         "view_contact", "add_contact", "change_contact", "view_opportunity", "add_opportunity")


@pytest.fixture
def boss(make_user):
    return make_user("boss", *PERMS)


@pytest.fixture
def api(client, boss):
    client.force_login(boss)
    return client


@pytest.fixture
def lead(boss) -> Lead:
    return services.create_lead({"name": "王芳", "company": "華為技術股份有限公司", "mobile": "13812345678",
                                 "score": 75, "source": "website"}, actor=boss)


def test_create_normalises_and_reports_invalid_fields(api):
    # when
    created = api.post(LEADS, {"name": "李雷", "email": "Li.Lei@ACME.example", "mobile": "138 1234 5679"},
                       content_type="application/json")
    invalid = api.post(LEADS, {"name": "李雷", "company_code": "91350100M000100Y44"}, content_type="application/json")
    # then
    assert created.status_code == 201
    assert (created.json()["email"], created.json()["mobile"], created.json()["status"]) == (
        "li.lei@acme.example", "+8613812345679", "new")
    assert invalid.status_code == 422
    assert "company_code" in invalid.json()["errors"]


def test_a_duplicate_is_409_until_allow_duplicate(api, lead):
    # when
    refused = api.post(LEADS, {"name": "Fang", "mobile": "+86 138 1234 5678"}, content_type="application/json")
    allowed = api.post(LEADS, {"name": "Fang", "mobile": "+86 138 1234 5678", "allow_duplicate": True},
                       content_type="application/json")
    # then
    assert refused.status_code == 409
    assert refused.json()["code"] == "duplicate_lead"
    assert allowed.status_code == 201


def test_list_filters_by_status_source_and_score_range(api, boss, lead):
    # given
    cold = services.create_lead({"name": "冷线索", "score": 10, "source": "cold_call"}, actor=boss)
    # when
    hot = api.get(LEADS, {"score_min": 70}).json()
    calls = api.get(LEADS, {"source": "cold_call", "score_max": 20, "status": "new"}).json()
    bad = api.get(LEADS, {"score_min": 101})
    # then
    assert [row["id"] for row in hot["results"]] == [lead.pk]
    assert [row["id"] for row in calls["results"]] == [cold.pk]
    assert bad.status_code == 422


def test_status_change_and_invalid_transition(api, lead):
    # when
    moved = api.post(f"{LEADS}/{lead.pk}/status", {"status": "qualified"}, content_type="application/json")
    back = api.post(f"{LEADS}/{lead.pk}/status", {"status": "new"}, content_type="application/json")
    # then
    assert moved.status_code == 200
    assert moved.json()["status"] == "qualified"
    assert back.status_code == 409
    assert back.json()["code"] == "invalid_transition"


def test_conversion_matches_then_convert_then_refused_twice(api, boss, lead):
    # given
    huawei = crm_services.create_account({"name": "华为技术有限公司"}, actor=boss)
    # when
    matches = api.get(f"{LEADS}/{lead.pk}/conversion-matches").json()
    converted = api.post(f"{LEADS}/{lead.pk}/convert", {"account": matches["account"],
                                                        "opportunity": {"amount": "120000.00"}},
                         content_type="application/json")
    again = api.post(f"{LEADS}/{lead.pk}/convert", {}, content_type="application/json")
    # then
    assert matches["account"] == huawei.pk
    assert matches["accounts"][0]["rule"] == "name"
    assert converted.status_code == 200
    body = converted.json()
    assert (body["account"], body["account_created"], body["contact_created"]) == (huawei.pk, False, True)
    assert body["lead"]["status"] == "converted"
    assert Opportunity.objects.get(pk=body["opportunity"]).account == huawei
    assert again.status_code == 409
    assert again.json()["code"] == "lead_already_converted"
    assert (Account.objects.count(), Contact.objects.count(), Opportunity.objects.count()) == (1, 1, 1)


def test_convert_with_an_unknown_account_is_422_and_changes_nothing(api, lead):
    # when
    response = api.post(f"{LEADS}/{lead.pk}/convert", {"account": 999999}, content_type="application/json")
    # then
    assert response.status_code == 422
    assert Lead.objects.get(pk=lead.pk).status == "new"
    assert Contact.objects.count() == 0


def test_convert_needs_the_convert_permission(client, make_user, lead):
    # given
    client.force_login(make_user("viewer", "view_lead", "add_account", "add_contact", "add_opportunity"))
    # when
    response = client.post(f"{LEADS}/{lead.pk}/convert", {}, content_type="application/json")
    # then
    assert response.status_code == 403
    assert Account.objects.count() == 0


# --- pages ---------------------------------------------------------------------------------------


def test_list_and_detail_pages(api, lead):
    # when
    listing = api.get(reverse("crm:lead_list") + "?score=70-100")
    cold = api.get(reverse("crm:lead_list") + "?score=0-39")
    detail = api.get(reverse("crm:lead_detail", args=[lead.pk]))
    # then
    assert "王芳" in listing.content.decode()
    assert "王芳" not in cold.content.decode()
    page = detail.content.decode()
    assert reverse("crm:lead_convert", args=[lead.pk]) in page
    assert reverse("crm:lead_status", args=[lead.pk]) in page


def test_the_create_page_offers_create_anyway_after_a_duplicate(api, lead):
    # when
    refused = api.post(reverse("crm:lead_create"), {"name": "Fang", "mobile": "13812345678", "score": 10})
    created = api.post(reverse("crm:lead_create"), {"name": "Fang", "mobile": "13812345678", "score": 10,
                                                    "allow_duplicate": "on"})
    # then
    assert refused.status_code == 200
    assert 'type="checkbox" name="allow_duplicate"' in refused.content.decode()
    assert created.status_code == 302
    assert Lead.objects.count() == 2


def test_the_conversion_page_preselects_the_match_and_converts(api, boss, lead):
    # given
    huawei = crm_services.create_account({"name": "华为技术有限公司"}, actor=boss)
    url = reverse("crm:lead_convert", args=[lead.pk])
    # when
    page = api.get(url).content.decode()
    response = api.post(url, {"account": str(huawei.pk), "contact": "new", "create_opportunity": "on",
                              "amount": "5000"})
    # then
    assert re.search(rf'name="account" value="{huawei.pk}"[^>]*checked', page)
    assert re.search(r'name="contact" value="new"[^>]*checked', page)
    assert response.status_code == 302
    assert response["Location"] == reverse("crm:account_detail", args=[huawei.pk])
    assert Lead.objects.get(pk=lead.pk).converted_account == huawei


def test_status_page_action_unqualified_without_reason_shows_an_error(api, lead):
    # when
    response = api.post(reverse("crm:lead_status", args=[lead.pk]), {"status": "unqualified"}, follow=True)
    # then
    assert "Say why the lead is not qualified." in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).status == "new"
