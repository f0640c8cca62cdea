"""CRM accounts over the REST API: CRUD, filters, search, and the permission matrix."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission

from bizloom.crm.models import Account
from bizloom.platform.models import User

ACCOUNTS = "/api/v1/crm/accounts"


def make_user(username, *actions):
    user = User.objects.create_user(username=username, password="pw-secret-123")
    codenames = [f"{action}_account" for action in actions]
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="crm", codename__in=codenames))
    return User.objects.get(pk=user.pk)


@pytest.fixture
def manager(db):
    return make_user("manager", "view", "add", "change", "delete")


@pytest.fixture
def api(client, manager):
    client.force_login(manager)
    return client


@pytest.fixture
def acme(manager):
    return Account.objects.create(name="Acme Trading", code="91310000X", industry="wholesale", tier="a",
                                  city="Shanghai", annual_revenue=Decimal("1250000.5000"), owner=manager)


def assert_problem(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["status"] == status
    return response.json()


# --- CRUD -----------------------------------------------------------------------------------


def test_create_account(api, manager):
    # when
    response = api.post(ACCOUNTS, {"name": " Huadong Steel ", "industry": "manufacturing", "tier": "b",
                                   "annual_revenue": "880000.25", "is_supplier": True},
                        content_type="application/json")

    # then
    assert response.status_code == 201
    body = response.json()
    account = Account.objects.get()
    assert body["id"] == account.pk
    assert (account.name, account.industry, account.tier, account.owner) == (
        "Huadong Steel", "manufacturing", "b", manager)
    assert account.annual_revenue == Decimal("880000.25")
    assert body["annual_revenue"] == "880000.2500"
    assert (body["is_customer"], body["is_supplier"], body["owner"]) == (True, True, manager.pk)


def test_create_with_another_owner(api, db):
    # given
    rep = make_user("rep")

    # when
    response = api.post(ACCOUNTS, {"name": "Acme", "owner": rep.pk}, content_type="application/json")

    # then
    assert response.status_code == 201
    assert Account.objects.get().owner == rep


def test_create_with_unknown_owner_is_422(api):
    # when
    body = assert_problem(api.post(ACCOUNTS, {"name": "Acme", "owner": 999_999}, content_type="application/json"),
                          422)

    # then
    assert list(body["errors"]) == ["owner"]
    assert Account.objects.count() == 0


@pytest.mark.parametrize(("payload", "field"), [
    ({}, "name"),
    ({"name": ""}, "name"),
    ({"name": "A", "tier": "z"}, "tier"),
    ({"name": "A", "industry": "mining"}, "industry"),
    ({"name": "A", "email": "not-an-email"}, "email"),
    ({"name": "A", "annual_revenue": "12.34567"}, "annual_revenue"),
    ({"name": "A", "annual_revenue": "NaN"}, "annual_revenue"),
    ({"name": "A", "annual_revenue": "1" * 20}, "annual_revenue"),
    ({"name": "A", "is_customer": "perhaps"}, "is_customer"),
    ({"name": "A", "code": None}, "code"),
    ({"name": "A\x00"}, "name"),
    ({"name": "A", "id": 5}, "id"),
    ({"name": "A", "created_at": "2020-01-01T00:00:00Z"}, "created_at"),
], ids=["missing_name_case", "empty_name_case", "bad_tier_case", "bad_industry_case", "bad_email_case",
        "too_many_decimals_case", "nan_case", "too_many_digits_case", "bad_bool_case", "null_text_case",
        "nul_char_case", "read_only_id_case", "read_only_created_at_case"])
def test_create_with_invalid_field_is_422_and_creates_nothing(api, payload, field):
    # when
    body = assert_problem(api.post(ACCOUNTS, payload, content_type="application/json"), 422)

    # then
    assert field in body["errors"]
    assert Account.objects.count() == 0


def test_retrieve_account(api, acme):
    # when
    response = api.get(f"{ACCOUNTS}/{acme.pk}")

    # then
    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("id", "name", "industry", "tier", "annual_revenue", "currency")} == {
        "id": acme.pk, "name": "Acme Trading", "industry": "wholesale", "tier": "a",
        "annual_revenue": "1250000.5000", "currency": "CNY"}


def test_retrieve_missing_is_404(api, db):
    assert_problem(api.get(f"{ACCOUNTS}/424242"), 404)


def test_patch_changes_only_given_fields(api, acme):
    # when
    response = api.patch(f"{ACCOUNTS}/{acme.pk}", {"city": "Suzhou", "annual_revenue": None},
                         content_type="application/json")

    # then
    assert response.status_code == 200
    acme.refresh_from_db()
    assert (acme.city, acme.annual_revenue, acme.name, acme.tier) == ("Suzhou", None, "Acme Trading", "a")
    assert response.json()["city"] == "Suzhou"


@pytest.mark.parametrize(("payload", "field"), [
    ({"name": None}, "name"),
    ({"name": ""}, "name"),
    ({"tier": "z"}, "tier"),
    ({"owner": 0}, "owner"),
    ({"colour": "red"}, "colour"),
], ids=["null_name_case", "empty_name_case", "bad_tier_case", "zero_owner_case", "unknown_field_case"])
def test_patch_with_invalid_field_is_422_and_changes_nothing(api, acme, payload, field):
    # when
    body = assert_problem(api.patch(f"{ACCOUNTS}/{acme.pk}", payload, content_type="application/json"), 422)

    # then
    assert list(body["errors"]) == [field]
    acme.refresh_from_db()
    assert (acme.name, acme.tier) == ("Acme Trading", "a")


def test_delete_account(api, acme):
    # when
    response = api.delete(f"{ACCOUNTS}/{acme.pk}")

    # then
    assert response.status_code == 204
    assert not Account.objects.filter(pk=acme.pk).exists()


# --- list, filters, search ---------------------------------------------------------------


@pytest.fixture
def several(manager):
    rep = make_user("rep")
    rows = [
        ("Acme Trading", "wholesale", "a", True, manager, "Shanghai"),
        ("Beta Steel", "manufacturing", "b", False, manager, "Tianjin"),
        ("Gamma Soft", "software", "a", True, rep, "Shenzhen"),
        ("Delta Build", "construction", "c", True, rep, "Shanghai"),
    ]
    return {name: Account.objects.create(name=name, industry=industry, tier=tier, is_customer=customer, owner=owner,
                                         city=city) for name, industry, tier, customer, owner, city in rows}


@pytest.mark.parametrize(("params", "names"), [
    ({}, ["Acme Trading", "Beta Steel", "Delta Build", "Gamma Soft"]),
    ({"industry": "software"}, ["Gamma Soft"]),
    ({"tier": "a"}, ["Acme Trading", "Gamma Soft"]),
    ({"is_customer": "false"}, ["Beta Steel"]),
    ({"q": "shang"}, ["Acme Trading", "Delta Build"]),
    ({"q": "STEEL"}, ["Beta Steel"]),
    ({"tier": "a", "is_customer": "true", "q": "soft"}, ["Gamma Soft"]),
    ({"ordering": "-name"}, ["Gamma Soft", "Delta Build", "Beta Steel", "Acme Trading"]),
    ({"q": "nothing-like-this"}, []),
], ids=["all_case", "industry_case", "tier_case", "customer_case", "search_city_case", "search_case_insensitive_case",
        "combined_case", "ordering_case", "no_match_case"])
def test_list_filters_and_search(api, several, params, names):
    # when
    body = api.get(ACCOUNTS, params).json()

    # then
    assert [row["name"] for row in body["results"]] == names
    assert body["count"] == len(names)


def test_list_filters_by_owner(api, several, manager):
    # when
    body = api.get(ACCOUNTS, {"owner": manager.pk}).json()

    # then
    assert [row["name"] for row in body["results"]] == ["Acme Trading", "Beta Steel"]


@pytest.mark.parametrize("params", [{"tier": "z"}, {"owner": "me"}, {"is_customer": "perhaps"}, {"owner": -1}],
                         ids=["bad_tier_case", "text_owner_case", "bad_bool_case", "negative_owner_case"])
def test_list_with_invalid_filter_is_422(api, several, params):
    # when
    body = assert_problem(api.get(ACCOUNTS, params), 422)

    # then
    assert list(body["errors"]) == list(params)


def test_list_query_count_does_not_grow_with_rows(api, several, django_assert_max_num_queries):
    # when / then: session + user + permissions + count + page + the page's tags (prefetched)
    with django_assert_max_num_queries(7):
        api.get(ACCOUNTS)


# --- permission matrix -----------------------------------------------------------------------

OPERATIONS = {
    "list": ("get", lambda pk: ACCOUNTS, None, "view"),
    "retrieve": ("get", lambda pk: f"{ACCOUNTS}/{pk}", None, "view"),
    "create": ("post", lambda pk: ACCOUNTS, {"name": "New Co"}, "add"),
    "update": ("patch", lambda pk: f"{ACCOUNTS}/{pk}", {"name": "Renamed"}, "change"),
    "delete": ("delete", lambda pk: f"{ACCOUNTS}/{pk}", None, "delete"),
}
OK = {"list": 200, "retrieve": 200, "create": 201, "update": 200, "delete": 204}


def _call(client, operation, pk):
    method, url, payload, _action = OPERATIONS[operation]
    kwargs = {"content_type": "application/json", "data": payload} if payload is not None else {}
    return getattr(client, method)(url(pk), **kwargs)


def _snapshot():
    return sorted(Account.objects.values_list("pk", "name"))


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_anonymous_is_401_and_changes_nothing(client, acme, operation):
    # given
    before = _snapshot()

    # when
    body = assert_problem(_call(client, operation, acme.pk), 401)

    # then
    assert body["code"] == "not_authenticated"
    assert _snapshot() == before


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_without_permission_is_403_and_changes_nothing(client, acme, operation):
    # given: the user holds every account permission except the one this operation needs
    needed = OPERATIONS[operation][3]
    client.force_login(make_user("clerk", *[a for a in ("view", "add", "change", "delete") if a != needed]))
    before = _snapshot()

    # when
    body = assert_problem(_call(client, operation, acme.pk), 403)

    # then
    assert body["code"] == "permission_denied"
    assert body["rule"] == f"permission:crm.{needed}_account"
    assert _snapshot() == before


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_with_permission_is_allowed(client, acme, operation):
    # given
    client.force_login(make_user("clerk", "view", OPERATIONS[operation][3]))

    # when
    response = _call(client, operation, acme.pk)

    # then
    assert response.status_code == OK[operation], response.content


@pytest.mark.parametrize("operation", ["retrieve", "update", "delete"])
def test_record_outside_scope_is_404(api, operation, monkeypatch, acme):
    # given: the access module hides every record (a record rule the user does not pass)
    from bizloom.platform import access

    monkeypatch.setattr(access, "restrict", lambda queryset, user, action="view": queryset.none())
    before = _snapshot()

    # when
    assert_problem(_call(api, operation, acme.pk), 404)

    # then
    assert _snapshot() == before


def test_company_size_is_set_filtered_and_checked(api):
    # given
    api.post(ACCOUNTS, {"name": "华东钢铁有限公司", "size": "large"}, content_type="application/json")
    api.post(ACCOUNTS, {"name": "云启小铺"}, content_type="application/json")
    # when
    large = api.get(ACCOUNTS, {"size": "large"}).json()
    refused = api.post(ACCOUNTS, {"name": "X", "size": "huge"}, content_type="application/json")
    # then
    assert [row["name"] for row in large["results"]] == ["华东钢铁有限公司"]
    assert large["results"][0]["size"] == "large"
    assert "size" in assert_problem(refused, 422)["errors"]
    assert Account.objects.count() == 2


def test_a_boolean_is_not_taken_for_a_record_id(api, manager):
    # when: JSON true would otherwise mean user 1
    response = api.post(ACCOUNTS, {"name": "Acme", "owner": True}, content_type="application/json")
    # then
    assert "owner" in assert_problem(response, 422)["errors"]
    assert not Account.objects.exists()
