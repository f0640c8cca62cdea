"""Idempotency-Key on write API calls: a retried call has one effect (DESIGN, integrity rules)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.utils import timezone

from bizloom.common.testing import run_together
from bizloom.crm.models import Account
from bizloom.platform.api import idempotency
from bizloom.platform.models import IdempotentRequest, User

ACCOUNTS = "/api/v1/crm/accounts"
pytestmark = pytest.mark.django_db


def make_seller(username: str) -> User:
    user = User.objects.create_user(username=username, password="pw-secret-123")
    user.user_permissions.add(*Permission.objects.filter(
        content_type__app_label="crm", codename__in=["view_account", "add_account", "change_account"]))
    return User.objects.get(pk=user.pk)


@pytest.fixture
def seller(db):
    return make_seller("seller")


@pytest.fixture
def api(client, seller):
    client.force_login(seller)
    return client


def post(client, body, key=None, path=ACCOUNTS):
    headers = {"Idempotency-Key": key} if key is not None else {}
    return client.post(path, json.dumps(body), content_type="application/json", headers=headers)


def test_a_retried_create_with_the_same_key_creates_one_account_and_replays_the_response(api):
    # when
    first = post(api, {"name": "华东钢铁有限公司"}, key="order-7c0e2f9a")
    retry = post(api, {"name": "华东钢铁有限公司"}, key="order-7c0e2f9a")
    # then
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Account.objects.count() == 1


def test_without_a_key_every_call_runs(api):
    # when
    post(api, {"name": "Acme"})
    post(api, {"name": "Acme"})
    # then
    assert Account.objects.count() == 2


def test_a_key_reused_for_a_different_request_is_refused_and_changes_nothing(api):
    # given
    post(api, {"name": "Acme"}, key="k-1")
    # when
    response = post(api, {"name": "Other company"}, key="k-1")
    # then
    assert response.status_code == 422
    assert response["Content-Type"].startswith("application/problem+json")
    assert "different request" in response.json()["detail"]
    assert list(Account.objects.values_list("name", flat=True)) == ["Acme"]


def test_keys_belong_to_their_caller(api, seller):
    # given another user using the same key
    other = Client()
    other.force_login(make_seller("other"))
    # when
    post(api, {"name": "Acme"}, key="shared-key")
    response = post(other, {"name": "Acme"}, key="shared-key")
    # then
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert Account.objects.count() == 2


@pytest.mark.parametrize("key", ["", "x" * 256, "naïve-ключ", "tab\tkey"])
def test_a_malformed_key_is_refused_before_anything_runs(api, key):
    # when
    response = post(api, {"name": "Acme"}, key=key)
    # then
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["detail"]
    assert not Account.objects.exists()


def test_a_refused_call_is_replayed_as_refused(api):
    # given a create refused by validation
    first = post(api, {"name": ""}, key="k-invalid")
    # when
    retry = post(api, {"name": ""}, key="k-invalid")
    # then
    assert first.status_code == retry.status_code == 422
    assert retry.json() == first.json()
    assert not Account.objects.exists()


def test_a_server_error_keeps_nothing_so_the_retry_runs_again(api, monkeypatch):
    # given a service that fails after writing
    from bizloom.crm import services

    real_create = services.create_account

    def broken(data, *, actor):
        real_create(data, actor=actor)
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "create_account", broken)
    client_errors = Client(raise_request_exception=False)
    client_errors.force_login(User.objects.get(username="seller"))
    # when
    failed = post(client_errors, {"name": "Acme"}, key="k-500")
    monkeypatch.setattr(services, "create_account", real_create)
    retried = post(api, {"name": "Acme"}, key="k-500")
    # then
    assert failed.status_code == 500
    assert retried.status_code == 201
    assert "Idempotent-Replayed" not in retried
    assert Account.objects.count() == 1


def test_bearer_token_calls_are_idempotent_per_token(seller):
    # given
    from bizloom.integration import services as integration

    issued = integration.create_api_token(seller, name="erp sync", actor=seller)
    client = Client(headers={"Authorization": f"Bearer {issued.plaintext}"})
    # when
    first = post(client, {"name": "Acme"}, key="sync-42")
    retry = post(client, {"name": "Acme"}, key="sync-42")
    # then
    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry["Idempotent-Replayed"] == "true"
    assert Account.objects.count() == 1


def test_stored_responses_are_forgotten_after_a_day(api):
    # given
    post(api, {"name": "Acme"}, key="old")
    IdempotentRequest.objects.update(created_at=timezone.now() - dt.timedelta(hours=25))
    post(api, {"name": "Beta"}, key="new")
    # when
    pruned = idempotency.prune()
    # then
    assert pruned == 1
    assert list(IdempotentRequest.objects.values_list("key", flat=True)) == ["new"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_calls_with_one_key_have_one_effect_on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers (run with DATABASE_URL=postgres://...)")
    # given
    seller = make_seller("racer")
    clients = [Client() for _ in range(6)]
    for client in clients:
        client.force_login(seller)
    # when
    responses, errors = run_together(6, lambda caller: post(clients[caller], {"name": "并发公司"}, key="race-1"))
    # then
    assert errors == []
    assert [response.status_code for response in responses if response is not None] == [201] * 6
    assert [response.get("Idempotent-Replayed") for response in responses if response is not None].count("true") == 5
    assert Account.objects.filter(name="并发公司").count() == 1


def test_a_database_error_inside_the_call_is_not_taken_for_a_concurrent_retry(api, monkeypatch):
    # given a service that hits a unique constraint of its own
    from django.db import IntegrityError

    from bizloom.crm import services

    calls = []

    def clashing(data, *, actor):
        calls.append(data)
        raise IntegrityError("duplicate key value violates unique constraint")

    monkeypatch.setattr(services, "create_account", clashing)
    client = Client(raise_request_exception=False)
    client.force_login(User.objects.get(username="seller"))
    # when
    response = post(client, {"name": "Acme"}, key="k-clash")
    # then it ran once and failed as a server error, keeping nothing
    assert len(calls) == 1
    assert response.status_code == 500
    assert not IdempotentRequest.objects.exists()
