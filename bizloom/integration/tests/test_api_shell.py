"""The API shell: problem+json errors, session auth with CSRF, pagination, ordering, docs, health."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from django.test import Client
from django.utils import timezone
from ninja import Router
from ninja.errors import HttpError
from ninja.testing import TestClient

from bizloom.common.errors import DomainError, InvalidTransition, PermissionDeniedError, ValidationFailed
from bizloom.crm.models import Account
from bizloom.platform.api.core import BizloomAPI
from bizloom.platform.api.schemas import WriteSchema
from bizloom.platform.models import User, WorkerHeartbeat

ACCOUNTS = "/api/v1/crm/accounts"
PROBLEM_KEYS = {"type", "title", "status", "detail", "code", "errors"}


def grant(user, *codenames):
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="crm", codename__in=codenames))
    return User.objects.get(pk=user.pk)  # fresh instance: permissions are cached per object


def assert_problem(response, status, code=None):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert PROBLEM_KEYS <= set(body)
    assert body["status"] == status
    assert body["type"] == "urn:bizloom:problem:" + body["code"]
    if code is not None:
        assert body["code"] == code
    return body


@pytest.fixture
def viewer(user):
    return grant(user, "view_account", "add_account")


@pytest.fixture
def session(client, viewer):
    client.force_login(viewer)
    return client


# --- a throw-away API raising each kind of error ----------------------------------------


class _Body(WriteSchema):
    name: str
    qty: int = 0


_router = Router()


@_router.get("/domain/{kind}", operation_id="test_domain")
def _raise_domain(request, kind: str):
    errors = {
        "conflict": InvalidTransition("Already confirmed.", current="confirmed"),
        "invalid": ValidationFailed("Bad values.", fields={"qty": ["Must be positive."]}),
        "denied": PermissionDeniedError("No.", rule="permission:crm.view_account"),
        "plain": DomainError("Refused.", code="order_locked"),
    }
    raise errors[kind]


@_router.get("/missing", operation_id="test_missing")
def _raise_404(request):
    raise Http404("secret detail")


@_router.get("/teapot", operation_id="test_teapot")
def _raise_http_error(request):
    raise HttpError(418, "I'm a teapot")


@_router.get("/boom", operation_id="test_boom")
def _raise_unexpected(request):
    raise RuntimeError("database password is hunter2")


@_router.post("/echo", operation_id="test_echo")
def _echo(request, payload: _Body):
    return payload.dict()


@_router.get("/big", operation_id="test_big")
def _raise_too_big(request):
    raise RequestDataTooBig("too big")


_test_api = BizloomAPI(title="test", urls_namespace="test-problems")
_test_api.add_router("/", _router)


@pytest.fixture
def synthetic():
    return TestClient(_test_api)


@pytest.mark.parametrize(("kind", "status", "code"), [
    ("conflict", 409, "invalid_transition"),
    ("invalid", 422, "validation_failed"),
    ("denied", 403, "permission_denied"),
    ("plain", 409, "order_locked"),
], ids=["conflict_case", "invalid_case", "denied_case", "plain_case"])
def test_domain_errors_become_problems(synthetic, kind, status, code):
    # when
    response = synthetic.get(f"/domain/{kind}")

    # then
    body = assert_problem(response, status, code)
    assert body["detail"]
    if kind == "invalid":
        assert body["errors"] == {"qty": ["Must be positive."]}
    if kind == "denied":
        assert body["rule"] == "permission:crm.view_account"
    if kind == "conflict":
        assert body["current"] == "confirmed"


def test_http404_is_problem_without_internal_detail(synthetic):
    # when
    body = assert_problem(synthetic.get("/missing"), 404, "not_found")

    # then
    assert "secret" not in json.dumps(body)


def test_http_error_keeps_status(synthetic):
    # when
    body = assert_problem(synthetic.get("/teapot"), 418)

    # then
    assert body["detail"] == "I'm a teapot"


def test_unexpected_error_is_logged_500_problem_without_leak(synthetic, caplog):
    # when
    body = assert_problem(synthetic.get("/boom"), 500, "server_error")

    # then
    assert "hunter2" not in json.dumps(body)
    assert any(record.exc_info for record in caplog.records if record.name == "bizloom.api")


def test_request_too_big_is_413_problem(synthetic):
    assert_problem(synthetic.get("/big"), 413, "request_too_large")


def test_validation_error_names_field_paths(synthetic):
    # when
    response = synthetic.post("/echo", json={"qty": "many", "colour": "red"})

    # then
    body = assert_problem(response, 422, "validation_failed")
    assert body["errors"] == {
        "name": ["This field is required."],
        "qty": ["Input should be a valid integer, unable to parse string as an integer"],
        "colour": ["Unknown field."],
    }


# --- the real API -----------------------------------------------------------------------


def test_anonymous_is_401_problem(client, db):
    assert_problem(client.get(ACCOUNTS), 401, "not_authenticated")


def test_anonymous_post_is_401_not_csrf_403(db):
    # given
    client = Client(enforce_csrf_checks=True)

    # when
    response = client.post(ACCOUNTS, data={"name": "Acme"}, content_type="application/json")

    # then
    assert_problem(response, 401)


def test_session_post_without_csrf_is_403_problem_and_changes_nothing(viewer):
    # given
    client = Client(enforce_csrf_checks=True)
    client.force_login(viewer)

    # when
    response = client.post(ACCOUNTS, data={"name": "Acme"}, content_type="application/json")

    # then
    assert_problem(response, 403, "csrf_failed")
    assert Account.objects.count() == 0


def test_session_post_with_csrf_token_works(viewer):
    # given
    client = Client(enforce_csrf_checks=True)
    client.force_login(viewer)
    client.get("/settings/tokens/")  # sets the CSRF cookie
    token = client.cookies["csrftoken"].value

    # when
    response = client.post(ACCOUNTS, data={"name": "Acme"}, content_type="application/json",
                           headers={"X-CSRFToken": token})

    # then
    assert response.status_code == 201
    assert Account.objects.get().name == "Acme"


def test_session_get_needs_no_csrf(viewer):
    # given
    client = Client(enforce_csrf_checks=True)
    client.force_login(viewer)

    # when
    response = client.get(ACCOUNTS)

    # then
    assert response.status_code == 200


def test_malformed_json_is_400_problem(session):
    # when
    response = session.post(ACCOUNTS, data='{"name": "Acme",', content_type="application/json")

    # then
    assert_problem(response, 400, "malformed_json")
    assert Account.objects.count() == 0


def test_non_json_media_type_is_415_problem(session):
    # when
    response = session.post(ACCOUNTS, data="name=Acme", content_type="application/x-www-form-urlencoded")

    # then
    assert_problem(response, 415, "unsupported_media_type")
    assert Account.objects.count() == 0


def test_oversized_body_is_413_problem(session, settings):
    # given
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024

    # when
    response = session.post(ACCOUNTS, data=json.dumps({"name": "A", "notes": "x" * 2048}),
                            content_type="application/json")

    # then
    assert_problem(response, 413, "request_too_large")
    assert Account.objects.count() == 0


def test_unknown_field_is_422_naming_the_field(session):
    # when
    response = session.post(ACCOUNTS, data={"name": "Acme", "is_vip": True}, content_type="application/json")

    # then
    body = assert_problem(response, 422, "validation_failed")
    assert body["errors"] == {"is_vip": ["Unknown field."]}
    assert Account.objects.count() == 0


def test_unknown_api_path_is_404_problem(session):
    assert_problem(session.get("/api/v1/crm/no-such-thing"), 404, "not_found")


def test_wrong_method_is_405_problem(session):
    # when
    response = session.put(ACCOUNTS, data={}, content_type="application/json")

    # then
    assert_problem(response, 405, "method_not_allowed")
    assert "GET" in response["Allow"]


# --- pagination and ordering -------------------------------------------------------------


@pytest.fixture
def five_accounts(db):
    return [Account.objects.create(name=name, city=city) for name, city in
            [("Delta", "Xi'an"), ("Alpha", "Beijing"), ("Charlie", "Beijing"), ("Bravo", "Shanghai"),
             ("Echo", "Anqing")]]


def test_pagination_pages(session, five_accounts):
    # when
    body = session.get(ACCOUNTS, {"page": 2, "page_size": 2, "ordering": "city,name"}).json()

    # then
    assert {k: body[k] for k in ("count", "page", "page_size")} == {"count": 5, "page": 2, "page_size": 2}
    assert [row["name"] for row in body["results"]] == ["Charlie", "Bravo"]


def test_page_past_the_end_is_empty(session, five_accounts):
    # when
    body = session.get(ACCOUNTS, {"page": 4, "page_size": 2}).json()

    # then
    assert (body["count"], body["results"]) == (5, [])


def test_default_page_size_comes_from_settings(session, five_accounts, settings):
    # when
    body = session.get(ACCOUNTS).json()

    # then
    assert body["page_size"] == settings.API_DEFAULT_PAGE_SIZE == 50


@pytest.mark.parametrize(("params", "field"), [
    ({"page_size": 201}, "page_size"),
    ({"page_size": 0}, "page_size"),
    ({"page": 0}, "page"),
    ({"page": "two"}, "page"),
    ({"page_size": 10**30}, "page_size"),
], ids=["over_max_case", "zero_size_case", "zero_page_case", "text_page_case", "huge_case"])
def test_pagination_bounds_are_422(session, params, field):
    # when
    body = assert_problem(session.get(ACCOUNTS, params), 422, "validation_failed")

    # then
    assert list(body["errors"]) == [field]


def test_max_page_size_is_allowed(session, five_accounts):
    assert session.get(ACCOUNTS, {"page_size": 200}).status_code == 200


def test_ordering_by_allowed_keys(session, five_accounts):
    # when
    body = session.get(ACCOUNTS, {"ordering": "city,-name"}).json()

    # then
    assert [row["name"] for row in body["results"]] == ["Echo", "Charlie", "Alpha", "Bravo", "Delta"]


@pytest.mark.parametrize("ordering", ["password", "owner__password", "name;drop", "--name", "name,nope"],
                         ids=["secret_field_case", "relation_case", "injection_case", "double_dash_case",
                              "one_bad_case"])
def test_ordering_outside_allow_list_is_422(session, five_accounts, ordering):
    # when
    body = assert_problem(session.get(ACCOUNTS, {"ordering": ordering}), 422, "invalid_ordering")

    # then
    assert list(body["errors"]) == ["ordering"]


# --- OpenAPI and docs ----------------------------------------------------------------------


def test_openapi_document_lists_operations_with_ids(client, db):
    # when
    schema = client.get("/api/v1/openapi.json").json()

    # then
    operations = [op for item in schema["paths"].values() for op in item.values()]
    assert {op["operationId"] for op in operations} >= {
        "platform_health", "crm_account_list", "crm_account_get", "crm_account_create", "crm_account_update",
        "crm_account_delete",
    }
    assert all(not op["operationId"].startswith("bizloom_") for op in operations)


def test_docs_use_bundled_assets_not_a_cdn(client, db):
    # when
    response = client.get("/api/v1/docs")

    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()


# --- health --------------------------------------------------------------------------------


def test_health_ok_with_recent_heartbeat(client, db):
    # given
    now = timezone.now()
    WorkerHeartbeat.objects.create(name="w1", started_at=now - timedelta(hours=1), seen_at=now - timedelta(seconds=30))

    # when
    response = client.get("/api/v1/health")

    # then
    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "ok"
    assert body["database"] == {"ok": True, "vendor": "sqlite"} or body["database"]["ok"] is True
    assert (body["worker"]["ok"], body["worker"]["workers"]) == (True, 1)


def test_health_degraded_with_stale_heartbeat(client, db):
    # given
    now = timezone.now()
    seen = now - timedelta(seconds=121)
    WorkerHeartbeat.objects.create(name="w1", started_at=now - timedelta(hours=1), seen_at=seen)

    # when
    body = client.get("/api/v1/health").json()

    # then
    assert body["status"] == "degraded"
    assert (body["worker"]["ok"], body["worker"]["workers"]) == (False, 0)
    assert body["worker"]["last_seen_at"] is not None


def test_health_degraded_without_any_worker(client, db):
    # when
    body = client.get("/api/v1/health").json()

    # then
    assert body["status"] == "degraded"
    assert body["worker"] == {"ok": False, "last_seen_at": None, "workers": 0}
    assert body["database"]["ok"] is True
