"""Custom fields over the REST API: create, patch, filter and order with ``cf_<key>``."""

from __future__ import annotations

import pytest

from bizloom.crm import services
from bizloom.crm.models import Account
from bizloom.platform.customfields import services as cf_services
from bizloom.platform.customfields.models import CustomField
from bizloom.platform.customfields.tests import fixtures
from bizloom.platform.customfields.tests.fixtures import role_user

admin = fixtures.admin
define = fixtures.define
source = fixtures.source

ACCOUNTS = "/api/v1/crm/accounts"


@pytest.fixture
def api(client, admin):
    client.force_login(admin)
    return client


@pytest.fixture
def fields(define, source):
    define("score", "integer")
    define("budget", "decimal")
    define("since", "date")
    define("tags", "multi_choice", choices=[{"value": "vip", "label_en": "VIP"},
                                            {"value": "export", "label_en": "Export"}])
    define("remark", "text")
    return source


@pytest.fixture
def scored(fields, admin):
    """Accounts with scores 10, 9 and 100 and one without; sources and tags vary."""
    rows = [("Alpha", {"score": 10, "source": "web", "tags": ["vip"], "remark": "深圳客户"}),
            ("Bravo", {"score": 9, "source": "fair", "tags": ["vip", "export"]}),
            ("Charlie", {"score": 100, "source": "web", "budget": "2.5"}),
            ("Delta", {})]
    return [services.create_account({"name": name, "custom_fields": values}, actor=admin) for name, values in rows]


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["name"] for item in response.json()["results"]]


def test_create_with_custom_fields_returns_them(api, fields):
    # when
    response = api.post(ACCOUNTS, {"name": "Acme", "custom_fields": {"source": "web", "budget": "1250.50",
                                                                     "since": "2024-03-01", "score": "7"}},
                        content_type="application/json")
    # then
    assert response.status_code == 201, response.content
    assert response.json()["custom_fields"] == {"budget": "1250.5", "score": 7, "since": "2024-03-01",
                                                "source": "web"}
    assert Account.objects.get().custom_data == {"budget": "1250.5", "score": 7, "since": "2024-03-01",
                                                 "source": "web"}


def test_create_with_a_bad_custom_value_is_422_on_the_body_path_and_creates_nothing(api, fields):
    # when
    response = api.post(ACCOUNTS, {"name": "Acme", "custom_fields": {"source": "tv", "nope": 1}},
                        content_type="application/json")
    # then
    assert response.status_code == 422, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["errors"] == {"custom_fields.source": ["“tv” is not one of the choices: web, fair."],
                                         "custom_fields.nope": ["Unknown custom field."]}
    assert Account.objects.count() == 0


@pytest.mark.parametrize("body", [{"custom_fields": []}, {"custom_fields": "web"}, {"custom_fields": None}],
                         ids=["list_case", "text_case", "null_case"])
def test_custom_fields_must_be_an_object(api, fields, body):
    # when
    response = api.post(ACCOUNTS, {"name": "Acme", **body}, content_type="application/json")
    # then
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["custom_fields"]


def test_patch_changes_only_the_keys_sent(api, scored):
    # given
    alpha = scored[0]
    # when
    response = api.patch(f"{ACCOUNTS}/{alpha.pk}", {"custom_fields": {"score": 11, "remark": None}},
                         content_type="application/json")
    # then
    assert response.status_code == 200, response.content
    assert response.json()["custom_fields"] == {"score": 11, "source": "web", "tags": ["vip"]}


def test_patch_refused_leaves_the_record_unchanged(api, scored):
    # given
    alpha = scored[0]
    # when
    response = api.patch(f"{ACCOUNTS}/{alpha.pk}", {"name": "Renamed", "custom_fields": {"score": "ten"}},
                         content_type="application/json")
    # then
    assert response.status_code == 422
    assert response.json()["errors"] == {"custom_fields.score": ["Enter a whole number."]}
    alpha.refresh_from_db()
    assert (alpha.name, alpha.custom_data["score"]) == ("Alpha", 10)


