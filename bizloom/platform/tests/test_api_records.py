"""The standard record operations (``bizloom.platform.api.records``), proven on CRM accounts and
loss reasons mounted on a router of their own."""

from __future__ import annotations

import itertools
from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.shortcuts import get_object_or_404
from ninja import Router
from ninja.testing import TestClient

from bizloom.crm import apidata, selectors, services
from bizloom.crm.models import Account, LossReason
from bizloom.crm.pipeline import services as pipeline_services
from bizloom.crm.pipeline.schemas import LossReasonIn, LossReasonOut
from bizloom.crm.schemas import (
    ACCOUNT_ORDERING,
    AccountFilters,
    AccountIn,
    AccountOrdering,
    AccountOut,
    AccountPage,
    AccountPatch,
)
from bizloom.platform.api.core import BizloomAPI
from bizloom.platform.api.records import RecordOperations
from bizloom.platform.models import RoleScope, User

_apis = itertools.count()


def account_data(payload: Any, user: Any) -> dict[str, Any]:
    data = apidata.sent_fields(payload)
    apidata.resolve_owner(data)
    return data


def account_operations(router: Router, service_module: Any = services) -> RecordOperations[Account]:
    return RecordOperations(router, Account, "/accounts", app="test", name="account", out=AccountOut,
                            get_record=selectors.get_account, services=service_module, to_data=account_data)


def register_all(operations: RecordOperations[Account]) -> None:
    operations.list(page=AccountPage, filters=AccountFilters, ordering=AccountOrdering, allowed=ACCOUNT_ORDERING,
                    default=["name"], records=selectors.list_accounts, description="Accounts you may see.")
    operations.get()
    operations.create(AccountIn, description="Make an account.")
    operations.update(AccountPatch)
    operations.delete()


def mount(router: Router) -> BizloomAPI:
    api = BizloomAPI(urls_namespace=f"test-records-{next(_apis)}")
    api.add_router("/", router)
    return api


def make_user(username: str, *codenames: str) -> User:
    user = User.objects.create_user(username=username, password="pw-secret-123")
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="crm", codename__in=codenames))
    return User.objects.get(pk=user.pk)


def make_own_scope_seller(username: str) -> User:
    """A user whose role reaches only the accounts they own."""
    role = Group.objects.create(name=f"{username}-sales")
    for action in ("view", "add", "change", "delete"):
        role.permissions.add(Permission.objects.get(content_type__app_label="crm", codename=f"{action}_account"))
        RoleScope.objects.create(role=role, content_type=ContentType.objects.get_for_model(Account), action=action,
                                 scope="own")
    user = User.objects.create_user(username=username, password="pw-secret-123")
    user.groups.add(role)
    return User.objects.get(pk=user.pk)


ACCOUNT_PERMS = ("view_account", "add_account", "change_account", "delete_account")


@pytest.fixture
def client() -> TestClient:
    router = Router(tags=["test"])
    register_all(account_operations(router))
    return TestClient(mount(router))


# --- the OpenAPI document ------------------------------------------------------------------------


def test_the_five_operations_read_in_the_openapi_document_like_hand_written_ones():
    # given
    router = Router(tags=["test"])
    register_all(account_operations(router))
    # when
    paths = mount(router).get_openapi_schema(path_prefix="/api/")["paths"]
    # then
    collection, item = paths["/api/accounts"], paths["/api/accounts/{account_id}"]
    assert set(collection) == {"get", "post"}
    assert set(item) == {"get", "patch", "delete"}
    assert {op["operationId"]: op["summary"] for op in [*collection.values(), *item.values()]} == {
        "test_account_list": "List Accounts", "test_account_get": "Get Account",
        "test_account_create": "Create Account", "test_account_update": "Update Account",
        "test_account_delete": "Delete Account"}
    assert set(collection["post"]["responses"]) == {201}
    assert set(item["delete"]["responses"]) == {204}
    assert collection["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/AccountIn")
    assert item["patch"]["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/AccountPatch")
    assert item["get"]["responses"][200]["content"]["application/json"]["schema"]["$ref"].endswith("/AccountOut")
    [id_param] = item["get"]["parameters"]
    assert (id_param["name"], id_param["in"], id_param["schema"]["minimum"]) == ("account_id", "path", 1)
    list_params = {param["name"] for param in collection["get"]["parameters"]}
    assert {"q", "industry", "ordering", "page", "page_size"} <= list_params
    assert collection["get"]["description"].startswith("Accounts you may see. Sort keys: annual_revenue, city")
    assert "cf_<key>" in collection["get"]["description"]
    assert collection["post"]["description"] == "Make an account."
    assert "description" not in item["get"]


