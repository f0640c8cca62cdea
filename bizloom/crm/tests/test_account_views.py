"""Account pages through the list/detail/form kit, as a user sees them."""

from __future__ import annotations

import csv
import io
import re

import openpyxl
import pytest
from django.urls import reverse

from bizloom.crm.models import Account
from bizloom.platform.models import SavedView

LIST_URL = "/crm/accounts/"


def names_in(response) -> list[str]:
    """Account names in the rendered table, in order."""
    html = response.content.decode()
    return re.findall(r'<a href="/crm/accounts/\d+/">([^<]*)</a>', html)


def header_labels(response) -> list[str]:
    html = response.content.decode()
    thead = html.split("<thead>")[1].split("</thead>")[0]
    return [re.sub(r"<[^>]+>|[▲▼]", "", cell).strip() for cell in re.findall(r"<th[^>]*>(.*?)</th>", thead, re.S)]


def read_csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.reader(io.StringIO(body.removeprefix("\ufeff"))))


# --- list: access, search, sort, pagination ---------------------------------------------

def test_list_without_view_permission_is_403(login, nobody, accounts):
    # when
    response = login(nobody).get(LIST_URL)
    # then
    assert response.status_code == 403


def test_list_anonymous_redirects_to_login(client, accounts):
    # when
    response = client.get(LIST_URL)
    # then
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_list_shows_accounts_sorted_by_name_with_total(login, viewer, accounts):
    # when
    response = login(viewer).get(LIST_URL)
    # then
    assert response.status_code == 200
    assert names_in(response) == ["=1+1 Formula Co", "阿里巴巴（中国）有限公司", "华为技术有限公司", "Acme Trading Ltd"]
    assert "4 records" in response.content.decode()


def test_search_by_chinese_name_finds_huawei(login, viewer, accounts):
    # when
    response = login(viewer).get(LIST_URL, {"q": "华为"})
    # then
    assert names_in(response) == ["华为技术有限公司"]


def test_search_matches_any_search_field(login, viewer, accounts):
    # when
    response = login(viewer).get(LIST_URL, {"q": "杭州"})
    # then
    assert names_in(response) == ["阿里巴巴（中国）有限公司"]


@pytest.mark.parametrize(("sort", "expected_first"), [
    ("name", "=1+1 Formula Co"),
    ("-name", "Acme Trading Ltd"),
], ids=["asc_case", "desc_case"])
def test_sort_by_name(login, viewer, accounts, sort, expected_first):
    # when
    response = login(viewer).get(LIST_URL, {"sort": sort})
    # then
    assert names_in(response)[0] == expected_first
    assert len(names_in(response)) == 4


def test_unknown_sort_key_is_ignored(login, viewer, accounts):
    # when
    response = login(viewer).get(LIST_URL, {"sort": "owner__password"})
    # then
    assert response.status_code == 200
    assert names_in(response) == ["=1+1 Formula Co", "阿里巴巴（中国）有限公司", "华为技术有限公司", "Acme Trading Ltd"]


def test_page_size_is_bounded(login, viewer, manager):
    # given
    Account.objects.bulk_create([Account(name=f"Company {i:03d}", owner=manager) for i in range(30)])
    client = login(viewer)
    # when
    huge = client.get(LIST_URL, {"per_page": "100000"})
    fifty = client.get(LIST_URL, {"per_page": "50"})
    # then
    assert len(names_in(huge)) == 25
    assert len(names_in(fifty)) == 30
    assert "Page 1 of 2" in huge.content.decode()


def test_page_beyond_the_end_shows_last_page(login, viewer, manager):
    # given
    Account.objects.bulk_create([Account(name=f"Company {i:03d}", owner=manager) for i in range(30)])
    # when
    response = login(viewer).get(LIST_URL, {"page": "99"})
    # then
    assert names_in(response) == [f"Company {i:03d}" for i in range(25, 30)]


def test_list_query_count_is_constant(login, viewer, manager, django_assert_max_num_queries):
    # given
    Account.objects.bulk_create([Account(name=f"Company {i:03d}", owner=manager) for i in range(60)])
    client = login(viewer)
    # when / then: session, user, permissions (2), count, rows, tags (prefetched), tag filter options, saved views
    with django_assert_max_num_queries(10):
        response = client.get(LIST_URL, {"per_page": "50"})
    assert len(names_in(response)) == 50