@pytest.mark.parametrize(("params", "expected"), [
    ({"cf_source": "web"}, ["Alpha", "Charlie"]),
    ({"cf_score": "9"}, ["Bravo"]),
    ({"cf_tags": "export"}, ["Bravo"]),
    ({"cf_tags": "vip"}, ["Alpha", "Bravo"]),
    ({"cf_budget": "2.50"}, ["Charlie"]),
    ({"cf_remark": "深圳"}, ["Alpha"]),
    ({"cf_source": "web", "cf_score": "100"}, ["Charlie"]),
], ids=["choice_case", "integer_case", "multi_case", "multi_shared_case", "decimal_case", "text_case", "and_case"])
def test_list_filters_by_custom_fields(api, scored, params, expected):
    # when
    response = api.get(ACCOUNTS, params)
    # then
    assert names(response) == expected


@pytest.mark.parametrize(("params", "error_key"), [
    ({"cf_nope": "1"}, "cf_nope"),
    ({"cf_score": "many"}, "cf_score"),
    ({"cf_source": "tv"}, "cf_source"),
], ids=["unknown_key_case", "bad_integer_case", "bad_choice_case"])
def test_list_with_an_invalid_custom_filter_is_422(api, scored, params, error_key):
    # when
    response = api.get(ACCOUNTS, params)
    # then
    assert response.status_code == 422
    assert list(response.json()["errors"]) == [error_key]


def test_list_orders_numbers_numerically(api, scored):
    # given: only accounts with a score (where empty values go differs between databases)
    scored[3].delete()
    # when
    ascending = api.get(ACCOUNTS, {"ordering": "cf_score"})
    descending = api.get(ACCOUNTS, {"ordering": "-cf_score"})
    # then
    assert names(ascending) == ["Bravo", "Alpha", "Charlie"]  # 9 < 10 < 100
    assert names(descending) == ["Charlie", "Alpha", "Bravo"]


def test_list_ordering_by_an_unknown_custom_field_is_422(api, scored):
    # when
    response = api.get(ACCOUNTS, {"ordering": "cf_nope"})
    # then
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["ordering"]


def test_hidden_custom_field_is_not_sent_nor_filterable_and_readonly_is_not_writable(scored, client):
    # given: a role that hides cf_score and makes cf_source read-only
    rep = role_user("rep", "view_account", "change_account", field_rules={"cf_score": "hidden",
                                                                           "cf_source": "readonly"})
    client.force_login(rep)
    alpha = scored[0]
    # when
    shown = client.get(f"{ACCOUNTS}/{alpha.pk}").json()["custom_fields"]
    filtered = client.get(ACCOUNTS, {"cf_score": "10"})
    written = client.patch(f"{ACCOUNTS}/{alpha.pk}", {"custom_fields": {"source": "fair"}},
                           content_type="application/json")
    # then
    assert shown == {"remark": "深圳客户", "source": "web", "tags": ["vip"]}
    assert filtered.status_code == 422
    assert written.status_code == 422
    assert written.json()["errors"] == {"custom_fields.source": ["You may not change this field."]}
    alpha.refresh_from_db()
    assert alpha.custom_data["source"] == "web"


def test_deactivated_field_keeps_its_value_and_accepts_it_back_unchanged(api, scored, admin):
    # given
    alpha = scored[0]
    cf_services.set_custom_field_active(CustomField.objects.get(key="remark"), False, actor=admin)
    # when
    same = api.patch(f"{ACCOUNTS}/{alpha.pk}", {"custom_fields": {"remark": "深圳客户", "score": 12}},
                     content_type="application/json")
    changed = api.patch(f"{ACCOUNTS}/{alpha.pk}", {"custom_fields": {"remark": "other"}},
                        content_type="application/json")
    # then
    assert same.status_code == 200, same.content
    assert same.json()["custom_fields"]["remark"] == "深圳客户"
    assert changed.status_code == 422
    assert changed.json()["errors"] == {"custom_fields.remark": ["Unknown custom field."]}
