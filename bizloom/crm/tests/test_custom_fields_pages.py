"""Custom fields on the account pages: form, list columns, filters, sorting, export, detail."""

from __future__ import annotations

import csv
import io
import re

import openpyxl
import pytest
from django.utils import translation

from bizloom.crm import services
from bizloom.crm.models import Account
from bizloom.platform.customfields.tests import fixtures
from bizloom.platform.customfields.tests.fixtures import role_user

admin = fixtures.admin
define = fixtures.define
source = fixtures.source

LIST_URL = "/crm/accounts/"


def names_in(response) -> list[str]:
    assert response.status_code == 200
    return re.findall(r'<a href="/crm/accounts/\d+/">([^<]*)</a>', response.content.decode())


def header_labels(response) -> list[str]:
    thead = response.content.decode().split("<thead>")[1].split("</thead>")[0]
    return [re.sub(r"<[^>]+>|[▲▼]", "", cell).strip() for cell in re.findall(r"<th[^>]*>(.*?)</th>", thead, re.S)]


def read_csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.reader(io.StringIO(body.removeprefix("\ufeff"))))


@pytest.fixture(autouse=True)
def _back_to_the_default_language():
    """Requests sent in Chinese leave the language active in this thread; later tests expect English."""
    yield
    translation.deactivate()


@pytest.fixture
def rep(db):
    return role_user("rep", "view_account", "add_account", "change_account", "export_account")


@pytest.fixture
def scored(define, source, admin, rep):
    define("score", "integer")
    define("budget", "decimal")
    define("met_on", "date")
    define("is_partner", "boolean")
    rows = [("Alpha", {"score": 10, "source": "web", "budget": "10.5", "met_on": "2025-03-01", "is_partner": True}),
            ("Bravo", {"score": 9, "source": "fair", "budget": "9.25", "met_on": "2025-01-15"}),
            ("Charlie", {"score": 100, "source": "web", "budget": "100"})]
    return [services.create_account({"name": name, "owner": rep, "custom_fields": values}, actor=admin)
            for name, values in rows]


# --- form ------------------------------------------------------------------------------------


