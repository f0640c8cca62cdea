"""Contacts over the REST API (issue #4): CRUD, normalisation, duplicates, filters, ordering and
the permission matrix (401/403/404, nothing changed on refusal)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from bizloom.crm import services
from bizloom.crm.models import Account, Contact
from bizloom.platform.models import User
from bizloom.platform.org import services as org

CONTACTS = "/api/v1/crm/contacts"
ALL_CONTACT_PERMS = ("view_contact", "add_contact", "change_contact", "delete_contact")


@pytest.fixture
def boss(make_user):
    return make_user("boss", "view_account", "add_account", *ALL_CONTACT_PERMS)


@pytest.fixture
def api(client, boss):
    client.force_login(boss)
    return client


@pytest.fixture
def acme(boss):
    return services.create_account({"name": "Acme Trading Ltd"}, actor=boss)


@pytest.fixture
def li_lei(boss, acme):
    return services.create_contact({"name": "李雷", "account": acme, "mobile": "13812345678",
                                    "email": "li.lei@acme.example"}, actor=boss)


def assert_problem(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    return response.json()


# --- CRUD ------------------------------------------------------------------------------------------


def test_create_contact_normalises_values(api, boss, acme):
    # when
    response = api.post(CONTACTS, {"name": " 王芳 ", "account": acme.pk, "mobile": "+86 139-1234-5678",
                                   "email": "Wang.Fang＠Acme.example", "consent_sms": True},
                        content_type="application/json")
    # then
    assert response.status_code == 201, response.content
    body = response.json()
    contact = Contact.objects.get()
    assert body["id"] == contact.pk
    assert {k: body[k] for k in ("name", "account", "accounts", "mobile", "email", "consent_sms", "owner")} == {
        "name": "王芳", "account": acme.pk, "accounts": [], "mobile": "+8613912345678",
        "email": "wang.fang@acme.example", "consent_sms": True, "owner": boss.pk}
    assert body["consent_sms_at"] is not None
    assert body["consent_email_at"] is None


def test_get_contact(api, li_lei, acme):
    # when
    body = api.get(f"{CONTACTS}/{li_lei.pk}").json()
    # then
    assert (body["name"], body["account"], body["mobile"]) == ("李雷", acme.pk, "+8613812345678")


def test_patch_changes_only_given_fields(api, li_lei):
    # when
    response = api.patch(f"{CONTACTS}/{li_lei.pk}", {"position": "采购经理"}, content_type="application/json")
    # then
    assert response.status_code == 200
    li_lei.refresh_from_db()
    assert (li_lei.position, li_lei.email, li_lei.mobile) == ("采购经理", "li.lei@acme.example", "+8613812345678")


def test_patch_links_other_accounts(api, boss, li_lei):
    # given
    beta = services.create_account({"name": "Beta Ltd"}, actor=boss)
    # when
    response = api.patch(f"{CONTACTS}/{li_lei.pk}", {"accounts": [beta.pk]}, content_type="application/json")
    # then
    assert response.json()["accounts"] == [beta.pk]


def test_delete_contact(api, li_lei):
    # when
    response = api.delete(f"{CONTACTS}/{li_lei.pk}")
    # then
    assert response.status_code == 204
    assert Contact.objects.count() == 0


# --- refusals -----------------------------------------------------------------------------------------


def test_bad_email_is_422_with_field_error(api):
    # when
    response = api.post(CONTACTS, {"name": "王芳", "email": "wang@"}, content_type="application/json")
    # then
    problem = assert_problem(response, 422)
    assert problem["errors"] == {"email": ["“wang@” is not a valid email address."]}
    assert Contact.objects.count() == 0


def test_unknown_account_id_is_422(api):
    # when
    response = api.post(CONTACTS, {"name": "王芳", "account": 999999}, content_type="application/json")
    # then
    assert assert_problem(response, 422)["errors"] == {"account": ["No account with this id."]}
    assert Contact.objects.count() == 0


def test_duplicate_is_409_then_allow_duplicate_creates(api, li_lei):
    # when
    refused = api.post(CONTACTS, {"name": "Li Lei", "mobile": "138 1234 5678"}, content_type="application/json")
    # then
    problem = assert_problem(refused, 409)
    assert (problem["code"], problem["duplicate_of"]) == ("duplicate_contact", li_lei.pk)
    assert Contact.objects.count() == 1
    # when
    accepted = api.post(CONTACTS, {"name": "Li Lei", "mobile": "138 1234 5678", "allow_duplicate": True},
                        content_type="application/json")
    # then
    assert accepted.status_code == 201
    assert Contact.objects.filter(mobile="+8613812345678").count() == 2


def test_patch_does_not_accept_allow_duplicate(api, li_lei):
    # when
    response = api.patch(f"{CONTACTS}/{li_lei.pk}", {"allow_duplicate": True}, content_type="application/json")
    # then
    assert response.status_code == 422


# --- list, filters, ordering -------------------------------------------------------------------------


@pytest.fixture
def book(boss, acme):
    beta = services.create_account({"name": "Beta Ltd"}, actor=boss)
    rows = [("韩梅梅", acme, "han@acme.example"), ("李雷", acme, "li@acme.example"), ("Zoe", beta, "zoe@beta.example")]
    return [services.create_contact({"name": n, "account": a, "email": e}, actor=boss) for n, a, e in rows]


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["name"] for item in response.json()["results"]]


def test_filter_by_account_and_search(api, book, acme):
    # when / then
    assert sorted(names(api.get(CONTACTS, {"account": acme.pk}))) == ["李雷", "韩梅梅"]
    assert names(api.get(CONTACTS, {"q": "梅"})) == ["韩梅梅"]
    assert names(api.get(CONTACTS, {"q": "beta.example"})) == ["Zoe"]


def test_ordering_allow_list(api, book):
    # when
    by_email = api.get(CONTACTS, {"ordering": "-email"})
    forbidden = api.get(CONTACTS, {"ordering": "owner__password"})
    # then
    assert names(by_email) == ["Zoe", "李雷", "韩梅梅"]
    assert forbidden.status_code == 422


def test_list_query_count_is_constant(api, boss, acme, django_assert_max_num_queries):
    # given
    for i in range(30):
        services.create_contact({"name": f"Person {i:02d}", "account": acme}, actor=boss)
    # when / then: session, user, permissions, count, rows, prefetched accounts, custom fields
    with django_assert_max_num_queries(10):
        response = api.get(CONTACTS, {"page_size": 50})
    assert len(response.json()["results"]) == 30


# --- permission matrix ---------------------------------------------------------------------------------


@pytest.fixture
def reps(db):
    """``rep`` and ``other`` hold a role granting contacts and accounts on their own records only."""
    root = User.objects.create_superuser("root", "root@x.cn", "pw-secret-123")
    role = Group.objects.create(name="Own contacts")
    for model in (Account, Contact):
        for action in ("view", "add", "change", "delete"):
            org.set_role_grant(role, model, action, "own", actor=root)
    users = []
    for name in ("rep", "other"):
        user = User.objects.create_user(name, password="pw-secret-123")
        user.groups.add(role)
        users.append(User.objects.get(pk=user.pk))
    return users


@pytest.mark.parametrize(("method", "suffix"), [
    ("get", ""), ("get", "/{id}"), ("post", ""), ("patch", "/{id}"), ("delete", "/{id}"),
], ids=["list_case", "get_case", "create_case", "patch_case", "delete_case"])
def test_anonymous_is_401_and_without_permission_403(client, make_user, li_lei, method, suffix):
    # given
    url = CONTACTS + suffix.format(id=li_lei.pk)
    body = {"name": "Changed"}
    # when
    anonymous = getattr(client, method)(url, body, content_type="application/json")
    client.force_login(make_user("nobody"))
    denied = getattr(client, method)(url, body, content_type="application/json")
    # then
    assert_problem(anonymous, 401)
    assert_problem(denied, 403)
    li_lei.refresh_from_db()
    assert li_lei.name == "李雷"
    assert Contact.objects.count() == 1


@pytest.mark.parametrize("method", ["get", "patch", "delete"], ids=["get_case", "patch_case", "delete_case"])
def test_contact_outside_scope_is_404_and_unchanged(client, reps, method):
    # given
    rep, other = reps
    theirs = services.create_contact({"name": "他们的联系人"}, actor=other)
    client.force_login(rep)
    # when
    response = getattr(client, method)(f"{CONTACTS}/{theirs.pk}", {"name": "Changed"},
                                       content_type="application/json")
    # then
    assert_problem(response, 404)
    theirs.refresh_from_db()
    assert theirs.name == "他们的联系人"


def test_rep_lists_only_own_contacts(client, reps):
    # given
    rep, other = reps
    services.create_contact({"name": "我的联系人"}, actor=rep)
    services.create_contact({"name": "他们的联系人"}, actor=other)
    client.force_login(rep)
    # when / then
    assert names(client.get(CONTACTS)) == ["我的联系人"]


def test_account_outside_scope_is_422_and_nothing_created(client, reps):
    # given
    rep, other = reps
    theirs = services.create_account({"name": "他们的公司"}, actor=other)
    client.force_login(rep)
    # when
    response = client.post(CONTACTS, {"name": "王芳", "account": theirs.pk}, content_type="application/json")
    # then
    problem = assert_problem(response, 422)
    # the same answer as for an id that does not exist: the API does not reveal hidden accounts
    assert problem["errors"] == {"account": ["No account with this id."]}
    assert Contact.objects.count() == 0