def test_only_the_operations_asked_for_are_registered_under_the_id_parameter_given():
    # given
    router = Router(tags=["test"])
    reasons = RecordOperations(router, LossReason, "/loss-reasons", app="test", name="loss_reason", out=LossReasonOut,
                               get_record=lambda user, pk, action: get_object_or_404(LossReason, pk=pk),
                               services=pipeline_services, id_param="reason_id")
    # when
    reasons.create(LossReasonIn)
    reasons.delete()
    paths = mount(router).get_openapi_schema(path_prefix="/api/")["paths"]
    # then
    assert set(paths) == {"/api/loss-reasons", "/api/loss-reasons/{reason_id}"}
    assert set(paths["/api/loss-reasons"]) == {"post"}
    assert set(paths["/api/loss-reasons/{reason_id}"]) == {"delete"}
    assert paths["/api/loss-reasons/{reason_id}"]["delete"]["operationId"] == "test_loss_reason_delete"
    assert paths["/api/loss-reasons/{reason_id}"]["delete"]["parameters"][0]["name"] == "reason_id"


def test_a_services_module_without_the_service_is_refused_when_the_operation_is_registered():
    # given a services module that cannot delete accounts
    operations = account_operations(Router(), SimpleNamespace(create_account=services.create_account))
    # when / then
    with pytest.raises(AttributeError, match="delete_account"):
        operations.delete()


# --- behaviour -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_create_turns_the_body_into_the_services_data_and_answers_201(client):
    # given
    clerk = make_user("clerk", *ACCOUNT_PERMS)
    owner = make_user("owner")
    # when
    response = client.post("/accounts", json={"name": "华东钢铁有限公司", "owner": owner.pk}, user=clerk)
    # then
    assert response.status_code == 201
    account = Account.objects.get(pk=response.json()["id"])
    assert (account.name, account.owner) == ("华东钢铁有限公司", owner)


@pytest.mark.django_db
def test_an_unknown_owner_is_a_422_on_its_field_and_nothing_is_created(client):
    # given
    clerk = make_user("clerk", *ACCOUNT_PERMS)
    # when
    response = client.post("/accounts", json={"name": "Acme", "owner": 999_999}, user=clerk)
    # then
    assert response.status_code == 422
    assert response.json()["errors"] == {"owner": ["No active user with this id."]}
    assert not Account.objects.exists()


@pytest.mark.django_db
def test_the_service_is_looked_up_when_the_call_comes():
    # given operations registered before the service is replaced
    calls: list[str] = []
    module = SimpleNamespace(create_account=services.create_account, update_account=services.update_account,
                             delete_account=services.delete_account)
    router = Router()
    account_operations(router, module).create(AccountIn)
    client = TestClient(mount(router))

    def create_and_note(data, *, actor):
        calls.append(data["name"])
        return services.create_account(data, actor=actor)

    module.create_account = create_and_note
    # when
    response = client.post("/accounts", json={"name": "Acme"}, user=make_user("clerk", *ACCOUNT_PERMS))
    # then
    assert response.status_code == 201
    assert calls == ["Acme"]


@pytest.mark.django_db
def test_list_get_update_and_delete_work_on_the_callers_records(client):
    # given
    seller = make_user("seller", *ACCOUNT_PERMS)
    account = services.create_account({"name": "Beta 贸易"}, actor=seller)
    services.create_account({"name": "Alpha 钢铁"}, actor=seller)
    # when
    listed = client.get("/accounts?ordering=-name&page_size=1", user=seller)
    got = client.get(f"/accounts/{account.pk}", user=seller)
    patched = client.patch(f"/accounts/{account.pk}", json={"city": "上海"}, user=seller)
    deleted = client.delete(f"/accounts/{account.pk}", user=seller)
    # then
    assert listed.status_code == 200
    assert (listed.json()["count"], [row["name"] for row in listed.json()["results"]]) == (2, ["Beta 贸易"])
    assert (got.status_code, got.json()["name"]) == (200, "Beta 贸易")
    assert (patched.status_code, patched.json()["city"]) == (200, "上海")
    assert deleted.status_code == 204
    assert not Account.objects.filter(pk=account.pk).exists()


@pytest.mark.django_db
def test_a_record_outside_the_callers_scope_reads_as_missing_and_a_missing_permission_is_refused(client):
    # given an account of someone else, a seller who sees only their own and a user without permissions
    other = services.create_account({"name": "Other Co"}, actor=make_user("other", *ACCOUNT_PERMS))
    seller = make_own_scope_seller("seller")
    nobody = make_user("nobody")
    # when
    as_seller = [client.get(f"/accounts/{other.pk}", user=seller),
                 client.patch(f"/accounts/{other.pk}", json={"city": "X"}, user=seller),
                 client.delete(f"/accounts/{other.pk}", user=seller)]
    as_nobody = [client.get("/accounts", user=nobody), client.post("/accounts", json={"name": "X"}, user=nobody)]
    # then
    assert [response.status_code for response in as_seller] == [404, 404, 404]
    assert [response.status_code for response in as_nobody] == [403, 403]
    assert Account.objects.get(pk=other.pk).city == ""