def test_create_form_shows_custom_fields_in_the_active_language(client, rep, source):
    # given
    client.force_login(rep)
    # when
    response = client.get("/crm/accounts/new/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="cf_source"' in html
    assert "客户来源" in html
    assert '<option value="web">官网</option>' in html


def test_create_form_saves_custom_values_through_the_service(client, rep, source, define):
    # given
    define("score", "integer")
    client.force_login(rep)
    # when
    response = client.post("/crm/accounts/new/", {"name": "Acme", "tier": "c", "currency": "CNY",
                                                  "is_customer": "on", "cf_source": "fair", "cf_score": "12"})
    # then
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Account.objects.get().custom_data == {"source": "fair", "score": 12}


def test_edit_form_shows_stored_values_and_maps_errors(client, rep, scored):
    # given
    client.force_login(rep)
    alpha = scored[0]
    # when
    shown = client.get(f"/crm/accounts/{alpha.pk}/edit/")
    refused = client.post(f"/crm/accounts/{alpha.pk}/edit/", {
        "name": "Alpha", "tier": "c", "currency": "CNY", "cf_source": "web", "cf_score": "1.5"})
    # then
    assert 'name="cf_score" value="10"' in shown.content.decode()
    assert refused.status_code == 200
    assert refused.context["form"].errors["cf_score"] == ["Enter a whole number."]
    alpha.refresh_from_db()
    assert alpha.custom_data["score"] == 10


def test_readonly_custom_field_is_disabled_on_the_form_and_kept(client, scored):
    # given
    user = role_user("clerk", "view_account", "change_account", field_rules={"cf_score": "readonly"})
    client.force_login(user)
    alpha = scored[0]
    # when
    response = client.post(f"/crm/accounts/{alpha.pk}/edit/", {"name": "Alpha", "tier": "c", "currency": "CNY",
                                                               "cf_source": "fair"})
    # then
    assert response.status_code == 302
    alpha.refresh_from_db()
    assert (alpha.custom_data["score"], alpha.custom_data["source"]) == (10, "fair")


# --- list ------------------------------------------------------------------------------------


def test_custom_columns_are_off_by_default_and_in_the_column_chooser(client, rep, scored):
    # given
    client.force_login(rep)
    # when
    response = client.get(LIST_URL)
    # then
    html = response.content.decode()
    assert "Customer source" not in header_labels(response)
    assert re.findall(r'name="cols" value="(cf_\w+)" >', html) == [
        "cf_source", "cf_score", "cf_budget", "cf_met_on", "cf_is_partner"]


def test_custom_column_shows_the_choice_label(client, rep, scored):
    # given
    client.force_login(rep)
    # when
    response = client.get(LIST_URL, {"cols": ["name", "cf_source", "cf_budget"]})
    # then
    assert header_labels(response) == ["", "Name", "Customer source", "Budget"]
    body = response.content.decode().split("<tbody>")[1]
    assert re.findall(r"kind-choice\">([^<]*)<", body) == ["Website", "Trade fair", "Website"]


@pytest.mark.parametrize(("params", "expected"), [
    ({"cf_source": "web"}, ["Alpha", "Charlie"]),
    ({"cf_is_partner": "1"}, ["Alpha"]),
    ({"cf_is_partner": "0"}, ["Bravo", "Charlie"]),
    ({"cf_met_on_from": "2025-02-01"}, ["Alpha"]),
    ({"cf_met_on_to": "2025-02-01"}, ["Bravo"]),
    ({"cf_source": "nonsense"}, ["Alpha", "Bravo", "Charlie"]),
], ids=["choice_case", "yes_case", "no_case", "date_from_case", "date_to_case", "invalid_ignored_case"])
def test_list_filters_by_custom_fields(client, rep, scored, params, expected):
    # given
    client.force_login(rep)
    # when
    response = client.get(LIST_URL, params)
    # then
    assert names_in(response) == expected


@pytest.mark.parametrize(("sort", "expected"), [
    ("cf_score", ["Bravo", "Alpha", "Charlie"]),
    ("-cf_score", ["Charlie", "Alpha", "Bravo"]),
    ("cf_budget", ["Bravo", "Alpha", "Charlie"]),
    ("cf_source", ["Bravo", "Alpha", "Charlie"]),
], ids=["integer_case", "integer_desc_case", "decimal_case", "choice_case"])
def test_list_sorts_custom_fields_numbers_numerically(client, rep, scored, sort, expected):
    # given
    client.force_login(rep)
    # when
    response = client.get(LIST_URL, {"sort": sort})
    # then
    assert names_in(response) == expected


def test_list_with_custom_fields_keeps_its_query_count(client, rep, scored, django_assert_max_num_queries):
    # given
    client.force_login(rep)
    # when / then: session, user, permissions (2), role scopes and field rules (2), definitions (once),
    # count, rows, the rows' tags (prefetched), the tag filter's options, saved views, the signed-in user's menu
    with django_assert_max_num_queries(13):
        response = client.get(LIST_URL, {"cols": ["name", "cf_source", "cf_score"], "cf_source": "web",
                                         "sort": "cf_score"})
    assert names_in(response) == ["Alpha", "Charlie"]


def test_csv_export_contains_the_custom_column_with_its_chinese_label(client, rep, scored):
    # given
    client.force_login(rep)
    # when
    response = client.get("/crm/accounts/export/csv/", {"cols": ["name", "cf_source", "cf_score"],
                                                        "sort": "cf_score"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    # then
    rows = read_csv(response)
    assert rows[0][1:] == ["客户来源", "Score"]
    assert rows[1:] == [["Bravo", "展会", "9"], ["Alpha", "官网", "10"], ["Charlie", "官网", "100"]]


def test_xlsx_export_keeps_custom_numbers_numeric(client, rep, scored):
    # given
    client.force_login(rep)
    # when
    response = client.get("/crm/accounts/export/xlsx/", {"cols": ["name", "cf_source", "cf_budget"],
                                                         "sort": "cf_budget"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    # then
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    assert [list(row) for row in sheet.iter_rows(values_only=True)] == [
        ["名称", "客户来源", "Budget"], ["Bravo", "展会", 9.25], ["Alpha", "官网", 10.5], ["Charlie", "官网", 100]]


def test_hidden_custom_field_is_neither_column_nor_filter(client, scored):
    # given
    user = role_user("viewer", "view_account", field_rules={"cf_source": "hidden"})
    client.force_login(user)
    # when
    response = client.get(LIST_URL, {"cols": ["name", "cf_source"], "cf_source": "fair"})
    # then
    html = response.content.decode()
    assert 'value="cf_source"' not in html
    assert names_in(response) == ["Alpha", "Bravo", "Charlie"]


# --- detail ----------------------------------------------------------------------------------


def test_detail_page_shows_the_custom_field_group(client, rep, scored):
    # given
    client.force_login(rep)
    # when
    response = client.get(f"/crm/accounts/{scored[0].pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    # then
    group = next(g for g in response.context["groups"] if any(f["label"] == "客户来源" for f in g["fields"]))
    assert {f["label"]: f["value"] for f in group["fields"]}["客户来源"] == "官网"
    assert {f["label"]: f["value"] for f in group["fields"]}["Score"] == "10"