# --- filters -----------------------------------------------------------------------------

def test_choice_filter(login, viewer, accounts):
    # when
    response = login(viewer).get(LIST_URL, {"tier": "a"})
    # then
    assert names_in(response) == ["阿里巴巴（中国）有限公司", "华为技术有限公司"]


def test_invalid_choice_filter_is_ignored(login, viewer, accounts):
    # when
    response = login(viewer).get(LIST_URL, {"tier": "zzz"})
    # then
    assert len(names_in(response)) == 4


def test_boolean_filter(login, viewer, accounts):
    # when
    response = login(viewer).get(LIST_URL, {"is_customer": "0"})
    # then
    assert names_in(response) == ["Acme Trading Ltd"]


def test_owner_mine_filter(login, viewer, manager, accounts):
    # given
    Account.objects.filter(pk=accounts[1].pk).update(owner=viewer)
    # when
    response = login(viewer).get(LIST_URL, {"owner": "mine"})
    # then
    assert names_in(response) == ["阿里巴巴（中国）有限公司"]


def test_date_range_filter(login, viewer, accounts):
    # given
    Account.objects.filter(pk=accounts[0].pk).update(created_at="2020-01-15T10:00:00+08:00")
    # when
    response = login(viewer).get(LIST_URL, {"created_at_from": "2020-01-01", "created_at_to": "2020-01-31"})
    # then
    assert names_in(response) == ["华为技术有限公司"]


# --- columns and htmx --------------------------------------------------------------------

def test_column_choice_is_reflected_in_table(login, viewer, accounts):
    # when
    response = login(viewer).get(LIST_URL, {"cols": ["name", "city"]})
    # then
    assert header_labels(response)[-2:] == ["Name", "City"]
    assert "深圳" in response.content.decode()
    assert "Industry" not in header_labels(response)


def test_htmx_request_returns_only_the_results_partial(login, viewer, accounts):
    # when
    response = login(viewer).get(LIST_URL, {"q": "华为"}, headers={"HX-Request": "true"})
    # then
    html = response.content.decode()
    assert "<html" not in html
    assert 'id="list-form"' not in html
    assert names_in(response) == ["华为技术有限公司"]


def test_full_page_has_search_form_and_results(login, viewer, accounts):
    # when
    html = login(viewer).get(LIST_URL).content.decode()
    # then
    assert "<html" in html
    assert 'id="list-form"' in html
    assert 'hx-target="#list-results"' in html


# --- saved views ---------------------------------------------------------------------------

def test_save_view_and_apply_it(login, viewer, accounts):
    # given
    client = login(viewer)
    # when
    response = client.post(reverse("crm:account_views"),
                           {"op": "save", "name": "A 级客户", "query": "tier=a&cols=name&cols=city&sort=-name"})
    # then
    view = SavedView.objects.get(owner=viewer, list_key="crm.account")
    assert view.name == "A 级客户"
    assert view.params == {"tier": ["a"], "sort": ["-name"], "cols": ["name", "city"]}
    applied = client.get(response["Location"])
    assert names_in(applied) == ["华为技术有限公司", "阿里巴巴（中国）有限公司"]
    assert "A 级客户" in applied.content.decode()


def test_default_view_applies_when_list_opened_without_params(login, viewer, accounts):
    # given
    client = login(viewer)
    client.post(reverse("crm:account_views"), {"op": "save", "name": "Suppliers", "query": "q=华为",
                                               "is_default": "1"})
    # when
    plain = client.get(LIST_URL)
    everything = client.get(LIST_URL, {"view": "all"})
    # then
    assert names_in(plain) == ["华为技术有限公司"]
    assert len(names_in(everything)) == 4


def test_saved_views_are_private_and_deletable_by_owner(login, viewer, manager, accounts):
    # given
    mine = SavedView.objects.create(owner=manager, list_key="crm.account", name="Boss view", params={})
    client = login(viewer)
    # when
    response = client.post(reverse("crm:account_views"), {"op": "delete", "view": str(mine.pk)})
    # then
    assert response.status_code == 404
    assert SavedView.objects.filter(pk=mine.pk).exists()
    assert "Boss view" not in client.get(LIST_URL).content.decode()


