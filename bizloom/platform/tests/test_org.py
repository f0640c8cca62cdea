"""The /settings/org/ pages, the sharing panel, "view as" and field rules in the UI (issue #3)."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group

from bizloom.crm.models import Account
from bizloom.platform import access
from bizloom.platform.models import Department, RecordShare, RoleFieldRule, RoleScope, User

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_user():
    return User.objects.create_superuser("boss", "boss@x.cn", "pw-secret-123")


@pytest.fixture
def rep(admin_user):
    return User.objects.create_user("rep", password="pw-secret-123")


def test_non_admin_gets_403(client, rep):
    client.force_login(rep)
    assert client.get("/settings/org/").status_code == 403
    assert client.post("/settings/org/roles/new/", {"name": "x"}).status_code == 403
    assert not Group.objects.exists()


def test_admin_builds_departments_roles_and_assigns_them(client, admin_user, rep):
    client.force_login(admin_user)
    # when: a department tree
    assert client.post("/settings/org/departments/new/", {"name": "销售部", "ordering": "0"}).status_code == 302
    sales = Department.objects.get(name="销售部")
    client.post("/settings/org/departments/new/", {"name": "华东销售组", "parent": sales.pk})
    east = Department.objects.get(name="华东销售组")
    assert east.path.startswith(sales.path)
    assert east.depth == 1
    # a role with own scope and a hidden field
    response = client.post("/settings/org/roles/new/", {"name": "Sales rep"})
    role = Group.objects.get(name="Sales rep")
    assert response["Location"] == f"/settings/org/roles/{role.pk}/"
    page = client.get(f"/settings/org/roles/{role.pk}/")
    assert 'name="scope__crm.account__view"' in page.content.decode()
    client.post(f"/settings/org/roles/{role.pk}/", {
        "name": "Sales rep", "scope__crm.account__view": "own", "scope__crm.account__change": "all",
        "field__crm.account__annual_revenue": "hidden"})
    assert sorted(role.permissions.values_list("codename", flat=True)) == ["change_account", "view_account"]
    assert list(RoleScope.objects.filter(role=role).values_list("action", "scope")) == [("view", "own")]
    assert list(RoleFieldRule.objects.filter(role=role).values_list("field_name", "mode")) == [
        ("annual_revenue", "hidden")]
    # assigned to a user
    client.post(f"/settings/org/users/{rep.pk}/", {"department": east.pk, "roles": [role.pk]})
    rep = User.objects.get(pk=rep.pk)
    assert rep.department == east
    assert list(rep.groups.all()) == [role]
    assert access.scope_for(rep, Account, "view") == "own"
    # the home page lists it all
    body = client.get("/settings/org/").content.decode()
    assert "华东销售组" in body
    assert "Sales rep" in body


def test_hidden_and_readonly_fields_in_forms_detail_list_and_export(client, admin_user, rep):
    # given a rep who may edit own accounts, annual revenue hidden, tier read-only
    role = Group.objects.create(name="rep")
    from bizloom.platform.org import services as org

    for action in ("view", "add", "change", "export"):
        org.set_role_grant(role, Account, action, "own", actor=admin_user)
    org.set_field_rule(role, Account, "annual_revenue", "hidden", actor=admin_user)
    org.set_field_rule(role, Account, "tier", "readonly", actor=admin_user)
    rep.groups.add(role)
    mine = Account.objects.create(name="Mine Ltd", owner=rep, annual_revenue=Decimal("123456"), tier="b")
    client.force_login(rep)
    # then: list, export, detail and form without the hidden field
    listing = client.get("/crm/accounts/?cols=name&cols=annual_revenue&sort=annual_revenue").content.decode()
    assert "Mine Ltd" in listing
    assert "123" not in listing
    assert "Annual revenue" not in listing
    export = b"".join(client.get("/crm/accounts/export/csv/?cols=name&cols=annual_revenue").streaming_content)
    assert "Annual revenue" not in export.decode()
    assert "123456" not in export.decode()
    detail = client.get(f"/crm/accounts/{mine.pk}/").content.decode()
    assert "Annual revenue" not in detail
    assert "123" not in detail
    form = client.get(f"/crm/accounts/{mine.pk}/edit/").content.decode()
    assert 'name="annual_revenue"' not in form
    assert 'name="tier"' in form
    assert "disabled" in form.split('name="tier"')[1][:200] + form.split('name="tier"')[0][-200:]
    # when the rep forges the read-only field
    data = {"name": "Mine Ltd", "tier": "a", "currency": "CNY", "is_customer": "on"}
    response = client.post(f"/crm/accounts/{mine.pk}/edit/", data)
    # then refused and nothing changed
    assert response.status_code == 200
    assert Account.objects.get(pk=mine.pk).tier == "b"
    # a normal save leaves tier and annual revenue alone
    del data["tier"]
    data["name"] = "Mine Trading"
    assert client.post(f"/crm/accounts/{mine.pk}/edit/", data).status_code == 302
    saved = Account.objects.get(pk=mine.pk)
    assert (saved.name, saved.tier, saved.annual_revenue) == ("Mine Trading", "b", Decimal("123456"))


def test_share_panel_shares_and_transfers(client, admin_user, rep):
    account = Account.objects.create(name="Shared Co", owner=admin_user)
    client.force_login(admin_user)
    detail = client.get(f"/crm/accounts/{account.pk}/").content.decode()
    assert 'id="share-panel"' in detail
    from django.contrib.contenttypes.models import ContentType

    url = f"/settings/org/share/{ContentType.objects.get_for_model(Account).pk}/{account.pk}/"
    response = client.post(url, {"op": "share", "share-user": rep.pk, "share-level": "edit"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "rep" in response.content.decode()
    share = RecordShare.objects.get()
    assert (share.user, share.level) == (rep, "edit")
    client.post(url, {"op": "unshare", "share": share.pk})
    assert not RecordShare.objects.exists()
    client.post(url, {"op": "transfer", "transfer-new_owner": rep.pk})
    assert Account.objects.get(pk=account.pk).owner == rep


def test_share_panel_refused_to_others(client, admin_user, rep):
    from django.contrib.auth.models import Permission

    rep.user_permissions.add(*Permission.objects.filter(codename__in=["view_account"]))
    account = Account.objects.create(name="Other Co", owner=admin_user)
    other = User.objects.create_user("other", password="pw-secret-123")
    from django.contrib.contenttypes.models import ContentType

    client.force_login(User.objects.get(pk=other.pk))
    url = f"/settings/org/share/{ContentType.objects.get_for_model(Account).pk}/{account.pk}/"
    assert client.post(url, {"op": "share", "share-user": other.pk, "share-level": "read"}).status_code == 404
    assert not RecordShare.objects.exists()


def test_view_as_is_read_only_and_logged(client, admin_user, rep, caplog):
    Account.objects.create(name="Boss Co", owner=admin_user)
    client.force_login(admin_user)
    with caplog.at_level(logging.INFO, logger="bizloom.security"):
        response = client.post("/settings/org/view-as/", {"user": rep.pk})
    assert response.status_code == 302
    assert f"view-as start admin={admin_user.pk} target={rep.pk}" in caplog.text
    # the rep has no permission: the list is refused, the banner shows
    assert client.get("/crm/accounts/").status_code == 403
    home = client.get("/").content.decode()
    # writes are refused
    assert client.post("/crm/accounts/new/", {"name": "X", "currency": "CNY"}).status_code == 403
    assert client.post("/settings/org/roles/new/", {"name": "x"}).status_code == 403
    assert not Group.objects.exists()
    assert Account.objects.count() == 1
    # stop
    with caplog.at_level(logging.INFO, logger="bizloom.security"):
        assert client.post("/settings/org/view-as/stop/").status_code == 302
    assert "view-as stop" in caplog.text
    assert client.get("/crm/accounts/").status_code == 200
    assert home is not None


def test_api_hides_fields_and_refuses_writes_to_them(client, admin_user, rep):
    from bizloom.platform.org import services as org

    role = Group.objects.create(name="rep")
    for action in ("view", "add", "change"):
        org.set_role_grant(role, Account, action, "own", actor=admin_user)
    org.set_field_rule(role, Account, "annual_revenue", "hidden", actor=admin_user)
    org.set_field_rule(role, Account, "tier", "readonly", actor=admin_user)
    rep.groups.add(role)
    mine = Account.objects.create(name="Mine", owner=rep, annual_revenue=Decimal("5"), tier="b")
    client.force_login(rep)
    body = client.get(f"/api/v1/crm/accounts/{mine.pk}").json()
    assert "annual_revenue" not in body
    assert body["tier"] == "b"
    listed = client.get("/api/v1/crm/accounts").json()
    assert all("annual_revenue" not in item for item in listed["results"])
    assert listed["results"]
    response = client.patch(f"/api/v1/crm/accounts/{mine.pk}", {"tier": "a"}, content_type="application/json")
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["tier"]
    response = client.post("/api/v1/crm/accounts", {"name": "N", "annual_revenue": "1"},
                           content_type="application/json")
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["annual_revenue"]
    assert Account.objects.count() == 1
    assert Account.objects.get().tier == "b"
    ok = client.patch(f"/api/v1/crm/accounts/{mine.pk}", {"name": "Mine 2"}, content_type="application/json")
    assert ok.status_code == 200
    assert "annual_revenue" not in ok.json()


def test_chinese_names_read_family_name_first():
    from bizloom.platform.models import User

    assert str(User(username="zw", first_name="伟", last_name="张")) == "张伟"
    assert str(User(username="wz", first_name="Wei", last_name="Zhang")) == "Wei Zhang"
    assert str(User(username="only")) == "only"