def test_marking_default_unmarks_the_previous_default(login, viewer, accounts):
    # given
    first = SavedView.objects.create(owner=viewer, list_key="crm.account", name="One", params={}, is_default=True)
    second = SavedView.objects.create(owner=viewer, list_key="crm.account", name="Two", params={})
    # when
    login(viewer).post(reverse("crm:account_views"), {"op": "default", "view": str(second.pk)})
    # then
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.is_default, second.is_default) == (False, True)


# --- bulk actions ----------------------------------------------------------------------------

def test_bulk_transfer_changes_owner(login, manager, viewer, accounts):
    # when
    response = login(manager).post(reverse("crm:account_bulk"), {
        "action": "transfer", "ids": [accounts[0].pk, accounts[2].pk], "transfer-new_owner": str(viewer.pk)})
    # then
    assert response.status_code == 302
    owned = sorted(Account.objects.filter(owner=viewer).values_list("name", flat=True))
    assert owned == ["Acme Trading Ltd", "华为技术有限公司"]


def test_bulk_delete_without_delete_permission_changes_nothing(login, make_user, accounts):
    # given
    editor = make_user("editor", "view_account", "change_account")
    # when
    response = login(editor).post(reverse("crm:account_bulk"), {"action": "delete", "ids": [a.pk for a in accounts]})
    # then
    assert response.status_code == 403
    assert Account.objects.count() == 4


def test_bulk_delete_with_permission(login, manager, accounts):
    # when
    login(manager).post(reverse("crm:account_bulk"), {"action": "delete", "ids": [accounts[0].pk, accounts[1].pk]})
    # then
    assert sorted(Account.objects.values_list("name", flat=True)) == ["=1+1 Formula Co", "Acme Trading Ltd"]


def test_bulk_actions_hidden_without_permission(login, viewer, accounts):
    # when
    html = login(viewer).get(LIST_URL).content.decode()
    # then
    assert 'name="action"' not in html
    assert "Export CSV" not in html


# --- export -------------------------------------------------------------------------------------

def test_export_csv_has_bom_chinese_and_neutralised_formula(login, manager, accounts):
    # when
    response = login(manager).get(reverse("crm:account_export", args=["csv"]), {"cols": ["name", "city"]})
    # then
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8").removeprefix("\ufeff"))))
    assert rows == [["Name", "City"], ["'=1+1 Formula Co", "Berlin"], ["阿里巴巴（中国）有限公司", "杭州"],
                    ["华为技术有限公司", "深圳"], ["Acme Trading Ltd", "Hong Kong"]]


def test_export_follows_search_sort_and_columns(login, manager, accounts):
    # when
    response = login(manager).get(reverse("crm:account_export", args=["csv"]),
                                  {"tier": "a", "sort": "-name", "cols": ["name", "annual_revenue"]})
    # then
    assert read_csv(response) == [["Name", "Annual revenue"], ["华为技术有限公司", "704200000000.00"],
                                  ["阿里巴巴（中国）有限公司", ""]]


def test_export_xlsx_has_the_same_rows(login, manager, accounts):
    # when
    response = login(manager).get(reverse("crm:account_export", args=["xlsx"]), {"cols": ["name", "city"]})
    # then
    assert response.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    rows = [list(r) for r in workbook.active.iter_rows(values_only=True)]
    assert rows == [["Name", "City"], ["'=1+1 Formula Co", "Berlin"], ["阿里巴巴（中国）有限公司", "杭州"],
                    ["华为技术有限公司", "深圳"], ["Acme Trading Ltd", "Hong Kong"]]


def test_export_without_export_permission_is_403(login, viewer, accounts):
    # when
    response = login(viewer).get(reverse("crm:account_export", args=["csv"]))
    # then
    assert response.status_code == 403


# --- detail and form -----------------------------------------------------------------------------

def test_detail_shows_fields_actions_and_timeline(login, manager, huawei):
    # when
    html = login(manager).get(reverse("crm:account_detail", args=[huawei.pk])).content.decode()
    # then
    assert "华为技术有限公司" in html
    assert "深圳" in html
    assert reverse("crm:account_update", args=[huawei.pk]) in html
    assert "Created" in html


def test_detail_hides_actions_without_permission(login, viewer, huawei):
    # when
    html = login(viewer).get(reverse("crm:account_detail", args=[huawei.pk])).content.decode()
    # then
    assert reverse("crm:account_update", args=[huawei.pk]) not in html


def test_detail_of_missing_account_is_404(login, viewer, accounts):
    # when
    response = login(viewer).get(reverse("crm:account_detail", args=[999999]))
    # then
    assert response.status_code == 404


def test_create_form_without_name_shows_error_and_creates_nothing(login, manager):
    # when
    response = login(manager).post(reverse("crm:account_create"), {"name": "", "tier": "c", "currency": "CNY",
                                                                   "is_customer": "on"})
    # then
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert Account.objects.count() == 0


def test_create_form_htmx_invalid_returns_form_partial(login, manager):
    # when
    response = login(manager).post(reverse("crm:account_create"), {"name": "Acme", "email": "nope", "tier": "c",
                                                                   "currency": "CNY"},
                                   headers={"HX-Request": "true"})
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert "Enter a valid email address." in html
    assert Account.objects.count() == 0


def test_create_form_success_redirects_to_detail(login, manager):
    # when
    response = login(manager).post(reverse("crm:account_create"), {
        "name": "华为技术有限公司", "tier": "a", "currency": "cny", "annual_revenue": "1234.5", "is_customer": "on"})
    # then
    account = Account.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("crm:account_detail", args=[account.pk])
    assert (account.owner, account.currency, str(account.annual_revenue)) == (manager, "CNY", "1234.5000")


def test_create_form_htmx_success_sends_hx_redirect(login, manager):
    # when
    response = login(manager).post(reverse("crm:account_create"), {"name": "Acme", "tier": "b", "currency": "CNY"},
                                   headers={"HX-Request": "true"})
    # then
    assert response["HX-Redirect"] == reverse("crm:account_detail", args=[Account.objects.get().pk])


def test_create_without_add_permission_is_403(login, viewer):
    # when
    response = login(viewer).post(reverse("crm:account_create"), {"name": "Acme", "tier": "b", "currency": "CNY"})
    # then
    assert response.status_code == 403
    assert Account.objects.count() == 0


def test_update_form_changes_account(login, manager, huawei):
    # when
    response = login(manager).post(reverse("crm:account_update", args=[huawei.pk]), {
        "name": "华为", "tier": "a", "currency": "CNY", "city": "东莞", "owner": str(manager.pk)})
    # then
    huawei.refresh_from_db()
    assert response.status_code == 302
    assert (huawei.name, huawei.city) == ("华为", "东莞")


def test_delete_account(login, manager, huawei):
    # when
    response = login(manager).post(reverse("crm:account_delete", args=[huawei.pk]))
    # then
    assert response["Location"] == reverse("crm:account_list")
    assert not Account.objects.filter(pk=huawei.pk).exists()


def test_delete_without_permission_is_403(login, viewer, huawei):
    # when
    response = login(viewer).post(reverse("crm:account_delete", args=[huawei.pk]))
    # then
    assert response.status_code == 403
    assert Account.objects.filter(pk=huawei.pk).exists()


def test_htmx_list_pushes_canonical_url(login, viewer, accounts):
    # when: the search form sends every control, including empty ones and default columns
    response = login(viewer).get(LIST_URL, {"q": "华为", "tier": "", "per_page": "25", "sort": "name",
                                            "cols": ["name", "industry", "tier", "city", "owner", "annual_revenue"]},
                                 headers={"HX-Request": "true"})
    # then
    assert response["HX-Push-Url"] == "/crm/accounts/?q=%E5%8D%8E%E4%B8%BA"


def test_list_sorts_chinese_names_by_pinyin(client, django_user_model):
    # given
    from django.contrib.auth.models import Permission

    from bizloom.crm.models import Account

    user = django_user_model.objects.create_user("pinyin", password="pw-secret-123")
    user.user_permissions.add(Permission.objects.get(codename="view_account"))
    for name in ["上海宏成物流有限公司", "Acme Trading", "北京远航有限公司", "东莞中源商贸有限公司"]:
        Account.objects.create(name=name, owner=user)
    client.force_login(user)
    # when
    html = client.get("/crm/accounts/?sort=name").content.decode()
    # then: 北京 (bei) < 东莞 (dong) < 上海 (shang), then Latin names, as PostgreSQL's ICU zh collation orders them
    positions = [html.index(name) for name in ["北京远航", "东莞中源", "上海宏成", "Acme Trading"]]
    assert positions == sorted(positions)
